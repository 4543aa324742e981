/**
 * Speed of `covseg evaluate` on a real 2D database split, by stage: reading slices and
 * masks, the model input transform (CLAHE) alone, inference (`predictSlices`, transform
 * included), scoring, and the whole `evaluateModel`. One JSON line per step:
 *   node dist/bench/evaluate.js [--model M.onnx] [--db DB] [--split S] [--every K] [--quick]
 * Defaults: the shipped models/lesion-2d.onnx; without --db, a 2D database built in a
 * temporary folder from every K-th slice (default 16; --quick 40) of each patient group of
 * the real zenodo20-slices set in ../shared/data (COVSEG_SHARED_DATA), evaluated on all
 * its splits (--split, default all; 'test' with --db). Without that set it prints why it
 * is skipped and exits 0.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readImage } from '../src/io/index.js';
import { createVolume } from '../src/volume/index.js';
import { buildDatabase } from '../src/database/index.js';
import { sliceToModelInput } from '../src/preprocess/model-input.js';
import { loadSegmentationModel } from '../src/infer/segmentation-model.js';
import { predictSlices, threshold } from '../src/infer/slice-inferer.js';
import { evaluateModel, evaluateSlice, planDatabaseEvaluation } from '../src/eval/index.js';
import { needsShared, sharedPath } from '../test/helpers/shared-data.js';
import { PROJECT_ROOT_DIR } from './paths.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: join(PROJECT_ROOT_DIR, 'models', 'lesion-2d.onnx') },
    db: { type: 'string' },
    split: { type: 'string' },
    every: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const emit = (o: Record<string, unknown>) => console.log(JSON.stringify({ bench: 'evaluate', ...o }));

/** Copies every `every`-th slice of each patient group of a zenodo-slices folder (files and slices.csv rows); returns how many. */
async function sliceSubset(from: string, to: string, every: number): Promise<number> {
  const [header, ...rows] = (await readFile(join(from, 'slices.csv'), 'utf8')).trim().split('\n');
  const seen = new Map<string, number>();
  const kept = rows.filter((row) => {
    const group = row.split(',')[1]!;
    const k = seen.get(group) ?? 0;
    seen.set(group, k + 1);
    return k % every === 0;
  });
  for (const dir of ['ct', 'lungs', 'covid']) {
    await mkdir(join(to, dir), { recursive: true });
    for (const row of kept) await copyFile(join(from, dir, row.split(',')[0]!), join(to, dir, row.split(',')[0]!));
  }
  await writeFile(join(to, 'slices.csv'), [header, ...kept].join('\n') + '\n');
  return kept.length;
}

async function time<T>(step: string, run: () => Promise<T> | T, extra: Record<string, unknown> = {}): Promise<T> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await run();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ bench: 'evaluate', step, ms: +ms.toFixed(1), cpuMs: +((cpu.user + cpu.system) / 1000).toFixed(1), ...extra }));
  return result;
}

const missing = values.db ? false : needsShared('zenodo20-slices');
if (missing) {
  emit({ skipped: `${missing} (or give --db DB)` });
  process.exit(0);
}
const scratch = values.db ? undefined : await mkdtemp(join(tmpdir(), 'covseg-bench-evaluate-'));
try {
  let db = values.db;
  if (!db) {
    const every = Number(values.every ?? (values.quick ? 40 : 16));
    const t0 = performance.now();
    const slices = await sliceSubset(sharedPath('zenodo20-slices'), join(scratch!, 'zenodo20-slices'), every);
    db = join(scratch!, 'db');
    await buildDatabase({ sources: [{ name: 'zenodo-slices', root: join(scratch!, 'zenodo20-slices') }], out: db }, { overview: false });
    emit({ step: 'setup: build-db of the slice subset (not timed below)', ms: Math.round(performance.now() - t0), slices, every });
  }
  await run(values.model, db, values.split ?? (values.db ? 'test' : 'all'));
} finally {
  if (scratch) await rm(scratch, { recursive: true, force: true });
}

async function run(modelPath: string, db: string, split: string): Promise<void> {
  const model = await loadSegmentationModel(modelPath);
  const plan = await planDatabaseEvaluation(db, model.spec, { split });
  if (plan.dims !== 2) throw new Error('bench/evaluate measures 2D models');
  const files = plan.cases.flatMap((c) => c.slices);
  const n = files.length;
  const loaded = await time('read image + masks (readImage)', () => Promise.all(files.map(async (f) => ({
    image: (await readImage(f.image)).volume,
    reference: (await readImage(f.reference)).volume.data,
    lung: f.lungMask ? (await readImage(f.lungMask)).volume.data : undefined,
  }))), { slices: n });
  await time('input transform alone (CLAHE + resize)', () => {
    for (const s of loaded) sliceToModelInput(s.image.data, s.image.dims[0], s.image.dims[1], model.spec.inputSize);
  }, { slices: n, inputSize: model.spec.inputSize });
  const [w, h] = loaded[0]!.image.dims;
  const stack = new Uint8Array(w * h * n);
  loaded.forEach((s, k) => stack.set(s.image.data, k * w * h));
  const prediction = await time('predictSlices (transform + ONNX Runtime), batch 8', async () => threshold(await predictSlices(model, createVolume(stack, [w, h, n]), { batchSize: 8 }), model.spec.threshold), { slices: n });
  await time('evaluateSlice ×n (whole + in lungs)', () => {
    loaded.forEach((s, k) => {
      const p = prediction.data.subarray(k * w * h, (k + 1) * w * h);
      evaluateSlice(s.lung ? { prediction: p, reference: s.reference, lungMask: s.lung } : { prediction: p, reference: s.reference }, { id: String(k), caseId: 'c', z: 0 });
    });
  }, { slices: n });
  await time('evaluateModel (everything)', () => evaluateModel(model, plan, {}), { slices: n, cases: plan.cases.length });
  await model.onnx.release();
}
