import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVolume, indexToWorld, worldToIndex, type Mat3 } from '../../src/volume/volume.js';
import { loadSegmentationModel } from '../../src/infer/segmentation-model.js';
import { predictSlices, threshold } from '../../src/infer/slice-inferer.js';
import { predictVolume3d } from '../../src/infer/volume-inferer.js';
import { readModelSpec, specToMetadata, type ModelSpec } from '../../src/infer/model-spec.js';
import { Rng } from '../../src/util/random.js';
import { tinyModel } from '../helpers/tiny-models.js';

const spec2d: ModelSpec = { task: 'lesion', dims: 2, inputSize: 32, inputTransform: 'clahe-v2', threshold: 0.5 };

function noise(n: number, seed: number): Int16Array {
  const rng = new Rng(seed);
  return Int16Array.from({ length: n }, () => Math.round(-1000 + 1200 * rng.next()));
}

test('2D inference gives the same answer at the same world position whatever the storage orientation', async () => {
  const model = await loadSegmentationModel(tinyModel(spec2d), { threads: 1 });
  const [nx, ny, nz] = [40, 36, 3];
  const lps = createVolume(noise(nx * ny * nz, 1), [nx, ny, nz], { spacingMm: [0.8, 0.8, 2], origin: [-16, -14, 0] });
  // The same voxels stored x-mirrored and z-mirrored (as a RAS-style file would hold them).
  const flippedData = new Int16Array(lps.data.length);
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) flippedData[(nz - 1 - z) * nx * ny + y * nx + (nx - 1 - x)] = lps.data[z * nx * ny + y * nx + x]!;
  const direction: Mat3 = [-1, 0, 0, 0, 1, 0, 0, 0, -1];
  const flipped = createVolume(flippedData, [nx, ny, nz], { spacingMm: [0.8, 0.8, 2], origin: indexToWorld(lps, [nx - 1, 0, nz - 1]), direction });
  const a = await predictSlices(model, lps);
  const b = await predictSlices(model, flipped);
  assert.deepEqual(b.dims, flipped.dims);
  assert.deepEqual(b.direction, flipped.direction);
  let maxDiff = 0;
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
    const [i, j, k] = worldToIndex(flipped, indexToWorld(lps, [x, y, z])).map(Math.round) as [number, number, number];
    maxDiff = Math.max(maxDiff, Math.abs(a.data[z * nx * ny + y * nx + x]! - b.data[k * nx * ny + j * nx + i]!));
  }
  assert.ok(maxDiff < 1e-6, `max difference ${maxDiff}`);
});

test('2D inference runs only the listed slices and batches do not change the result', async () => {
  const model = await loadSegmentationModel(tinyModel(spec2d), { threads: 1 });
  const ct = createVolume(noise(32 * 32 * 5, 2), [32, 32, 5]);
  const all = await predictSlices(model, ct, { batchSize: 2 });
  const one = await predictSlices(model, ct, { batchSize: 5 });
  assert.deepEqual(all.data, one.data);
  const some = await predictSlices(model, ct, { slices: [1, 3] });
  const plane = 32 * 32;
  for (const z of [0, 2, 4]) assert.ok(some.data.subarray(z * plane, (z + 1) * plane).every((v) => v === 0), `slice ${z} not run`);
  for (const z of [1, 3]) assert.deepEqual(some.data.subarray(z * plane, (z + 1) * plane), all.data.subarray(z * plane, (z + 1) * plane));
  const mask = threshold(all, 0.5);
  assert.equal(mask.data.filter((v, i) => v !== (all.data[i]! > 0.5 ? 1 : 0)).length, 0);
});

test('3D inference returns probabilities on the CT grid, zero outside the 320×320×80 box it ran on', async () => {
  const model = await loadSegmentationModel(tinyModel({ ...spec2d, dims: 3, inputSize: 320, inputTransform: 'method-3d' }, { baseFilters: 2, depth: 2 }), { threads: 2 });
  // 360×340×100 voxels at exactly the target spacing: the box crops 20 / 10 / 10 voxels per side.
  const ct = createVolume(noise(360 * 340 * 100, 3), [360, 340, 100], { spacingMm: [0.9, 0.9, 4.5], origin: [-160, -150, -200] });
  const prob = await predictVolume3d(model, ct);
  assert.deepEqual(prob.dims, ct.dims);
  assert.deepEqual(prob.origin, ct.origin);
  const at = (x: number, y: number, z: number) => prob.data[z * 360 * 340 + y * 360 + x]!;
  assert.equal(at(5, 170, 50), 0, 'left of the box');
  assert.equal(at(180, 3, 50), 0, 'in front of the box');
  assert.equal(at(180, 170, 2), 0, 'below the box');
  assert.ok(at(180, 170, 50) > 0, 'inside the box');
  await assert.rejects(predictVolume3d(await loadSegmentationModel(tinyModel(spec2d)), ct), /predictVolume3d needs a 3D model, this one is 2D/);
});

test('model spec: what a covseg model says about itself, and the errors for files that do not', () => {
  assert.deepEqual(readModelSpec(specToMetadata(spec2d), 'm.onnx'), spec2d);
  const { 'covseg.threshold': _t, ...older } = specToMetadata(spec2d);
  assert.equal(readModelSpec(older, 'm.onnx').threshold, 0.5, 'a file that predates the threshold key');
  const meta = specToMetadata(spec2d);
  const cases: [Record<string, string>, RegExp][] = [
    [{}, /m\.onnx: not a covseg model: metadata key 'covseg\.task' is missing \(found: none\)/],
    [{ ...meta, 'covseg.task': 'liver' }, /'covseg\.task' is 'liver', expected 'lesion' or 'lung'/],
    [{ ...meta, 'covseg.dims': '4' }, /'covseg\.dims' is '4', expected 2 or 3/],
    [{ ...meta, 'covseg.inputTransform': 'zscore' }, /'covseg\.inputTransform' is 'zscore', expected one of clahe-v1, clahe-v2, method-3d/],
    [{ ...meta, 'covseg.inputSize': '0' }, /m\.onnx: key 'covseg\.inputSize' is '0', expected a positive integer; export models with 'covseg train'$/],
    [{ ...meta, 'covseg.threshold': '1' }, /'covseg\.threshold' is '1', expected a number in \(0, 1\)/],
    [{ ...meta, 'covseg.dims': undefined as unknown as string }, /m\.onnx: missing key 'covseg\.dims' \(2 or 3\)/],
  ];
  for (const [m, message] of cases) assert.throws(() => readModelSpec(m, 'm.onnx'), message);
});

test('quarter turns of a slice: four make the identity, geometry only for scans that have it', async () => {
  const { quarterTurn, hasNoGeometry } = await import('../../src/infer/slice-orientation.js');
  const slice = createVolume(Uint8Array.from([1, 2, 3, 4, 5, 6]), [3, 2, 1], { spacingMm: [0.5, 0.8, 1] });
  const once = quarterTurn(slice, 1);
  assert.deepEqual(once.dims, [2, 3, 1]);
  assert.deepEqual(once.spacingMm, [0.8, 0.5, 1]);
  // [[1 2 3] [4 5 6]] turned counter-clockwise: [[3 6] [2 5] [1 4]].
  assert.deepEqual(Array.from(once.data), [3, 6, 2, 5, 1, 4]);
  assert.deepEqual(Array.from(quarterTurn(quarterTurn(slice, 3), 1).data), Array.from(slice.data));
  assert.deepEqual(Array.from(quarterTurn(once, -1).data), Array.from(slice.data));
  assert.equal(quarterTurn(slice, 4), slice, 'zero turns keep the volume and its geometry');
  assert.equal(hasNoGeometry(createVolume(new Uint8Array(4), [2, 2, 1])), true);
  assert.equal(hasNoGeometry(slice), false);
  assert.equal(hasNoGeometry(createVolume(new Uint8Array(8), [2, 2, 2])), false);
});

test('a non-square slice is read as the centred square the database would make of it', async () => {
  const { centreCropOrPad } = await import('../../src/volume/index.js');
  const model = await loadSegmentationModel(tinyModel(spec2d), { threads: 1 });
  const data = noise(40 * 25, 8);
  const slice = createVolume(data, [40, 25, 1]);
  const min = data.reduce((a, v) => Math.min(a, v), Infinity);
  const { volume: square } = centreCropOrPad(slice, [40, 40, 1], { padValue: min });
  const onSlice = await predictSlices(model, slice);
  const onSquare = await predictSlices(model, createVolume(Int16Array.from(square.data), [40, 40, 1]));
  // Padding of 15 rows: 7 above, 8 below (the extra one on the high side).
  for (let y = 0; y < 25; y++) {
    for (let x = 0; x < 40; x++) assert.ok(Math.abs(onSlice.data[y * 40 + x]! - onSquare.data[(y + 7) * 40 + x]!) < 1e-6, `(${x}, ${y})`);
  }
});

test('test-time flips: one mirror is plain predictSlices bit for bit; four average the mirrored runs, and each mirror\'s mask comes back as its bit', async () => {
  const { predictSlicesFlipped, TTA_FLIPS } = await import('../../src/infer/slice-inferer.js');
  const model = await loadSegmentationModel(tinyModel(spec2d), { threads: 1 });
  const ct = createVolume(noise(32 * 32 * 2, 4), [32, 32, 2]);
  const plain = await predictSlices(model, ct);
  assert.deepEqual((await predictSlicesFlipped(model, ct, { flips: [0] })).probability.data, plain.data);
  // The mirror-x run by hand: mirror the CT's columns, predict, mirror back.
  const [nx, ny] = [32, 32];
  const mirrored = new Int16Array(ct.data.length);
  for (let z = 0; z < 2; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) mirrored[z * nx * ny + y * nx + x] = ct.data[z * nx * ny + y * nx + (nx - 1 - x)] as number;
  const byHand = await predictSlices(model, createVolume(mirrored, ct.dims, ct));
  const x1 = await predictSlicesFlipped(model, ct, { flips: [1], memberThreshold: 0.5 });
  let maxDiff = 0;
  for (let z = 0; z < 2; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) maxDiff = Math.max(maxDiff, Math.abs(x1.probability.data[z * nx * ny + y * nx + x]! - byHand.data[z * nx * ny + y * nx + (nx - 1 - x)]!));
  // Mirroring the model input equals mirroring the CT up to the input transform's (CLAHE's tiles') own asymmetry.
  assert.ok(maxDiff < 0.1, `max difference ${maxDiff}`);
  const all = await predictSlicesFlipped(model, ct, { flips: TTA_FLIPS, memberThreshold: 0.5 });
  const zero = await predictSlicesFlipped(model, ct, { flips: [0], memberThreshold: 0.5 });
  const each = await Promise.all(([1, 2, 3] as const).map((f) => predictSlicesFlipped(model, ct, { flips: [f] })));
  for (let i = 0; i < plain.data.length; i += 37) {
    const mean = (plain.data[i]! + each[0]!.probability.data[i]! + each[1]!.probability.data[i]! + each[2]!.probability.data[i]!) / 4;
    assert.ok(Math.abs(all.probability.data[i]! - mean) < 1e-6, `voxel ${i}`);
  }
  for (let i = 0; i < plain.data.length; i++) {
    assert.equal(all.members!.data[i]! & 1, zero.members!.data[i]!, `voxel ${i}`);
    assert.equal(zero.members!.data[i]!, plain.data[i]! > 0.5 ? 1 : 0);
  }
});
