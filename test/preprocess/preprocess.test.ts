import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVolume, type Vec3 } from '../../src/volume/volume.js';
import { countNonzero } from '../../src/datasets/index.js';
import { AIR_HU, TARGET_DIMS, TARGET_SPACING_MM, preprocessCase, preprocessSlice, toGreyBytes, toMaskBytes } from '../../src/preprocess/index.js';

const close = (a: readonly number[], b: readonly number[], eps = 1e-6) => a.every((v, i) => Math.abs(v - b[i]!) < eps);

test('the method\'s constants: 0.9×0.9×4.5 mm, 320×320×80, air −1024 HU', () => {
  assert.deepEqual(TARGET_SPACING_MM, [0.9, 0.9, 4.5]);
  assert.deepEqual(TARGET_DIMS, [320, 320, 80]);
  assert.equal(AIR_HU, -1024);
});

test('preprocessCase: resampled grid, centre crop/pad box and world position (hand-computed)', () => {
  // 4×4×2 at 1.8×1.8×9 mm → 8×8×4 at 0.9×0.9×4.5 mm; centre crop/pad to 6×6×6: offset [1, 1, −1].
  const ct = createVolume(new Int16Array(32).fill(-500), [4, 4, 2], { spacingMm: [1.8, 1.8, 9] });
  const out = preprocessCase(ct, {}, { dims: [6, 6, 6] });
  assert.deepEqual(out.box.sourceGeometry.dims, [8, 8, 4]);
  assert.deepEqual(out.box.offset, [1, 1, -1]);
  assert.deepEqual(out.box.outputDims, [6, 6, 6]);
  assert.deepEqual(out.image.dims, [6, 6, 6]);
  assert.ok(close(out.image.spacingMm, [0.9, 0.9, 4.5]));
  // Grid centre (2.7, 2.7, 4.5) is kept by resampling: origin = centre − (3.5·0.9, 3.5·0.9, 1.5·4.5)
  // = (−0.45, −0.45, −2.25); the crop moves it by offset·spacing = (+0.9, +0.9, −4.5).
  assert.ok(close(out.box.sourceGeometry.origin, [-0.45, -0.45, -2.25]), `${out.box.sourceGeometry.origin}`);
  assert.ok(close(out.image.origin, [0.45, 0.45, -6.75]), `${out.image.origin}`);
  assert.deepEqual(out.stats.originalGeometry.dims, [4, 4, 2]);
  assert.equal(out.stats.padValue, -1024);
});

test('preprocessCase: [0, 1] from the CT\'s 1st/99th percentiles (numpy linear definition)', () => {
  // Values 0…99 on a grid already at the target spacing: resampling keeps them.
  const values = Int16Array.from({ length: 100 }, (_, i) => (i * 37) % 100);
  const ct = createVolume(values, [10, 10, 1], { spacingMm: [0.9, 0.9, 4.5] });
  const out = preprocessCase(ct, {}, { dims: [10, 10, 1] });
  // p1 = 0.99, p99 = 98.01 (rank 0.99 and 98.01 of 0…99).
  assert.ok(Math.abs(out.stats.lowValue - 0.99) < 1e-9 && Math.abs(out.stats.highValue - 98.01) < 1e-9);
  const table: [number, number][] = [[0, 0], [50, (50 - 0.99) / 97.02], [99, 1]];
  for (const [v, expected] of table) {
    const i = values.indexOf(v);
    assert.ok(Math.abs(out.image.data[i]! - expected) < 1e-6, `value ${v} → ${out.image.data[i]} (expected ${expected})`);
  }
});

test('preprocessCase: padding is −1024 HU for HU CT, the CT minimum otherwise, 0 for masks; a constant CT gives zeros', () => {
  const ct = createVolume(Float32Array.from([10, 20, 30, 40]), [2, 2, 1], { spacingMm: [0.9, 0.9, 4.5] });
  const table: [boolean, number][] = [[true, -1024], [false, 10]];
  for (const [isHu, padValue] of table) {
    const out = preprocessCase(ct, { lesionMask: createVolume(Uint8Array.from([1, 1, 1, 1]), [2, 2, 1], { spacingMm: [0.9, 0.9, 4.5] }) }, { dims: [4, 4, 1], isHu });
    assert.equal(out.stats.padValue, padValue);
    // The 2×2 block sits at offset −1: rows 1–2, columns 1–2 of the 4×4 output.
    assert.deepEqual(Array.from(out.lesionMask!.data), [0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    assert.equal(out.image.data[0], 0, 'padding maps to 0');
  }
  const flat = preprocessCase(createVolume(new Int16Array(8).fill(7), [2, 2, 2], { spacingMm: [0.9, 0.9, 4.5] }), {}, { dims: [2, 2, 2] });
  assert.ok(flat.image.data.every((v) => v === 0), 'constant CT → zeros, not NaN');
});

test('preprocessCase: masks are resampled label-aware (hand-computed vote)', () => {
  // One labelled voxel of a 2×2 grid at 1.8 mm → 4×4 at 0.9 mm: output centres sit at source
  // x = −0.25, 0.25, 0.75, 1.25; label 1 wins where its trilinear weight > ½: x, y ∈ {0, 1}.
  const spacing: Vec3 = [1.8, 1.8, 4.5];
  const ct = createVolume(new Int16Array(4).fill(-1000), [2, 2, 1], { spacingMm: spacing });
  const lesion = createVolume(Uint8Array.from([1, 0, 0, 0]), [2, 2, 1], { spacingMm: spacing });
  const out = preprocessCase(ct, { lesionMask: lesion, lungMask: lesion }, { dims: [4, 4, 1] });
  assert.deepEqual(Array.from(out.lesionMask!.data), [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(countNonzero(out.lungMask!.data), 4);
  assert.equal(out.lungSides, undefined);
});

test('preprocessCase: a reoriented CT keeps its anatomy (x-flipped grid ends up LPS)', () => {
  // Index x points to patient right (−L): the voxel at x = 0 is the leftmost in the world.
  const ct = createVolume(Int16Array.from([100, 0, 0, 0]), [4, 1, 1], { spacingMm: [0.9, 0.9, 4.5], direction: [-1, 0, 0, 0, 1, 0, 0, 0, 1] });
  const out = preprocessCase(ct, {}, { dims: [4, 1, 1] });
  assert.deepEqual(out.image.direction, [1, 0, 0, 0, 1, 0, 0, 0, 1]);
  assert.equal(out.image.data[3], 1, 'the bright voxel is now at the high-x (left) end');
  assert.equal(out.image.data[0], 0);
});

test('preprocessCase: precomputed intensity (from the HU check) replaces the percentile pass', () => {
  const ct = createVolume(Float32Array.from([10, 20, 30, 40]), [2, 2, 1], { spacingMm: [0.9, 0.9, 4.5] });
  const out = preprocessCase(ct, {}, { dims: [2, 2, 1], isHu: false, intensity: { min: 5, low: 20, high: 30 } });
  assert.deepEqual([out.stats.lowValue, out.stats.highValue, out.stats.padValue], [20, 30, 5]);
  assert.deepEqual(Array.from(out.image.data), [0, 0, 1, 1]);
});

test('preprocessCase errors', () => {
  const ct = createVolume(new Int16Array(8), [2, 2, 2]);
  assert.throws(() => preprocessCase(ct, { lesionMask: createVolume(new Uint8Array(4), [2, 2, 1]) }), /preprocessCase: lesionMask grid \[2×2×1\] differs from the CT's \[2×2×2\]; bring it onto the CT's grid first/);
  assert.throws(() => preprocessCase(ct, {}, { lowPercentile: 99, highPercentile: 1 }), /percentiles must satisfy 0 ≤ low < high ≤ 100, got 99 and 1/);
});

test('preprocessSlice: own percentiles, pad to a centred square, resize (bilinear image, nearest masks)', () => {
  // 4×2 slice → 4×4 square (one padded row above, one below) → 8×8.
  const slice = createVolume(Uint8Array.from([0, 10, 20, 30, 40, 50, 60, 70]), [4, 2, 1]);
  const lesion = createVolume(Uint8Array.from([0, 0, 0, 1, 0, 0, 0, 0]), [4, 2, 1]);
  const out = preprocessSlice(slice, { lesionMask: lesion }, { size: 8 });
  assert.deepEqual(out.image.dims, [8, 8, 1]);
  assert.equal(out.scale, 2);
  assert.deepEqual(out.squareBox.offset, [0, -1, 0]);
  // p1 = 0.7, p99 = 69.3 of the 8 values.
  assert.ok(Math.abs(out.lowValue - 0.7) < 1e-9 && Math.abs(out.highValue - 69.3) < 1e-9);
  // Mask pixel (3, 0) → square (3, 1) → output x ∈ {6, 7}, y ∈ {2, 3}.
  const on: number[] = [];
  out.lesionMask!.data.forEach((v, i) => v && on.push(i));
  assert.deepEqual(on, [2 * 8 + 6, 2 * 8 + 7, 3 * 8 + 6, 3 * 8 + 7]);
  // Rows 0 and 7 are padding: 0 after normalisation.
  assert.ok(out.image.data.subarray(0, 8).every((v) => v === 0) && out.image.data.subarray(56).every((v) => v === 0));
  // Pixel (7, 4) samples square column 3 between rows 1 and 2 (weights ¼, ¾): original (3, 0) = 30 → (30 − 0.7)/68.6,
  // and (3, 1) = 70, above p99 → 1.
  assert.ok(Math.abs(out.image.data[4 * 8 + 7]! - (0.25 * (29.3 / 68.6) + 0.75)) < 1e-6, `${out.image.data[4 * 8 + 7]}`);
  assert.throws(() => preprocessSlice(createVolume(new Uint8Array(8), [2, 2, 2])), /preprocessSlice: expected one slice \(nz = 1\), got dims \[2×2×2\]/);
  assert.throws(() => preprocessSlice(slice, { lungMask: createVolume(new Uint8Array(4), [2, 2, 1]) }), /preprocessSlice: lungMask is 2×2×1, the slice 4×2×1; masks must be on the slice's grid/);
});

test('2D database encodings: grey = round(v × 255) clipped; masks 0/255', () => {
  assert.deepEqual(Array.from(toGreyBytes(Float32Array.from([-0.1, 0, 0.5, 1 / 255, 0.999, 1, 2]))), [0, 0, 128, 1, 255, 255, 255]);
  assert.deepEqual(Array.from(toMaskBytes(Uint8Array.from([0, 1, 2, 0]))), [0, 255, 255, 0]);
});
