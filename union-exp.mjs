// Experiment (not committed): lungs as segment gives them for image files, vs the same ∪ lesion-model components touching the lung.
import { planDatabaseEvaluation } from './dist/src/eval/index.js';
import { loadDefaultLungModel } from './dist/src/lungs/default-model.js';
import { lungSidesFor } from './dist/src/lungs/lung-sides.js';
import { predictSlices, threshold } from './dist/src/infer/slice-inferer.js';
import { readImage } from './dist/src/io/index.js';
import { loadSegmentationModel } from './dist/src/infer/segmentation-model.js';
import { connectedComponents } from './dist/src/volume/components.js';
const db = process.argv[2], split = process.argv[3];
const lung = await loadDefaultLungModel('models/lung-2d.onnx', { threads: 1 });
const les = await loadSegmentationModel(process.argv[4] ?? 'models/lesion-2d.onnx', { threads: 1 });
const plan = await planDatabaseEvaluation(db, { dims: 2, task: 'lesion' }, { split, sources: ['zenodo-slices'] });
const tot = { base: { tp: 0, fp: 0, fn: 0, inside: 0 }, union: { tp: 0, fp: 0, fn: 0, inside: 0 }, lesion: 0 };
for (const c of plan.cases) {
  const n = { base: { tp: 0, fp: 0, fn: 0, inside: 0 }, union: { tp: 0, fp: 0, fn: 0, inside: 0 }, lesion: 0 };
  for (const s of c.slices.filter((_, k) => k % 2 === 0)) {
    const image = (await readImage(s.image)).volume;
    const ref = (await readImage(s.reference)).volume.data, refLung = (await readImage(s.lungMask)).volume.data;
    const lungs = lungSidesFor(image, threshold(await predictSlices(lung, image), lung.spec.threshold)).data;
    const lp = threshold(await predictSlices(les, image), les.spec.threshold).data;
    const comps = connectedComponents(lp, image.dims, {});
    const touch = new Set();
    for (let i = 0; i < lp.length; i++) if (lp[i] && lungs[i]) touch.add(comps.labels[i]);
    const uni = Uint8Array.from(lungs, (v, i) => v || (lp[i] && touch.has(comps.labels[i]) ? 1 : 0));
    for (const [k, m] of [['base', lungs], ['union', uni]]) {
      for (let i = 0; i < m.length; i++) {
        const p = m[i] !== 0, r = refLung[i] !== 0;
        if (p && r) n[k].tp++; else if (p) n[k].fp++; else if (r) n[k].fn++;
        if (ref[i] && p) n[k].inside++;
      }
    }
    for (let i = 0; i < ref.length; i++) if (ref[i]) n.lesion++;
  }
  const d = (x) => (2 * x.tp / (2 * x.tp + x.fp + x.fn)).toFixed(4);
  console.log(c.info.patientGroup, 'base dice', d(n.base), 'inside', (n.base.inside / n.lesion).toFixed(4), '| union dice', d(n.union), 'inside', (n.union.inside / n.lesion).toFixed(4));
  for (const k of ['base', 'union']) for (const q of ['tp', 'fp', 'fn', 'inside']) tot[k][q] += n[k][q];
  tot.lesion += n.lesion;
}
const d = (x) => (2 * x.tp / (2 * x.tp + x.fp + x.fn)).toFixed(4);
console.log(split, 'ALL base dice', d(tot.base), 'inside', (tot.base.inside / tot.lesion).toFixed(4), '| union dice', d(tot.union), 'inside', (tot.union.inside / tot.lesion).toFixed(4));
