/**
 * How right a lung model's masks are, as issue 12's Measure section asks (a report, not a
 * test: no thresholds). One JSON line per number:
 * - Zenodo held-out lung Dice, the model alone on the 2D database's 8-bit slices
 *   (validation and test groups; case = patient group, counts pooled over its slices;
 *   mean ± sample std over cases), as `covseg evaluate` scores it;
 * - the share of the reference lesion voxels inside the predicted lung mask on the Zenodo
 *   test groups (a lung mask that drops consolidation hides it from the lesion model);
 * - both again for the lungs as `covseg segment` gives them for these image files (the
 *   model, then the 2D path's rules of lung-sides.ts), validation and test groups;
 * - with the anatomy's rules (`segmentLungsDefault`), on real CT in Hounsfield units:
 *   example_ct_sm.nii.gz against TotalSegmentator's lobes (labels 10–14) and the false
 *   lung volume in slices where they hold no lung; example_ct_dicom's lung volume (no
 *   lung in view) and quality; the DICOM chest slice against lungmask R231's
 *   32,376 / 18,268 pixels.
 *   node dist/bench/lung-accuracy.js [--model M.onnx] [--db DB] [--quick] [--threads N]
 * Defaults: models/lung-2d.onnx; without --db, the 2D database is built in a temporary
 * folder from ../shared/data as models/README.md says (zenodo-slices + semiseg, seed 42:
 * the split depends on both). --quick scores every 8th slice of each group; --threads: ONNX
 * Runtime's threads (default 2). Parts whose
 * data is missing print why and are skipped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readVolume } from '../src/io/index.js';
import { reorientToLps } from '../src/volume/index.js';
import { voxelVolumeMl, type LabelMap, type Volume } from '../src/volume/volume.js';
import { buildDatabase } from '../src/database/index.js';
import { evaluateModel, planDatabaseEvaluation, type EvaluationPlan } from '../src/eval/index.js';
import type { CaseResult } from '../src/eval/evaluation.js';
import { loadDefaultLungModel, segmentLungsDefault } from '../src/lungs/default-model.js';
import { lungSidesFor } from '../src/lungs/lung-sides.js';
import { predictSlices, threshold } from '../src/infer/slice-inferer.js';
import { readImage } from '../src/io/index.js';
import { lungQuality } from '../src/lungs/quality.js';
import { confusion, diceFromCounts } from '../src/metrics/index.js';
import { needsShared, sharedPath } from '../test/helpers/shared-data.js';
import { PROJECT_ROOT_DIR } from './paths.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: join(PROJECT_ROOT_DIR, 'models', 'lung-2d.onnx') },
    db: { type: 'string' },
    quick: { type: 'boolean', default: false },
    threads: { type: 'string', default: '2' },
  },
});
const emit = (o: Record<string, unknown>) => console.log(JSON.stringify({ bench: 'lung-accuracy', model: values.model, ...o }));
const round = (x: number, d = 4) => +x.toFixed(d);
const model = await loadDefaultLungModel(values.model, { threads: Number(values.threads) });

function meanStd(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean: round(mean), std: round(std) };
}

/** Every 8th slice of each case (--quick). */
function thinned(plan: EvaluationPlan): EvaluationPlan {
  if (!values.quick || plan.dims !== 2) return plan;
  return { ...plan, cases: plan.cases.map((c) => ({ ...c, slices: c.slices.filter((_, k) => k % 8 === 0) })) };
}

async function zenodo(db: string): Promise<void> {
  const sources = ['zenodo-slices'];
  for (const split of ['validation', 'test']) {
    const plan = thinned(await planDatabaseEvaluation(db, { dims: 2, task: 'lung' }, { split, sources }));
    const { evaluation } = await evaluateModel(model, plan);
    const cases = evaluation.cases as CaseResult[];
    const pooled = diceFromCounts(cases.reduce((a, c) => ({ tp: a.tp + c.confusion.tp, fp: a.fp + c.confusion.fp, fn: a.fn + c.confusion.fn }), { tp: 0, fp: 0, fn: 0 }));
    emit({ case: `zenodo-${split}-lung-dice`, cases: Object.fromEntries(cases.map((c) => [c.patientGroup ?? c.id, round(c.dice)])), per_case: meanStd(cases.map((c) => c.dice)), pooled: round(pooled), slices: cases.reduce((a, c) => a + c.slices, 0) });
  }
  // The lung model scored against the lesion masks: its sensitivity is the share of lesion inside its lung.
  const plan = thinned(await planDatabaseEvaluation(db, { dims: 2, task: 'lesion' }, { split: 'test', sources }));
  const cases = (await evaluateModel(model, plan)).evaluation.cases as CaseResult[];
  const inside = cases.reduce((a, c) => a + c.confusion.tp, 0), all = cases.reduce((a, c) => a + c.confusion.tp + c.confusion.fn, 0);
  emit({ case: 'zenodo-test-lesion-inside-lung', share: round(inside / all), lesion_px: all, cases: Object.fromEntries(cases.map((c) => [c.patientGroup ?? c.id, round(c.sensitivity)])) });
  for (const split of ['validation', 'test']) await asSegmented(db, split, sources);
}

/**
 * The same slices' lungs as `covseg segment` gives them for an image file (the model, then
 * the 2D path's rules: sides, rolling ball, holes — `lungSidesFor`; read as stored, the
 * Zenodo slices are upright): lung Dice against the lung masks and the share of the lesion
 * voxels inside, pooled per split (the lesion model only sees what this mask holds).
 */
async function asSegmented(db: string, split: string, sources: string[]): Promise<void> {
  const plan = thinned(await planDatabaseEvaluation(db, { dims: 2, task: 'lesion' }, { split, sources }));
  if (plan.dims !== 2) return;
  const perCase: Record<string, { dice: number; lesion_inside: number }> = {};
  const all = { tp: 0, fp: 0, fn: 0, lesion: 0, inside: 0 };
  for (const c of plan.cases) {
    const n = { tp: 0, fp: 0, fn: 0, lesion: 0, inside: 0 };
    for (const s of c.slices) {
      const image = (await readImage(s.image)).volume;
      const [lesion, lung] = [(await readImage(s.reference)).volume.data, (await readImage(s.lungMask!)).volume.data];
      const lungs = lungSidesFor(image, threshold(await predictSlices(model, image), model.spec.threshold)).data;
      for (let i = 0; i < lungs.length; i++) {
        const p = lungs[i] !== 0, r = lung[i] !== 0;
        if (p && r) n.tp++;
        else if (p) n.fp++;
        else if (r) n.fn++;
        if (lesion[i]) {
          n.lesion++;
          if (p) n.inside++;
        }
      }
    }
    perCase[c.info.patientGroup ?? c.info.id] = { dice: round(diceFromCounts(n)), lesion_inside: round(n.inside / n.lesion) };
    for (const k of Object.keys(all) as (keyof typeof all)[]) all[k] += n[k];
  }
  emit({ case: `zenodo-${split}-lungs-as-segmented`, pooled_dice: round(diceFromCounts(all)), lesion_inside: round(all.inside / all.lesion), lesion_px: all.lesion, cases: perCase });
}

/** Lung voxels (mL) in the axial slices where `reference` has none, both in LPS. */
function falseLungMl(lungs: LabelMap, reference: Volume): number {
  const l = reorientToLps(lungs).volume, r = reorientToLps(reference).volume;
  const plane = l.dims[0] * l.dims[1];
  let voxels = 0;
  for (let z = 0; z < l.dims[2]; z++) {
    if (r.data.subarray(z * plane, (z + 1) * plane).some((v) => v !== 0)) continue;
    for (let i = z * plane; i < (z + 1) * plane; i++) if (l.data[i]) voxels++;
  }
  return voxels * voxelVolumeMl(l);
}

const missingDb = !values.db && needsShared('zenodo20-slices');
if (missingDb) emit({ case: 'zenodo', skipped: missingDb });
else if (values.db) await zenodo(values.db);
else {
  const dir = await mkdtemp(join(tmpdir(), 'covseg-lung-accuracy-'));
  try {
    const db = join(dir, 'db');
    const sources = [{ name: 'zenodo-slices' as const, root: sharedPath('zenodo20-slices') }, ...(needsShared('covid-semiseg') ? [] : [{ name: 'semiseg' as const, root: sharedPath('covid-semiseg') }])];
    await buildDatabase({ sources, out: db }, { overview: false, seed: 42 });
    await zenodo(db);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const VOLUME = 'small-ct-volume';
const missing = needsShared(VOLUME);
if (missing) emit({ case: VOLUME, skipped: missing });
else {
  const ct = await readVolume(sharedPath(`${VOLUME}/example_ct_sm.nii.gz`));
  const seg = await readVolume(sharedPath(`${VOLUME}/example_seg.nii.gz`));
  const ref = { ...seg, data: Uint8Array.from(seg.data, (v) => +(v >= 10 && v <= 14)) };
  const lungs = await segmentLungsDefault(ct, { model });
  const c = confusion(Uint8Array.from(lungs.data, (v) => +(v > 0)), ref.data);
  const q = lungQuality(ct, lungs);
  emit({ case: 'example_ct_sm-vs-totalsegmentator', dice: round(diceFromCounts(c)), lung_voxels_ref: c.tp + c.fn, lung_voxels_pred: c.tp + c.fp, false_lung_ml: round(falseLungMl(lungs, ref), 2), coverage: q.lungCoverage, assessable: q.assessable });
  const abdomen = await readVolume(sharedPath(`${VOLUME}/example_ct_dicom`));
  const none = await segmentLungsDefault(abdomen, { model });
  const qa = lungQuality(abdomen, none);
  emit({ case: 'example_ct_dicom-no-lung', lung_ml: round(none.data.reduce((n, v) => n + +(v > 0), 0) * voxelVolumeMl(none), 2), coverage: qa.lungCoverage, assessable: qa.assessable });
}

const slice = await readVolume(join(PROJECT_ROOT_DIR, 'examples/chest-ct-dicom-slice/chest-ct.dcm'));
const labels = await segmentLungsDefault(slice, { model });
let right = 0, left = 0;
for (const v of labels.data) v === 1 ? right++ : v === 2 ? left++ : 0;
emit({ case: 'dicom-slice-vs-r231', right_px: right, left_px: left, right_rel_diff: round((right - 32376) / 32376, 3), left_rel_diff: round((left - 18268) / 18268, 3) });
await model.onnx.release();
