import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createVolume,
  indexToWorld,
  physicalCentre,
  resample,
  resampledGeometry,
  resampleToGrid,
  type Interpolation,
  type Mat3,
  type Vec3,
  type VolumeGeometry,
} from '../../src/volume/index.js';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `voxel ${i}: ${a[i]} vs ${b[i]}`);
};

/** A single target voxel at world point `p` (identity direction). */
const pointGrid = (p: Vec3): VolumeGeometry => ({ dims: [1, 1, 1], spacingMm: [1, 1, 1], origin: p, direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] });

test('resample: 2×2×2 ramp at 2 mm → 1 mm (centre kept, edges clamped within half a voxel)', () => {
  // v = x + 2y + 4z. New grid 4³, origin −0.5: samples at source index −0.25, 0.25, 0.75, 1.25 → clamped 0, .25, .75, 1.
  const data = new Int16Array(8).map((_, i) => (i & 1) + 2 * ((i >> 1) & 1) + 4 * (i >> 2));
  const vol = createVolume(data, [2, 2, 2], { spacingMm: [2, 2, 2] });
  const out = resample(vol, { spacingMm: [1, 1, 1] });
  assert.deepEqual(out.dims, [4, 4, 4]);
  assert.deepEqual(out.origin, [-0.5, -0.5, -0.5]);
  assert.ok(out.data instanceof Float32Array);
  const f = [0, 0.25, 0.75, 1];
  const expected: number[] = [];
  for (let z = 0; z < 4; z++) for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) expected.push(f[x]! + 2 * f[y]! + 4 * f[z]!);
  close(out.data, expected);
});

test('resample: downsampling 4 voxels at 1 mm → 2 voxels at 2 mm', () => {
  const vol = createVolume(new Float32Array([0, 10, 20, 30]), [4, 1, 1]);
  const out = resample(vol, { spacingMm: [2, 1, 1] });
  assert.deepEqual(out.dims, [2, 1, 1]);
  assert.deepEqual(out.origin, [0.5, 0, 0]);
  close(out.data, [5, 25]);
});

test('resample: dims = max(1, round(n·s/s′)) and the physical centre is kept, also oblique', () => {
  const c = Math.cos(0.4), s = Math.sin(0.4);
  const cases: { dims: Vec3; spacing: Vec3; to: Vec3; dimsOut: Vec3; direction: Mat3 }[] = [
    { dims: [512, 512, 300], spacing: [0.7, 0.7, 1.5], to: [0.9, 0.9, 4.5], dimsOut: [398, 398, 100], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] },
    { dims: [512, 512, 40], spacing: [0.8, 0.8, 8], to: [0.9, 0.9, 4.5], dimsOut: [455, 455, 71], direction: [-1, 0, 0, 0, -1, 0, 0, 0, 1] },
    { dims: [3, 5, 1], spacing: [1, 1, 1], to: [10, 10, 10], dimsOut: [1, 1, 1], direction: [c, -s, 0, s, c, 0, 0, 0, 1] },
  ];
  for (const t of cases) {
    const geom: VolumeGeometry = { dims: t.dims, spacingMm: t.spacing, origin: [-12.3, 45.6, -7.8], direction: t.direction };
    const out = resampledGeometry(geom, t.to);
    assert.deepEqual(out.dims, t.dimsOut);
    assert.deepEqual(out.direction, t.direction);
    close(physicalCentre(out), physicalCentre(geom), 1e-9);
  }
});

test('resampleToGrid: border rule, clamp within half a voxel, fill beyond', () => {
  const vol = createVolume(new Float32Array([1, 2, 3]), [3, 1, 1]);
  const cases: [number, number][] = [
    [-0.5, 1], // on the outer face of voxel 0: clamped
    [-0.4, 1],
    [-0.6, -7], // beyond: fill
    [1.5, 2.5],
    [2.5, 3],
    [2.6, -7],
  ];
  for (const [x, expected] of cases) {
    const out = resampleToGrid(vol, pointGrid([x, 0, 0]), { fillValue: -7 });
    assert.equal(out.data[0], expected, `x = ${x}`);
  }
});

test('resampleToGrid: default fill is the input minimum for linear, 0 for nearest and label', () => {
  const vol = createVolume(new Int16Array([-1024, 5, 7]), [3, 1, 1]);
  const cases: [Interpolation, number][] = [['linear', -1024], ['nearest', 0], ['label', 0]];
  for (const [interpolation, fill] of cases) {
    if (interpolation === 'label') {
      const labels = createVolume(new Uint8Array([1, 2, 3]), [3, 1, 1]);
      assert.equal(resampleToGrid(labels, pointGrid([5, 0, 0]), { interpolation }).data[0], fill);
    } else {
      assert.equal(resampleToGrid(vol, pointGrid([5, 0, 0]), { interpolation }).data[0], fill, interpolation);
    }
  }
});

test('resampleToGrid: label vote with known trilinear weights, nearest and linear at the same points', () => {
  // 2×2 labels: (0,0)=1, (1,0)=2, (0,1)=2, (1,1)=0.
  const square = createVolume(new Uint8Array([1, 2, 2, 0]), [2, 2, 1]);
  const pair = createVolume(new Uint8Array([1, 3]), [2, 1, 1]);
  const cases: { vol: typeof square; p: Vec3; label: number; nearest: number; linear: number }[] = [
    // weights .5625 (1), .1875 + .1875 (2), .0625 (0) → 1
    { vol: square, p: [0.25, 0.25, 0], label: 1, nearest: 1, linear: 0.5625 + 2 * 0.375 },
    // .25 each: label 2 sums .5 → 2
    { vol: square, p: [0.5, 0.5, 0], label: 2, nearest: 0, linear: 1.25 },
    // (0,0) .1875 → 1; (1,0) .5625 + (0,1) .0625 → 2 (.625); (1,1) .1875 → 0
    { vol: square, p: [0.75, 0.25, 0], label: 2, nearest: 2, linear: 0.1875 + 2 * 0.625 },
    // majority: 1 has .36, 2 has .24 + .24 + .16 = .64 → 2, where nearest picks the single closest voxel (1)
    { vol: createVolume(new Uint8Array([1, 2, 2, 2]), [2, 2, 1]), p: [0.4, 0.4, 0], label: 2, nearest: 1, linear: 0.36 + 2 * 0.64 },
    // tie .5/.5 → lower label; nearest rounds halves up; linear is the mean
    { vol: pair, p: [0.5, 0, 0], label: 1, nearest: 3, linear: 2 },
  ];
  for (const t of cases) {
    const label = resampleToGrid(t.vol, pointGrid(t.p), { interpolation: 'label' });
    const nearest = resampleToGrid(t.vol, pointGrid(t.p), { interpolation: 'nearest' });
    const linear = resampleToGrid(t.vol, pointGrid(t.p), { interpolation: 'linear' });
    assert.ok(label.data instanceof Uint8Array && nearest.data instanceof Uint8Array && linear.data instanceof Float32Array);
    assert.equal(label.data[0], t.label, `label at ${t.p}`);
    assert.equal(nearest.data[0], t.nearest, `nearest at ${t.p}`);
    assert.ok(Math.abs(linear.data[0]! - t.linear) < 1e-6, `linear at ${t.p}: ${linear.data[0]}`);
  }
});

test('resample: label vote along whole rows (ties → lower label)', () => {
  // A 1-voxel-thick line at x = 1 in a 4-voxel row, resampled to 2 voxels at 2 mm: samples at x = 0.5 and 2.5.
  const row = createVolume(new Uint8Array([0, 1, 0, 0]), [4, 1, 1]);
  assert.deepEqual([...resample(row, { spacingMm: [2, 1, 1], interpolation: 'label' }).data], [0, 0]); // tie 0/1 → 0
  const thick = createVolume(new Uint8Array([0, 1, 1, 0, 0, 0]), [6, 1, 1]); // samples at 0.5 (tie → 0), 2.5 (1 vs 0: tie → 0), 4.5 → 0
  assert.deepEqual([...resample(thick, { spacingMm: [2, 1, 1], interpolation: 'label' }).data], [0, 0, 0]);
  const labels = createVolume(new Uint8Array([2, 2, 1, 1, 1, 0]), [6, 1, 1]); // 3 mm: samples at 1 (2), 4 (1)
  assert.deepEqual([...resample(labels, { spacingMm: [3, 1, 1], interpolation: 'label' }).data], [2, 1]);
});

test('resampleToGrid: nearest keeps the array type', () => {
  const vol = createVolume(new Int16Array([-1000, 40, 500, 7]), [4, 1, 1]);
  const out = resample(vol, { spacingMm: [2, 1, 1], interpolation: 'nearest' });
  assert.ok(out.data instanceof Int16Array);
  assert.deepEqual([...out.data], [40, 7]); // samples at 0.5 → 1, 2.5 → 3
});

test('resampleToGrid: oblique source reproduces a linear function of world position (general path)', () => {
  const c = Math.cos(0.5), s = Math.sin(0.5);
  const direction: Mat3 = [c, -s, 0, s, c, 0, 0, 0, 1];
  const dims: Vec3 = [12, 12, 6];
  const src = createVolume(new Float64Array(12 * 12 * 6), dims, { spacingMm: [1.5, 1.2, 2], origin: [3, -4, 10], direction });
  const f = (w: Vec3) => 2 * w[0] - 3 * w[1] + 0.5 * w[2] + 7;
  for (let z = 0, i = 0; z < 6; z++) for (let y = 0; y < 12; y++) for (let x = 0; x < 12; x++, i++) src.data[i] = f(indexToWorld(src, [x, y, z]));
  // An axis-aligned 4×4×3 grid well inside the rotated source.
  const target: VolumeGeometry = { dims: [4, 4, 3], spacingMm: [1, 1, 2], origin: [6, 2, 13], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
  const out = resampleToGrid(src, target);
  const expected: number[] = [];
  for (let z = 0; z < 3; z++) for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) expected.push(f(indexToWorld(target, [x, y, z])));
  close(out.data, expected, 1e-3);
});

test('resampleToGrid: a transposed target grid (x ↔ y) gives the transposed data exactly', () => {
  const data = new Uint8Array([1, 2, 3, 4, 5, 6]); // 3 × 2: rows [1 2 3], [4 5 6]
  const vol = createVolume(data, [3, 2, 1]);
  const target: VolumeGeometry = { dims: [2, 3, 1], spacingMm: [1, 1, 1], origin: [0, 0, 0], direction: [0, 1, 0, 1, 0, 0, 0, 0, 1] };
  for (const interpolation of ['linear', 'nearest', 'label'] as const) {
    assert.deepEqual([...resampleToGrid(vol, target, { interpolation }).data], [1, 4, 2, 5, 3, 6], interpolation);
  }
});

test('resample errors name the problem and the fix', () => {
  const vol = createVolume(new Int16Array(8), [2, 2, 2]);
  assert.throws(() => resample(vol, { spacingMm: [0.9, 0, 4.5] }), /spacingMm must be three positive numbers/);
  assert.throws(() => resample(vol, undefined as unknown as { spacingMm: Vec3 }), /options.spacingMm is required/);
  assert.throws(() => resample(vol, { spacingMm: [1, 1, 1], interpolation: 'cubic' as Interpolation }), /'cubic' is not one of linear, nearest, label/);
  assert.throws(
    () => resampleToGrid(createVolume(new Int16Array([0, 300]), [2, 1, 1]), pointGrid([0, 0, 0]), { interpolation: 'label' }),
    /needs integer labels 0–255, found 300/,
  );
  assert.throws(() => resampleToGrid(vol, { ...pointGrid([0, 0, 0]), dims: [0, 1, 1] }), /target dims must be three positive integers/);
});
