import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  asLps,
  createVolume,
  fromLps,
  IDENTITY_DIRECTION,
  indexToWorld,
  orientationCode,
  reorientToLps,
  undoReorient,
  worldToIndex,
  type Mat3,
  type Vec3,
} from '../../src/volume/index.js';

/** Row-major matrix whose column j is `columns[j]`. */
const fromColumns = (columns: Vec3[]): Mat3 => [0, 1, 2].flatMap((r) => columns.map((col) => col[r]!)) as Mat3;
const unit = (axis: number, sign: number): Vec3 => [0, 1, 2].map((a) => (a === axis ? sign : 0)) as Vec3;

test('orientationCode: the letter each index axis points towards (LPS world)', () => {
  const c = Math.cos(0.35), s = Math.sin(0.35);
  const cases: { name: string; direction: Mat3; code: string }[] = [
    { name: 'identity', direction: IDENTITY_DIRECTION, code: 'LPS' },
    { name: 'NIfTI RAS+ read by ITK', direction: [-1, 0, 0, 0, -1, 0, 0, 0, 1], code: 'RAS' },
    { name: 'radiological NIfTI', direction: [1, 0, 0, 0, -1, 0, 0, 0, 1], code: 'LAS' },
    { name: 'slices stored top down', direction: [1, 0, 0, 0, 1, 0, 0, 0, -1], code: 'LPI' },
    { name: 'sagittal (x→P, y→I, z→L)', direction: fromColumns([[0, 1, 0], [0, 0, -1], [1, 0, 0]]), code: 'PIL' },
    { name: 'coronal (x→L, y→I, z→A)', direction: fromColumns([[1, 0, 0], [0, 0, -1], [0, -1, 0]]), code: 'LIA' },
    { name: '20° oblique axial', direction: [c, -s, 0, s, c, 0, 0, 0, 1], code: 'LPS' },
    // 45° exactly: both columns lean equally on x and y; the assignment stays a permutation.
    { name: '45°', direction: [Math.SQRT1_2, -Math.SQRT1_2, 0, Math.SQRT1_2, Math.SQRT1_2, 0, 0, 0, 1], code: 'LPS' },
  ];
  for (const t of cases) assert.equal(orientationCode(t.direction), t.code, t.name);
});

test('reorientToLps / undoReorient: all 48 axis permutations and flips, also slightly oblique', () => {
  const perms: Vec3[] = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
  const tilt = 0.1;
  const rot: Mat3 = [Math.cos(tilt), -Math.sin(tilt), 0, Math.sin(tilt), Math.cos(tilt), 0, 0, 0, 1];
  const dims: Vec3 = [2, 3, 4];
  const data = new Int16Array(24).map((_, i) => i * 7 - 50);
  let count = 0;
  for (const perm of perms) {
    for (let flips = 0; flips < 8; flips++) {
      // Index axis j points along world axis perm[j], negated when bit j of `flips` is set.
      const columns = perm.map((w, j) => unit(w, flips & (1 << j) ? -1 : 1));
      for (const oblique of [false, true]) {
        let direction = fromColumns(columns);
        if (oblique) direction = [0, 1, 2].flatMap((r) => [0, 1, 2].map((col) => rot[3 * r]! * direction[col]! + rot[3 * r + 1]! * direction[3 + col]! + rot[3 * r + 2]! * direction[6 + col]!)) as Mat3;
        const vol = createVolume(data.slice(), dims, { spacingMm: [0.5, 1.5, 3], origin: [4, -8, 12], direction });
        const { volume, transform } = reorientToLps(vol);
        assert.equal(orientationCode(volume.direction), 'LPS');
        if (!oblique) assert.deepEqual(volume.direction, [...IDENTITY_DIRECTION]);
        assert.deepEqual(volume.dims, [0, 1, 2].map((w) => dims[perm.indexOf(w)]!));
        // Every voxel keeps its world position: the source voxel at the same world point holds the same value.
        for (let z = 0, i = 0; z < volume.dims[2]; z++) for (let y = 0; y < volume.dims[1]; y++) for (let x = 0; x < volume.dims[0]; x++, i++) {
          const q = worldToIndex(vol, indexToWorld(volume, [x, y, z])).map((v) => Math.round(v * 1e6) / 1e6);
          assert.ok(q.every(Number.isInteger));
          assert.equal(volume.data[i], vol.data[q[0]! + dims[0] * (q[1]! + dims[1] * q[2]!)]);
        }
        assert.deepEqual(undoReorient(volume, transform), vol);
        count++;
      }
    }
  }
  assert.equal(count, 96);
});

test('reorientToLps copies the data even when nothing moves', () => {
  const vol = createVolume(new Uint8Array([1, 2]), [2, 1, 1]);
  const { volume, transform } = reorientToLps(vol);
  assert.deepEqual(transform.axes, [0, 1, 2]);
  assert.deepEqual(transform.flips, [false, false, false]);
  volume.data[0] = 9;
  assert.equal(vol.data[0], 1);
});

test('undoReorient errors on a volume of another grid', () => {
  const vol = createVolume(new Uint8Array(6), [1, 2, 3], { direction: fromColumns([unit(2, 1), unit(0, -1), unit(1, 1)]) });
  const { transform } = reorientToLps(vol);
  assert.throws(() => undoReorient(createVolume(new Uint8Array(6), [1, 2, 3]), transform), /volume is \[1, 2, 3\] but the transform expects \[2, 3, 1\]/);
});

test('asLps / fromLps: a volume already in LPS order is read in place and its result not copied back; any other is reoriented as reorientToLps does', () => {
  const lps = createVolume(new Uint8Array([1, 2, 3, 4, 5, 6]), [3, 2, 1], { spacingMm: [0.5, 0.7, 2], origin: [1, 2, 3] });
  const view = asLps(lps);
  assert.equal(view.volume, lps, 'no copy');
  const result = createVolume(new Uint8Array(6).fill(7), view.volume.dims, view.volume);
  assert.equal(fromLps(result, view.transform).data, result.data, 'no copy back');
  for (const direction of [fromColumns([unit(0, -1), unit(1, -1), unit(2, 1)]), fromColumns([unit(1, 1), unit(0, 1), unit(2, 1)])]) {
    const vol = createVolume(new Uint8Array([1, 2, 3, 4, 5, 6]), [3, 2, 1], { spacingMm: [0.5, 0.7, 2], origin: [1, 2, 3], direction });
    const { volume, transform } = asLps(vol);
    assert.deepEqual(volume, reorientToLps(vol).volume);
    assert.notEqual(volume.data, vol.data);
    assert.deepEqual(fromLps(volume, transform), vol);
  }
});
