import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torchAddonAvailable, createTorchModel, loadTorchAddon, type UNetConfig } from '../../src/nn/torch-addon.js';
import { exportUNetOnnx } from '../../src/nn/unet-onnx.js';
import { loadOnnxModel } from '../../src/nn/onnx-model.js';

const skip = !torchAddonAvailable() && 'training addon not built (npm run build:native)';

function seededInput(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    a[i] = s / 2 ** 32;
  }
  return a;
}

const cases: { name: string; config: UNetConfig; shape: number[]; options: { foldBatchNorm?: boolean; float16?: boolean }; tol: number }[] = [
  { name: '2D batch norm, folded', config: { dims: 2, baseFilters: 4, depth: 3 }, shape: [2, 1, 32, 24], options: {}, tol: 1e-4 },
  { name: '2D batch norm, kept', config: { dims: 2, baseFilters: 4, depth: 2 }, shape: [1, 1, 16, 16], options: { foldBatchNorm: false }, tol: 1e-4 },
  { name: '2D instance norm', config: { dims: 2, baseFilters: 4, depth: 2, norm: 'instance' }, shape: [2, 1, 16, 16], options: {}, tol: 1e-4 },
  { name: '2D no norm, 2 outputs', config: { dims: 2, baseFilters: 4, depth: 2, norm: 'none', outChannels: 2 }, shape: [1, 1, 16, 16], options: {}, tol: 1e-4 },
  { name: '3D batch norm', config: { dims: 3, baseFilters: 4, depth: 2 }, shape: [1, 1, 8, 16, 12], options: {}, tol: 1e-4 },
  { name: '2D float16 weights', config: { dims: 2, baseFilters: 4, depth: 2 }, shape: [1, 1, 16, 16], options: { float16: true }, tol: 5e-3 },
];

for (const c of cases) {
  test(`ONNX export matches libtorch: ${c.name}`, { skip }, async () => {
    const model = createTorchModel({ ...c.config, seed: 7, threads: 1 });
    // A few SGD steps so batch-norm running stats and weights are not at their initial values.
    model.setOptimizer({ type: 'sgd', lr: 0.05, momentum: 0.9 });
    const n = c.shape.reduce((a, b) => a * b, 1);
    const maskShape = [c.shape[0]!, 1, ...c.shape.slice(2)];
    const nm = maskShape.reduce((a, b) => a * b, 1);
    const target = seededInput(nm, 3).map((v) => (v > 0.7 ? 1 : 0));
    for (let i = 0; i < 3; i++) await model.trainStep(seededInput(n, 10 + i), target, new Float32Array(nm).fill(1), c.shape);
    const input = seededInput(n, 99);
    const torchOut = await model.predict(input, c.shape);
    const onnx = await loadOnnxModel(exportUNetOnnx(c.config, model.getState().tensors, c.options), { threads: 1 });
    const ortOut = await onnx.run(input, c.shape);
    assert.deepEqual(ortOut.shape, [c.shape[0], c.config.outChannels ?? 1, ...c.shape.slice(2)]);
    let maxDiff = 0;
    for (let i = 0; i < torchOut.length; i++) maxDiff = Math.max(maxDiff, Math.abs(torchOut[i]! - ortOut.data[i]!));
    assert.ok(maxDiff <= c.tol, `max |libtorch − ORT| = ${maxDiff.toExponential(2)} > ${c.tol}`);
    await onnx.release();
  });
}

test('exporting with weights of another architecture names the missing tensor', { skip }, () => {
  const model = createTorchModel({ dims: 2, baseFilters: 4, depth: 2 });
  assert.throws(() => exportUNetOnnx({ dims: 2, baseFilters: 4, depth: 3 }, model.getState().tensors), /no tensor 'enc3\.conv1\.weight'/);
});

test('masked Dice loss equals hand-computed values and ignores voxels outside the lung', { skip }, () => {
  const { maskedDiceLoss } = loadTorchAddon();
  const p = Float32Array.from([0.9, 0.2, 0.6, 0.1]);
  const t = Float32Array.from([1, 0, 1, 1]);
  const allLung = Float32Array.from([1, 1, 1, 1]);
  // 2·(0.9 + 0.6 + 0.1) / (1.8 + 3 + ε)
  assert.ok(Math.abs(maskedDiceLoss(p, t, allLung, [1, 1, 2, 2], 1e-6, 'batch') - -(2 * 1.6) / (4.8 + 1e-6)) < 1e-6);
  const lung = Float32Array.from([1, 0, 1, 0]);
  // only voxels 0 and 2: 2·(0.9 + 0.6) / (1.5 + 2 + ε)
  const inLung = maskedDiceLoss(p, t, lung, [1, 1, 2, 2], 1e-6, 'batch');
  assert.ok(Math.abs(inLung - -3 / 3.5) < 1e-6, `${inLung}`);
  // Changing prediction or target outside the lung changes nothing.
  const p2 = Float32Array.from([0.9, 1, 0.6, 0]);
  const t2 = Float32Array.from([1, 1, 1, 0]);
  assert.equal(maskedDiceLoss(p2, t2, lung, [1, 1, 2, 2], 1e-6, 'batch'), inLung);
  // Per-sample reduction: mean of the two samples' Dice.
  const two = maskedDiceLoss(Float32Array.from([1, 0, 0.5, 0.5]), Float32Array.from([1, 0, 1, 0]), Float32Array.from([1, 1, 1, 1]), [2, 1, 1, 2], 0, 'sample');
  assert.ok(Math.abs(two - -(1 + 0.5) / 2) < 1e-6, `${two}`);
});

test('a weighted loss mask counts a voxel that many times in the Dice (train --lesion-weight); the reported counts stay unweighted', { skip }, async () => {
  const { maskedDiceLoss } = loadTorchAddon();
  const p = Float32Array.from([0.9, 0.2, 0.6, 0.1]);
  const t = Float32Array.from([1, 0, 1, 1]);
  // Voxel 0 weighs 3: 2·(3·0.9 + 0.6 + 0.1) / ((2.7 + 0.2 + 0.6 + 0.1) + (3 + 1 + 1))
  const weighted = maskedDiceLoss(p, t, Float32Array.from([3, 1, 1, 1]), [1, 1, 2, 2], 0, 'batch');
  assert.ok(Math.abs(weighted - -6.8 / 8.6) < 1e-6, `${weighted}`);
  const perSample = maskedDiceLoss(p, t, Float32Array.from([3, 1, 1, 1]), [1, 1, 2, 2], 0, 'sample');
  assert.ok(Math.abs(perSample - weighted) < 1e-6, 'one sample: both reductions agree');
  const model = createTorchModel({ dims: 2, baseFilters: 4, depth: 2, seed: 4, threads: 1 });
  const image = seededInput(256, 8), target = seededInput(256, 9).map((v) => (v > 0.5 ? 1 : 0));
  const ones = new Float32Array(256).fill(1), heavy = ones.map((_, i) => (target[i] ? 5 : 1));
  const plain = await model.evaluate(image, target, ones, [1, 1, 16, 16]), weightedStep = await model.evaluate(image, target, heavy, [1, 1, 16, 16]);
  for (const k of ['tp', 'fp', 'fn', 'intersection', 'predSum', 'targetSum'] as const) assert.deepEqual(weightedStep[k], plain[k], k);
  assert.notEqual(weightedStep.loss, plain.loss);
});

test('the training loss is the masked Dice plus bceWeight × the whole-image BCE, outside the lung included', { skip }, () => {
  const { maskedDiceLoss, trainingLoss } = loadTorchAddon();
  const p = Float32Array.from([0.9, 0.2, 0.6, 0.1]);
  const t = Float32Array.from([1, 0, 1, 0]);
  const lung = Float32Array.from([1, 0, 1, 0]);
  const dice = maskedDiceLoss(p, t, lung, [1, 1, 2, 2], 1e-6, 'batch');
  assert.equal(trainingLoss(p, t, lung, [1, 1, 2, 2], 1e-6, 'batch', 0), dice);
  // Mean BCE over all four voxels, the two outside the lung (targets 0) among them.
  const bce = -(Math.log(0.9) + Math.log(0.8) + Math.log(0.6) + Math.log(0.9)) / 4;
  const both = trainingLoss(p, t, lung, [1, 1, 2, 2], 1e-6, 'batch', 0.5);
  assert.ok(Math.abs(both - (dice + 0.5 * bce)) < 1e-6, `${both}`);
  // A prediction outside the lung now costs loss: the Dice alone does not see it.
  const louder = Float32Array.from([0.9, 0.7, 0.6, 0.1]);
  assert.equal(maskedDiceLoss(louder, t, lung, [1, 1, 2, 2], 1e-6, 'batch'), dice);
  assert.ok(trainingLoss(louder, t, lung, [1, 1, 2, 2], 1e-6, 'batch', 0.5) > both);
  // Saturated probabilities stay finite.
  assert.ok(Number.isFinite(trainingLoss(Float32Array.from([1, 0, 1, 1]), t, lung, [1, 1, 2, 2], 1e-6, 'batch', 1)));
});

test('training steps lower the loss on a learnable toy task (2D)', { skip }, async () => {
  const model = createTorchModel({ dims: 2, baseFilters: 4, depth: 2, seed: 1, threads: 1 });
  model.setOptimizer({ type: 'adam', lr: 0.01 });
  // Target = bright pixels; lung = everything.
  const shape = [4, 1, 16, 16];
  const img = seededInput(4 * 256, 5);
  const target = img.map((v) => (v > 0.5 ? 1 : 0));
  const lung = new Float32Array(img.length).fill(1);
  const first = (await model.trainStep(img, target, lung, shape)).loss;
  let last = first;
  for (let i = 0; i < 40; i++) last = (await model.trainStep(img, target, lung, shape)).loss;
  assert.ok(last < first - 0.2, `loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
});

test('setState restores weights exactly and rejects wrong shapes', { skip }, async () => {
  const a = createTorchModel({ dims: 2, baseFilters: 4, depth: 2, seed: 1 });
  const b = createTorchModel({ dims: 2, baseFilters: 4, depth: 2, seed: 2 });
  const x = seededInput(256, 4);
  b.setState(a.getState());
  assert.deepEqual(await b.predict(x, [1, 1, 16, 16]), await a.predict(x, [1, 1, 16, 16]));
  const c = createTorchModel({ dims: 2, baseFilters: 8, depth: 2 });
  assert.throws(() => c.setState(a.getState()), /wrong shape/);
});

test('a folded (batch norm) float16 ONNX export seeds a --norm none network that predicts what the ONNX does', { skip }, async () => {
  const { readOnnxWeights } = await import('../../src/nn/onnx/graph.js');
  const shape = [1, 1, 16, 16];
  const trained = createTorchModel({ dims: 2, baseFilters: 4, depth: 2, seed: 3, threads: 1 });
  trained.setOptimizer({ type: 'sgd', lr: 0.05, momentum: 0.9 });
  const nm = 256;
  for (let i = 0; i < 3; i++) await trained.trainStep(seededInput(nm, 20 + i), seededInput(nm, 5).map((v) => (v > 0.6 ? 1 : 0)), new Float32Array(nm).fill(1), shape);
  const bytes = exportUNetOnnx({ dims: 2, baseFilters: 4, depth: 2 }, trained.getState().tensors, { float16: true });
  const seeded = createTorchModel({ dims: 2, baseFilters: 4, depth: 2, norm: 'none', seed: 9, threads: 1 });
  const weights = readOnnxWeights(bytes);
  seeded.setState({ tensors: weights, optimizerSteps: 0 });
  const input = seededInput(nm, 77);
  const onnx = await loadOnnxModel(bytes, { threads: 1 });
  const ortOut = await onnx.run(input, shape);
  const torchOut = await seeded.predict(input, shape);
  let maxDiff = 0;
  for (let i = 0; i < torchOut.length; i++) maxDiff = Math.max(maxDiff, Math.abs(torchOut[i]! - ortOut.data[i]!));
  assert.ok(maxDiff <= 1e-4, `max |libtorch − ORT| = ${maxDiff.toExponential(2)}`);
  await onnx.release();
});

test('readOnnxWeights gives each tensor its own values whether the file came as a Node Buffer or a Uint8Array', async () => {
  const { readOnnxWeights } = await import('../../src/nn/onnx/graph.js');
  const { randomUNetTensors } = await import('../helpers/tiny-models.js');
  const config = { dims: 2 as const, baseFilters: 4, depth: 2 };
  const bytes = exportUNetOnnx({ ...config, norm: 'none' }, randomUNetTensors(config, 5), { float16: true });
  // readFileSync's Buffer: slicing a Buffer gives a view of the whole file, not a copy.
  const asBuffer = Buffer.concat([Buffer.alloc(13), Buffer.from(bytes)]).subarray(13);
  const plain = readOnnxWeights(bytes), fromBuffer = readOnnxWeights(asBuffer);
  assert.deepEqual(Object.keys(fromBuffer), Object.keys(plain));
  for (const [name, t] of Object.entries(fromBuffer)) {
    assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1), `${name}: one value per element`);
    assert.deepEqual(t.data, plain[name]!.data, name);
  }
});
