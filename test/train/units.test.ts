import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Type } from '@sinclair/typebox';
import { learningRate } from '../../src/train/schedule.js';
import { loadCheckpoint, networkTensors, saveCheckpoint } from '../../src/train/checkpoint.js';
import { historyToCsv, readHistory, writeHistory, type EpochRecord } from '../../src/train/history.js';
import { StoredSampleSet, type StoredSample } from '../../src/train/stored-samples.js';
import { allocateBatch } from '../../src/train/samples.js';
import { augmentAfterTransform, augmentBeforeTransform, paintConsolidation } from '../../src/train/augment.js';
import { setMetrics } from '../../src/train/loop.js';
import { Rng } from '../../src/util/random.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'covseg-train-'));

test('learning-rate schedules', () => {
  const table: [Parameters<typeof learningRate>, number][] = [
    [['constant', 0.1, 7, 10], 0.1],
    [['cosine', 0.1, 1, 11], 0.1],
    [['cosine', 0.1, 11, 11], 0.001],
    [['cosine', 0.1, 6, 11], 0.001 + 0.099 * 0.5],
    [['step', 0.1, 1, 101], 0.1],
    [['step', 0.1, 51, 101], 0.01],
    [['step', 0.1, 76, 101], 0.001],
    [['warmup-cosine', 0.1, 1, 20], 0.02],
    [['warmup-cosine', 0.1, 5, 20], 0.1],
    [['warmup-cosine', 0.1, 6, 20], 0.1],
  ];
  for (const [args, expected] of table) assert.ok(Math.abs(learningRate(...args) - expected) < 1e-12, `${args.join(' ')}: ${learningRate(...args)} ≠ ${expected}`);
});

test('checkpoints round-trip exactly, and bad files are named', async () => {
  const dir = tmp();
  try {
    const state = { tensors: { 'enc0.conv1.weight': { shape: [2, 1, 1, 1], data: Float32Array.from([0.5, -1.25]) }, 'momentum.enc0.conv1.weight': { shape: [2, 1, 1, 1], data: Float32Array.from([3, 4]) }, odd: { shape: [3], data: Float32Array.from([1e-30, 7, -0]) } }, optimizerSteps: 17 };
    const path = join(dir, 'a.ckpt');
    await saveCheckpoint(path, { state, meta: { epoch: 3, note: 'x' } });
    const back = await loadCheckpoint(path, Type.Object({ epoch: Type.Number(), note: Type.String() }));
    assert.deepEqual(back.meta, { epoch: 3, note: 'x' });
    assert.equal(back.state.optimizerSteps, 17);
    for (const [name, t] of Object.entries(state.tensors)) {
      assert.deepEqual(back.state.tensors[name]!.shape, t.shape);
      assert.deepEqual(Array.from(back.state.tensors[name]!.data), Array.from(t.data));
    }
    assert.deepEqual(Object.keys(networkTensors(back.state)), ['enc0.conv1.weight', 'odd']);
    writeFileSync(join(dir, 'bad.ckpt'), 'hello');
    await assert.rejects(loadCheckpoint(join(dir, 'bad.ckpt'), Type.Unknown()), /bad\.ckpt: not a covseg checkpoint/);
    writeFileSync(join(dir, 'cut.ckpt'), readFileSync(path).subarray(0, readFileSync(path).length - 4));
    await assert.rejects(loadCheckpoint(join(dir, 'cut.ckpt'), Type.Unknown()), /cut\.ckpt: checkpoint is truncated/);
    // The header is checked against its schema, the caller's meta included: one line naming the key.
    await saveCheckpoint(join(dir, 'meta.ckpt'), { state, meta: { epoch: 'three', note: 'x' } });
    await assert.rejects(loadCheckpoint(join(dir, 'meta.ckpt'), Type.Object({ epoch: Type.Number(), note: Type.String() })), /meta\.ckpt: key 'meta\.epoch' should be number, got string; the checkpoint is damaged or not from covseg train$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('history.csv round-trips and a foreign header is an error', async () => {
  const dir = tmp();
  try {
    const h: EpochRecord[] = [{ epoch: 1, trainLoss: -0.25, trainDice: 0.3, valLoss: -0.2, valDice: 0.25, lr: 0.001, seconds: 12.5 }];
    await writeHistory(join(dir, 'history.csv'), h);
    assert.equal(historyToCsv(h).split('\n')[0], 'epoch,train_loss,train_dice,val_loss,val_dice,lr,seconds');
    assert.deepEqual(await readHistory(join(dir, 'history.csv')), h);
    writeFileSync(join(dir, 'other.csv'), 'a,b\n1,2\n');
    await assert.rejects(readHistory(join(dir, 'other.csv')), /other\.csv: unexpected header/);
    // A resumed run carries the history on: a damaged row is named, not read as NaN.
    const head = 'epoch,train_loss,train_dice,val_loss,val_dice,lr,seconds\n';
    writeFileSync(join(dir, 'cut.csv'), `${head}1,-0.2,0.3,-0.2,0.25,0.001,12\n2,-0.3,0.4\n`);
    await assert.rejects(readHistory(join(dir, 'cut.csv')), /cut\.csv: line 3: 3 cells, expected 7; the run folder is damaged/);
    writeFileSync(join(dir, 'word.csv'), `${head}1,-0.2,x,-0.2,0.25,0.001,12\n`);
    await assert.rejects(readHistory(join(dir, 'word.csv')), /word\.csv: line 2: train_dice 'x' is not a number/);
    writeFileSync(join(dir, 'order.csv'), `${head}2,-0.2,0.3,-0.2,0.25,0.001,12\n`);
    await assert.rejects(readHistory(join(dir, 'order.csv')), /order\.csv: line 2: epoch 2, expected 1/);
    writeFileSync(join(dir, 'nan.csv'), `${head}1,-0.2,0.3,NaN,NaN,0.001,12\n`);
    assert.ok(Number.isNaN((await readHistory(join(dir, 'nan.csv')))[0]!.valDice), 'NaN as the run wrote it');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A 4×6×8 (D, H, W) sample whose image value is its own voxel index, lesion at one voxel. */
function indexedSample(lesionAt: number): StoredSample {
  const n = 4 * 6 * 8;
  const target = new Uint8Array(n);
  target[lesionAt] = 1;
  return { id: 'a', caseId: 'A', image: Float32Array.from({ length: n }, (_, i) => i), target, lossMask: new Uint8Array(n).fill(1) };
}

test('3D patches: the centred patch for validation, lesion-centred patches for training', () => {
  // Lesion at (z, y, x) = (3, 5, 7): index 3·48 + 5·8 + 7.
  const lesion = 3 * 48 + 5 * 8 + 7;
  const set = new StoredSampleSet([indexedSample(lesion)], [4, 6, 8], { patch: [2, 2, 4], lesionBias: 1 });
  const b = allocateBatch(set, 1);
  set.fill(0, b, 0);
  // Centred corner: (1, 2, 2) → first row of the patch is x 2..5 at z 1, y 2.
  assert.deepEqual(Array.from(b.image.subarray(0, 4)), [1 * 48 + 2 * 8 + 2, 1 * 48 + 2 * 8 + 3, 1 * 48 + 2 * 8 + 4, 1 * 48 + 2 * 8 + 5]);
  assert.deepEqual(Array.from(b.image.subarray(12, 16)), [2 * 48 + 3 * 8 + 2, 2 * 48 + 3 * 8 + 3, 2 * 48 + 3 * 8 + 4, 2 * 48 + 3 * 8 + 5]);
  const rng = new Rng(1);
  for (let k = 0; k < 10; k++) {
    set.fill(0, b, 0, rng);
    assert.equal(b.target.reduce((a, v) => a + v, 0), 1, 'the lesion voxel is inside every lesion-biased patch');
  }
  assert.throws(() => new StoredSampleSet([indexedSample(0)], [4, 6, 8], { patch: [2, 8, 4] }), /patch \[2,8,4\] must have 3 dims no larger than the stored shape/);
  assert.throws(() => new StoredSampleSet([indexedSample(0)], [4, 6, 9]), /sample a: arrays do not match the stored shape/);
});

test("a synthetic consolidation fills part of one lung from its border with the tissue's density, and nothing outside the lung", () => {
  // A body of tissue (0.6) holding two dark lungs (0.1) either side of a mediastinum.
  const w = 64, h = 48;
  const image = new Float32Array(w * h);
  const lung = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const inBody = y >= 4 && y < 44 && x >= 2 && x < 62;
      const inLung = y >= 10 && y < 38 && ((x >= 8 && x < 28) || (x >= 36 && x < 56));
      image[y * w + x] = inLung ? 0.1 : inBody ? 0.6 : 0;
      lung[y * w + x] = inLung ? 1 : 0;
    }
  }
  const untouched = image.slice();
  assert.equal(paintConsolidation(image, lung, w, h, new Rng(1), 0), false, 'probability 0 never paints');
  assert.equal(paintConsolidation(image, new Uint8Array(w * h), w, h, new Rng(1), 1), false, 'no lung, nothing to paint');
  assert.deepEqual(image, untouched);
  for (let seed = 0; seed < 10; seed++) {
    const painted = untouched.slice();
    assert.equal(paintConsolidation(painted, lung, w, h, new Rng(seed), 1), true);
    const again = untouched.slice();
    paintConsolidation(again, lung, w, h, new Rng(seed), 1);
    assert.deepEqual(again, painted, 'the same seed paints the same');
    let changed = 0, dense = 0, atBorder = false;
    const sides = new Set<number>();
    for (let i = 0; i < w * h; i++) {
      if (painted[i] === untouched[i]) continue;
      assert.equal(lung[i], 1, `pixel ${i} outside the lung changed`);
      changed++;
      sides.add(i % w < 32 ? 0 : 1);
      if (painted[i]! > 0.35) dense++;
      const x = i % w;
      if (!lung[i - 1] || !lung[i + 1] || !lung[i - w] || !lung[i + w] || x === 0) atBorder = true;
    }
    assert.ok(changed > 20 && changed < 28 * 20, `seed ${seed}: ${changed} pixels painted`);
    assert.ok(dense > changed / 3, `seed ${seed}: ${dense} of ${changed} painted pixels near the tissue's density`);
    assert.ok(atBorder, `seed ${seed}: the consolidation starts at the pleura`);
    assert.equal(sides.size, 1, `seed ${seed}: one lung only`);
  }
});

test('augmentation keeps image and masks aligned and changes intensities as documented', () => {
  const size = 32;
  const mask = new Uint8Array(size * size);
  for (let y = 8; y < 20; y++) for (let x = 4; x < 14; x++) mask[y * size + x] = 1;
  const rng = new Rng(5);
  let mismatched = 0;
  for (let k = 0; k < 20; k++) {
    const m = mask.slice();
    const image = Float32Array.from(m);
    augmentAfterTransform(image, [m], [size, size], rng, { contrast: 0, brightness: 0, noiseStd: 0 });
    for (let i = 0; i < m.length; i++) if ((image[i]! > 0.5 ? 1 : 0) !== m[i]) mismatched++;
  }
  // Only boundary pixels may differ between linear (image) and nearest (mask) sampling.
  assert.ok(mismatched / 20 < 12, `${mismatched / 20} mismatched pixels per sample`);
  // A pure flip (no rotation, no zoom) mirrors both exactly.
  const m = mask.slice();
  const image = Float32Array.from(m);
  let flipped = false;
  for (let seed = 0; !flipped; seed++) {
    const before = m.slice();
    augmentAfterTransform(image, [m], [size, size], new Rng(seed), { maxRotationDeg: 0, scaleRange: [1, 1], contrast: 0, brightness: 0, noiseStd: 0 });
    flipped = m[8 * size + 31 - 4] === 1 && before[8 * size + 4] === 1;
    if (flipped) for (let i = 0; i < m.length; i++) assert.equal(image[i], m[i]);
  }
  // Before the transform: windows and gammas keep [0, 1] and order.
  const ramp = Float32Array.from({ length: 101 }, (_, i) => i / 100);
  augmentBeforeTransform(ramp, new Rng(2), { windowProbability: 1 });
  for (let i = 1; i < ramp.length; i++) assert.ok(ramp[i]! >= ramp[i - 1]! && ramp[i]! >= 0 && ramp[i]! <= 1);
  assert.equal(ramp[100], 1);
});

test('set metrics pool per-sample sums independent of batching', () => {
  const r = (tp: number[], fp: number[], fn: number[], inter: number[], pred: number[], targ: number[]) => ({ loss: 0, tp, fp, fn, intersection: inter, predSum: pred, targetSum: targ });
  const m = setMetrics([r([2, 0], [1, 0], [1, 0], [2, 0.1], [3, 0.2], [3, 0]), r([1], [0], [3], [1], [1], [4])], 0);
  assert.equal(m.dice, (2 * 3) / (2 * 3 + 1 + 4));
  assert.ok(Math.abs(m.loss - (-2 * 3.1) / (4.2 + 7)) < 1e-12);
  assert.deepEqual(m.sampleDice, [4 / 6, 1, 2 / 5]);
});

test('negative slices: every axial slice of a CT, LPS-oriented, with an empty target and a full loss mask', async () => {
  const { loadNegativeSlices } = await import('../../src/train/negative-samples.js');
  const { writeVolume } = await import('../../src/io/index.js');
  const { createVolume } = await import('../../src/volume/volume.js');
  const dir = tmp();
  try {
    // Stored upside down (z towards the feet): slice 0 read back must be the top one in LPS.
    const data = new Int16Array(16 * 16 * 3);
    for (let z = 0; z < 3; z++) data.fill(-1000 + 500 * z, z * 256, z * 256 + 128);
    const path = join(dir, 'abdomen.nii.gz');
    await writeVolume(path, createVolume(data, [16, 16, 3], { direction: [1, 0, 0, 0, 1, 0, 0, 0, -1] }));
    const samples = await loadNegativeSlices([path], { inputSize: 16, transform: 'clahe-v2' });
    assert.equal(samples.length, 3);
    assert.ok(samples.every((s) => s.target.every((v) => v === 0) && s.lossMask.every((v) => v === 1) && s.image.length === 256));
    assert.match(samples[0]!.id, /^negative:.*abdomen\.nii\.gz:z0$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('quarter-turn rotations: counter-clockwise on screen, four turns are the identity', async () => {
  const { rotate90 } = await import('../../src/train/augment.js');
  const table: [number, number[]][] = [[0, [1, 2, 3, 4]], [1, [2, 4, 1, 3]], [2, [4, 3, 2, 1]], [3, [3, 1, 4, 2]], [4, [1, 2, 3, 4]]];
  for (const [turns, expected] of table) {
    const a = Float32Array.from([1, 2, 3, 4]);
    rotate90(a, 2, turns);
    assert.deepEqual(Array.from(a), expected, `${turns} turns`);
  }
});

test('epoch sampling: uniform is a shuffle; case-sqrt weighs a sample by 1/√(its case size), without repeats', async () => {
  const { epochOrder } = await import('../../src/train/sampling.js');
  // Case A has 100 samples, ten cases have one each: under case-sqrt A's total weight equals theirs (10 vs 10).
  const caseIds = [...Array.from({ length: 100 }, () => 'A'), ...Array.from({ length: 10 }, (_, k) => `s${k}`)];
  const set = { spatial: [2, 2], length: caseIds.length, ids: caseIds.map((_, i) => `x${i}`), caseIds, fill() {} };
  const rng = new Rng(11);
  let fromA = 0, drawn = 0;
  for (let epoch = 0; epoch < 200; epoch++) {
    const order = epochOrder(set, 'case-sqrt', 10, rng);
    assert.equal(new Set(order).size, 10, 'no repeats');
    fromA += order.filter((i) => caseIds[i] === 'A').length;
    drawn += order.length;
  }
  const share = fromA / drawn;
  assert.ok(share > 0.4 && share < 0.6, `case A share ${share.toFixed(3)} (uniform would give 0.91)`);
  const uniform = epochOrder(set, 'uniform', 110, new Rng(1));
  assert.deepEqual([...uniform].sort((a, b) => a - b), Array.from({ length: 110 }, (_, i) => i));
});

test("'ends' sampling: the outer 15 % of each case's slices and the negatives are drawn 3× as often; a single-slice case has no ends", async () => {
  const { epochOrder, ENDS_WEIGHT } = await import('../../src/train/sampling.js');
  const { markCaseEnds } = await import('../../src/train/database-samples.js');
  const { loadNegativeSlices } = await import('../../src/train/negative-samples.js');
  const blank = (id: string, caseId: string): StoredSample => ({ id, caseId, image: new Float32Array(4), target: new Uint8Array(4), lossMask: new Uint8Array(4) });
  // Case A: 20 slices in stored order (3 at each end marked), case B: one slice.
  const samples = [...Array.from({ length: 20 }, (_, z) => blank(`A${z}`, 'A')), blank('B0', 'B')];
  markCaseEnds(samples);
  assert.deepEqual(samples.map((s, i) => (s.emphasis ? i : -1)).filter((i) => i >= 0), [0, 1, 2, 17, 18, 19]);
  const set = new StoredSampleSet(samples, [2, 2]);
  const rng = new Rng(3);
  let ends = 0, middle = 0;
  for (let epoch = 0; epoch < 400; epoch++) {
    const order = epochOrder(set, 'ends', 5, rng);
    assert.equal(new Set(order).size, 5, 'no repeats');
    for (const i of order) if (set.emphasised[i]) ends++; else if (i < 20) middle++;
  }
  // Per-slice draw rate of an end slice over a middle one: ENDS_WEIGHT for small draws (here a little under).
  const ratio = (ends / 6) / (middle / 14);
  assert.ok(ratio > 2.2 && ratio < ENDS_WEIGHT + 0.3, `end/middle draw ratio ${ratio.toFixed(2)}`);
  const dicom = resolve('../shared/data/small-ct-volume/example_ct_dicom');
  if (existsSync(dicom)) assert.ok((await loadNegativeSlices([dicom], { inputSize: 32, transform: 'clahe-v1' })).every((s) => s.emphasis));
});

test("'case-sqrt-ends' sampling: case-sqrt's weights, and an emphasised sample (an end, a negative) 3× its case-mates", async () => {
  const { epochOrder, ENDS_WEIGHT } = await import('../../src/train/sampling.js');
  const blank = (id: string, caseId: string, emphasis: boolean): StoredSample => ({ id, caseId, image: new Float32Array(4), target: new Uint8Array(4), lossMask: new Uint8Array(4), emphasis });
  // Case N: 16 negatives, all emphasised (case-sqrt alone: total weight 16/4 = 4); 12 single-slice cases (12).
  const samples = [...Array.from({ length: 16 }, (_, k) => blank(`n${k}`, 'N', true)), ...Array.from({ length: 12 }, (_, k) => blank(`s${k}`, `s${k}`, false))];
  const set = new StoredSampleSet(samples, [2, 2]);
  const share = (mode: 'case-sqrt' | 'case-sqrt-ends'): number => {
    const rng = new Rng(9);
    let negatives = 0, drawn = 0;
    for (let epoch = 0; epoch < 2000; epoch++) {
      const order = epochOrder(set, mode, 2, rng);
      assert.equal(new Set(order).size, 2, 'no repeats');
      negatives += order.filter((i) => i < 16).length;
      drawn += order.length;
    }
    return negatives / drawn;
  };
  // Weights: case-sqrt 4 of 16 → 0.25; case-sqrt-ends 12 of 24 → 0.5 (draws of 2 without repeats shift it a little).
  const plain = share('case-sqrt'), emphasised = share('case-sqrt-ends');
  assert.ok(plain > 0.2 && plain < 0.3, `case-sqrt negative share ${plain.toFixed(3)}`);
  assert.ok(emphasised > 0.44 && emphasised < 0.56, `case-sqrt-ends negative share ${emphasised.toFixed(3)} (weight ${ENDS_WEIGHT})`);
});

test("'lesion' sampling: a slice is drawn more often the more of its lung its lesion fills (1 + 10 × share), on top of 'ends'", async () => {
  const { epochOrder, LESION_SHARE_WEIGHT } = await import('../../src/train/sampling.js');
  const { lesionShare } = await import('../../src/train/database-samples.js');
  // 4 lung pixels, 1 of them lesion; the lesion pixel outside the lung does not count.
  assert.equal(lesionShare([1, 0, 0, 0, 1, 0], [1, 1, 1, 1, 0, 0]), 0.25);
  assert.equal(lesionShare([1, 1], [0, 0]), 0, 'no lung: share 0');
  assert.throws(() => lesionShare([1], [1, 1]), /differ in size/);
  const blank = (id: string, share: number): StoredSample => ({ id, caseId: id, image: new Float32Array(4), target: new Uint8Array(4), lossMask: new Uint8Array(4), lesionShare: share });
  // 10 slices whose lesion fills half the lung, 90 with none.
  const samples = [...Array.from({ length: 10 }, (_, k) => blank(`full${k}`, 0.5)), ...Array.from({ length: 90 }, (_, k) => blank(`clear${k}`, 0))];
  const set = new StoredSampleSet(samples, [2, 2]);
  assert.deepEqual(set.lesionShares.slice(9, 11), [0.5, 0]);
  const rng = new Rng(5);
  let full = 0, clear = 0;
  for (let epoch = 0; epoch < 400; epoch++) {
    const order = epochOrder(set, 'lesion', 5, rng);
    assert.equal(new Set(order).size, 5, 'no repeats');
    for (const i of order) if (i < 10) full++; else clear++;
  }
  const ratio = (full / 10) / (clear / 90), expected = 1 + LESION_SHARE_WEIGHT * 0.5;
  assert.ok(ratio > expected * 0.75 && ratio < expected * 1.1, `lesion/clear draw ratio ${ratio.toFixed(2)}, weight ${expected}`);
  // Without shares (a 3D set, or a lesion task) 'lesion' is 'ends'.
  const plain = new StoredSampleSet([blank('a', 0), blank('b', 0)], [2, 2]);
  assert.equal(epochOrder(plain, 'lesion', 2, new Rng(1)).length, 2);
});

test('covseg train --sources: the one source-name check, as a usage error', async () => {
  const { command } = await import('../../src/cli/commands/train.js');
  await assert.rejects(command.run(['--db', 'db', '--dims', '2', '--out', 'run', '--sources', 'zenodo,kaggle']), (err: Error) =>
    err.name === 'UsageError' && err.message === "--sources: unknown source 'kaggle'; valid sources: mosmed, medseg100, medseg9, zenodo, zenodo-slices, zenodo-slice-stacks, semiseg, semiseg-pseudo, pseudo-labels");
});
