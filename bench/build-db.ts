/**
 * build-db speed on clinical-size input: a synthetic 512 × 512 × 300 int16 chest CT (with
 * noise, so gzip has real work) and its masks, in the Zenodo 3757476 layout.
 * 1. One case, stage by stage: read (CT + masks, harmonise, HU check), reorient, resample,
 *    crop, normalise, write 3D (.nrrd gzip), write 2D slices. Target: ≤ 3 s in total.
 * 2. The whole build of `--cases` such volumes with 0 (inline), 1 and 2 worker threads, and
 *    with --slices2d the real zenodo-slices set (1,614 PNG slices) the same way.
 * One JSON line per measurement:
 *   node dist/bench/build-db.js [--slices 300] [--cases 4] [--repeats 2] [--slices2d] [--quick]
 * (--quick: 40 slices, 2 cases, 1 repeat; --slices2d needs ../shared/data and is skipped without it).
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readVolume } from '../src/io/index.js';
import { loadCase, scanZenodo } from '../src/datasets/index.js';
import { buildDatabase } from '../src/database/index.js';
import { buildVolumeCase } from '../src/database/process-case.js';
import { TARGET_DIMS, TARGET_SPACING_MM } from '../src/preprocess/index.js';
import { writeZenodoLayout, zenodoMaskStem } from '../test/helpers/synthetic-datasets.js';
import { needsShared, sharedPath } from '../test/helpers/shared-data.js';

const { values } = parseArgs({
  options: { slices: { type: 'string' }, cases: { type: 'string' }, repeats: { type: 'string' }, slices2d: { type: 'boolean', default: false }, quick: { type: 'boolean', default: false } },
});
const nz = Number(values.slices ?? (values.quick ? 40 : 300));
const nCases = Number(values.cases ?? (values.quick ? 2 : 4));
const repeats = Number(values.repeats ?? (values.quick ? 1 : 2));
const emit = (o: Record<string, unknown>) => console.log(JSON.stringify({ bench: 'build-db', ...o }));

const root = await mkdtemp(join(tmpdir(), 'covseg-bench-db-'));
try {
  const data = join(root, 'zenodo');
  const t0 = performance.now();
  await writeZenodoLayout(data, { stems: ['coronacases_org_001'], coronaDims: [512, 512, nz], noiseHu: 15 });
  emit({ step: 'write synthetic input', ms: Math.round(performance.now() - t0), dims: [512, 512, nz], spacingMm: [0.7, 0.7, 1] });

  // 1. One case, stage by stage, in this thread.
  const ref = (await scanZenodo(data)).cases[0]!;
  const t1 = performance.now();
  const ct = await readVolume(ref.files.image);
  const readMs = performance.now() - t1;
  emit({ step: 'read', ms: Math.round(readMs), what: 'CT .nii.gz' });
  const t1b = performance.now();
  const loaded = await loadCase(ref);
  emit({ step: 'load case', ms: Math.round(performance.now() - t1b), what: 'CT + infection + lung masks, harmonise, HU check (p1/p99 reused by normalize)' });
  emit({ step: 'ct', pixelType: ct.data.constructor.name, dims: ct.dims });
  const settings = { out: join(root, 'db-stages'), spacingMm: TARGET_SPACING_MM, dims: TARGET_DIMS, lowPercentile: 1, highPercentile: 99, sliceSize: 320 };
  const built = await buildVolumeCase('Case-0000', loaded, settings);
  const t = built.timingsMs;
  const stages = { reorient: t['reorient']!, resample: t['resample']!, crop: t['crop']!, normalize: t['normalize']!, write3d: t['write3d']!, write2d: t['write2d']! };
  for (const [step, ms] of Object.entries(stages)) emit({ step, ms: Math.round(ms) });
  const core = readMs + stages.reorient + stages.resample + stages.crop + stages.normalize + stages.write3d;
  emit({ step: 'read+resample+crop+normalize+write3d', ms: Math.round(core), targetMs: 3000 });
  emit({ step: 'whole case (load case with masks + all stages + 2D slices)', ms: Math.round(performance.now() - t1b), slices2d: built.slices2d.length, lesionVoxels: built.lesionVoxels });

  // 2. Whole builds of nCases copies, by worker count.
  const imageDir = join(data, 'COVID-19-CT-Seg_20cases');
  for (let k = 2; k <= nCases; k++) {
    const stem = `coronacases_org_${String(k).padStart(3, '0')}`;
    await cp(join(imageDir, 'coronacases_org_001.nii.gz'), join(imageDir, `${stem}.nii.gz`));
    for (const dir of ['Infection_Mask', 'Lung_Mask', 'Lung_and_Infection_Mask']) {
      await cp(join(data, dir, 'coronacases_001.nii.gz'), join(data, dir, `${zenodoMaskStem(stem)}.nii.gz`));
    }
  }
  // Interleaved repeats: the machine is shared, so single timings drift.
  const builds: [string, { name: 'zenodo' | 'zenodo-slices'; root: string }][] = [['3d', { name: 'zenodo', root: data }]];
  const missing = needsShared('zenodo20-slices');
  if (values.slices2d && missing) emit({ step: 'build 2d', skipped: missing });
  else if (values.slices2d) builds.push(['2d', { name: 'zenodo-slices', root: sharedPath('zenodo20-slices') }]);
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (const [kind, source] of builds) {
      for (const workers of [0, 1, 2]) {
        const out = join(root, `db-${kind}-w${workers}`);
        const tb = performance.now();
        const summary = await buildDatabase({ sources: [source], out }, { workers, overview: false });
        const ms = performance.now() - tb;
        emit({ step: `build ${kind}`, workers, repeat, cases: summary.totals.built, ms: Math.round(ms), msPerCase: Math.round(ms / summary.totals.built) });
        await rm(out, { recursive: true, force: true });
      }
    }
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
