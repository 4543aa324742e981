import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { torchAddonAvailable } from '../../src/nn/torch-addon.js';
import { trainNetwork, type TrainOptions } from '../../src/train/loop.js';
import { StoredSampleSet, type StoredSample } from '../../src/train/stored-samples.js';
import { readHistory } from '../../src/train/history.js';
import { loadOnnxModel } from '../../src/nn/onnx-model.js';
import { buildDatabase } from '../../src/database/index.js';
import { readOnnxMetadata } from '../../src/nn/onnx/graph.js';
import { Rng } from '../../src/util/random.js';
import { PROJECT_ROOT } from '../helpers/shared-data.js';
import { writeSliceSetLayout } from '../helpers/tiny-models.js';

const skip = !torchAddonAvailable() && 'training addon not built (npm run build:native)';

/** Bright squares on noise; the target is the square, the loss mask the left 3/4. */
function toySet(n: number, seed: number): StoredSampleSet {
  const rng = new Rng(seed);
  const size = 16;
  const samples: StoredSample[] = [];
  for (let k = 0; k < n; k++) {
    const image = new Float32Array(size * size);
    const target = new Uint8Array(size * size);
    const lossMask = new Uint8Array(size * size);
    const x0 = rng.int(8), y0 = rng.int(8);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const i = y * size + x;
        target[i] = x >= x0 && x < x0 + 6 && y >= y0 && y < y0 + 6 ? 1 : 0;
        image[i] = 0.2 + 0.6 * target[i]! + 0.1 * rng.normal();
        lossMask[i] = x < 12 ? 1 : 0;
      }
    }
    samples.push({ id: `s${k}`, caseId: `c${k % 3}`, image, target, lossMask });
  }
  return new StoredSampleSet(samples, [size, size]);
}

function options(runDir: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return { runDir, network: { dims: 2, baseFilters: 2, depth: 2 }, epochs: 4, batchSize: 4, optimizer: 'adam', lr: 0.01, threads: 1, seed: 3, ...extra };
}

test('a killed run resumed from its checkpoint ends exactly where an uninterrupted run ends', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'covseg-loop-'));
  try {
    const data = { train: toySet(12, 1), val: toySet(4, 2) };
    const straight = await trainNetwork(options(join(dir, 'a')), data);
    await trainNetwork(options(join(dir, 'b'), { epochs: 2 }), data);
    // Progress reaches the callbacks (the library draws nothing): every batch, every epoch, the messages.
    const calls: string[] = [];
    const resumed = await trainNetwork(options(join(dir, 'b'), {
      resume: true,
      onProgress: (done, total, stage, detail) => calls.push(`${stage} ${done}/${total}${detail ? ` ${detail.replace(/-?[\d.]+$/, 'L')}` : ''}`),
      onEpoch: (r) => calls.push(`epoch ${r.epoch} done`),
      onMessage: (m) => calls.push(m.split(' ')[0]!),
    }), data);
    assert.deepEqual(calls, [
      'resuming', 'training',
      'epoch 3/4 0/3', 'epoch 3/4 1/3 loss L', 'epoch 3/4 2/3 loss L', 'epoch 3/4 3/3 loss L', 'epoch 3 done',
      'epoch 4/4 0/3', 'epoch 4/4 1/3 loss L', 'epoch 4/4 2/3 loss L', 'epoch 4/4 3/3 loss L', 'epoch 4 done',
    ]);
    assert.deepEqual(resumed.history.map((h) => h.trainLoss), straight.history.map((h) => h.trainLoss));
    assert.deepEqual(resumed.history.map((h) => h.valLoss), straight.history.map((h) => h.valLoss));
    assert.equal(resumed.bestEpoch, straight.bestEpoch);
    const withoutTime = async (run: string) => (await readHistory(join(dir, run, 'history.csv'))).map(({ seconds: _s, ...rest }) => rest);
    assert.deepEqual(await withoutTime('b'), await withoutTime('a'));
    // The exported best models compute the same probabilities.
    const input = toySet(2, 9).samples.flatMap((s) => Array.from(s.image));
    const [a, b] = await Promise.all([loadOnnxModel(straight.modelPath, { threads: 1 }), loadOnnxModel(resumed.modelPath, { threads: 1 })]);
    assert.deepEqual((await a.run(Float32Array.from(input), [2, 1, 16, 16])).data, (await b.run(Float32Array.from(input), [2, 1, 16, 16])).data);
    for (const f of ['checkpoint-best.ckpt', 'checkpoint-last.ckpt', 'history.csv', 'training-curves.png', 'run.json', 'model.onnx']) assert.ok(existsSync(join(dir, 'b', f)), f);
    // The loss went down on this learnable task.
    assert.ok(straight.history.at(-1)!.trainLoss < straight.history[0]!.trainLoss, JSON.stringify(straight.history.map((h) => h.trainLoss)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an existing run needs --resume, and resuming with other settings is refused', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'covseg-loop-'));
  try {
    const data = { train: toySet(8, 1), val: toySet(4, 2) };
    await trainNetwork(options(dir, { epochs: 1 }), data);
    await assert.rejects(trainNetwork(options(dir, { epochs: 2 }), data), /a training run already exists here; pass --resume/);
    await assert.rejects(trainNetwork(options(dir, { epochs: 2, lr: 0.5, resume: true }), data), /cannot resume: the run was started with other settings \(lr\)/);
    // The model's input transform is part of what a resumed run must share.
    await assert.rejects(trainNetwork(options(dir, { epochs: 2, resume: true, modelMetadata: { 'covseg.inputTransform': 'clahe-v1' } }), data), /other settings \(model\)/);
    // run.json is read through its schema: a damaged one is one line naming the key.
    const runJson = join(dir, 'run.json');
    const recorded = JSON.parse(readFileSync(runJson, 'utf8')) as { training: Record<string, unknown> };
    writeFileSync(runJson, JSON.stringify({ training: { ...recorded.training, lr: 'fast' } }));
    await assert.rejects(trainNetwork(options(dir, { epochs: 2, resume: true }), data), /run\.json: key 'training\.lr' should be number, got string; the run folder is damaged: train into another --out$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--init starts from another run\'s weights: with a zero learning rate the model is that run\'s model', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'covseg-loop-'));
  try {
    const net = { dims: 2 as const, baseFilters: 2, depth: 2, norm: 'none' as const };
    const data = { train: toySet(8, 1), val: toySet(4, 2) };
    const source = await trainNetwork(options(join(dir, 'a'), { epochs: 2, network: net }), data);
    const tuned = await trainNetwork(options(join(dir, 'b'), { epochs: 1, lr: 0, optimizer: 'sgd', network: net, seed: 99, initFrom: join(dir, 'a', 'checkpoint-best.ckpt') }), data);
    const input = Float32Array.from(toySet(1, 5).samples[0]!.image);
    const [a, b] = await Promise.all([loadOnnxModel(source.modelPath, { threads: 1 }), loadOnnxModel(tuned.modelPath, { threads: 1 })]);
    assert.deepEqual((await b.run(input, [1, 1, 16, 16])).data, (await a.run(input, [1, 1, 16, 16])).data);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--init from a model file (.onnx, batch norm folded): with --norm none and a zero learning rate the model is that model; with batch norm it is refused', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'covseg-loop-'));
  try {
    const data = { train: toySet(8, 1), val: toySet(4, 2) };
    const source = await trainNetwork(options(join(dir, 'a'), { epochs: 2, float16: true }), data);
    const net = { dims: 2 as const, baseFilters: 2, depth: 2, norm: 'none' as const };
    const tuned = await trainNetwork(options(join(dir, 'b'), { epochs: 1, lr: 0, optimizer: 'sgd', network: net, seed: 99, initFrom: source.modelPath }), data);
    const input = Float32Array.from(toySet(1, 5).samples[0]!.image);
    const [a, b] = await Promise.all([loadOnnxModel(source.modelPath, { threads: 1 }), loadOnnxModel(tuned.modelPath, { threads: 1 })]);
    const pa = (await a.run(input, [1, 1, 16, 16])).data, pb = (await b.run(input, [1, 1, 16, 16])).data;
    // float16 storage on both sides: equal up to half-precision rounding of the weights.
    assert.ok(pa.every((v, i) => Math.abs(v - pb[i]!) < 2e-3), 'same probabilities');
    await assert.rejects(trainNetwork(options(join(dir, 'c'), { initFrom: source.modelPath }), data), /model\.onnx: cannot start from this model: its weights are a network with batch norm folded into the convs: train with --norm none to start from them$/);
    await assert.rejects(trainNetwork(options(join(dir, 'd'), { initFrom: source.modelPath, network: { ...net, baseFilters: 4 } }), data), /its network has baseFilters 2, this run 4$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('early stopping: with a zero learning rate (and no batch-norm statistics) nothing improves after epoch 1', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'covseg-loop-'));
  try {
    const r = await trainNetwork(options(dir, { lr: 0, epochs: 10, patience: 2, optimizer: 'sgd', augment: false, network: { dims: 2, baseFilters: 2, depth: 2, norm: 'none' } }), { train: toySet(8, 1), val: toySet(4, 2) });
    assert.equal(r.bestEpoch, 1);
    assert.equal(r.epochsRun, 3);
    assert.equal(r.stoppedEarly, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('input errors: empty validation split, shapes not divisible by 2^depth', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'covseg-loop-'));
  try {
    const empty = new StoredSampleSet([], [16, 16]);
    await assert.rejects(trainNetwork(options(dir), { train: toySet(4, 1), val: empty }), /the validation split has no samples/);
    await assert.rejects(trainNetwork(options(dir, { network: { dims: 2, baseFilters: 2, depth: 5 } }), { train: toySet(4, 1), val: toySet(2, 2) }), /sample shape \[16,16\] must be divisible by 2\^depth = 32/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('covseg train on a database writes a covseg model with its spec, history and curves', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'covseg-train-cli-'));
  try {
    const groups = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9', 'p10'];
    await writeSliceSetLayout(join(dir, 'slices'), groups.flatMap((g, k) => [0, 1].map((j) => ({ file: `${k}${j}.png`, group: g, lesionRadius: 3 + j }))), 32);
    await buildDatabase({ sources: [{ name: 'zenodo-slices', root: join(dir, 'slices') }], out: join(dir, 'db') }, { sliceSize: 32, workers: 0, overview: false });
    const cli = resolve(PROJECT_ROOT, 'dist/src/cli/main.js');
    const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'train', ...args], { encoding: 'utf8', env: { ...process.env, COVSEG_QUIET: '1' } });
    const r = run('--db', join(dir, 'db'), '--dims', '2', '--out', join(dir, 'run'), '--epochs', '2', '--input-size', '32', '--base-filters', '2', '--depth', '2', '--batch', '4', '--threads', '1', '--quiet');
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { model: string; epochs: number };
    assert.equal(summary.epochs, 2);
    const meta = readOnnxMetadata(new Uint8Array(readFileSync(summary.model)));
    assert.equal(meta['covseg.task'], 'lesion');
    assert.equal(meta['covseg.inputTransform'], 'clahe-v2');
    assert.equal(meta['covseg.inputSize'], '32');
    assert.equal((await readHistory(join(dir, 'run', 'history.csv'))).length, 2);
    const usage = run('--dims', '2', '--out', join(dir, 'x'));
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--db, --dims and --out are required/);
    const badSize = run('--db', join(dir, 'db'), '--dims', '2', '--out', join(dir, 'y'), '--input-size', '30');
    assert.equal(badSize.status, 2);
    assert.match(badSize.stderr, /--input-size: 30 is not divisible by 2\^depth = 16/);
    const badNegatives = run('--db', join(dir, 'db'), '--dims', '2', '--out', join(dir, 'z'), '--negatives', 'abdomen.nii.gz');
    assert.equal(badNegatives.status, 2);
    assert.match(badNegatives.stderr, /--negatives is for the 2D lung model \(--dims 2 --task lung\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
