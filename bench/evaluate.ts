/**
 * Speed of `covseg evaluate` on a real 2D database split, by stage: reading slices and
 * masks, the model input transform (CLAHE) alone, inference (`predictSlices`, transform
 * included), scoring, and the whole `evaluateModel`. One JSON line per step:
 *   node dist/bench/evaluate.js [MODEL.onnx] [DB] [split]
 * Defaults: /work/runs/sanity/model.onnx, /work/data/db, test.
 */
import { readImage } from '../src/io/index.js';
import { createVolume } from '../src/volume/index.js';
import { sliceToModelInput } from '../src/preprocess/model-input.js';
import { loadSegmentationModel } from '../src/infer/segmentation-model.js';
import { predictSlices, threshold } from '../src/infer/slice-inferer.js';
import { evaluateModel, evaluateSlice, planDatabaseEvaluation } from '../src/eval/index.js';

const [modelPath = '/work/runs/sanity/model.onnx', db = '/work/data/db', split = 'test'] = process.argv.slice(2);

async function time<T>(step: string, run: () => Promise<T> | T, extra: Record<string, unknown> = {}): Promise<T> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await run();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ bench: 'evaluate', step, ms: +ms.toFixed(1), cpuMs: +((cpu.user + cpu.system) / 1000).toFixed(1), ...extra }));
  return result;
}

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
await time('evaluateModel (everything)', () => evaluateModel(model, plan, { quiet: true }), { slices: n, cases: plan.cases.length });
await model.onnx.release();
