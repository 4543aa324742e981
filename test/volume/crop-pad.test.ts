import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  boundingBox,
  centreCropOrPad,
  createVolume,
  cropToBox,
  indexToWorld,
  pasteBack,
  type Mat3,
  type Vec3,
  type Volume,
} from '../../src/volume/index.js';

const c = Math.cos(0.3), s = Math.sin(0.3);
const OBLIQUE: Mat3 = [c, -s, 0, s, c, 0, 0, 0, 1];
const near = (a: Vec3, b: Vec3) => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-9, `${a} vs ${b}`));

/** Every output voxel sits at the world position of source voxel p + offset. */
function assertWorldKept(out: Volume, src: Volume, offset: Vec3): void {
  for (const p of [[0, 0, 0], [out.dims[0] - 1, out.dims[1] - 1, out.dims[2] - 1], [1, 0, 0]] as Vec3[]) {
    near(indexToWorld(out, p), indexToWorld(src, [p[0] + offset[0], p[1] + offset[1], p[2] + offset[2]]));
  }
}

test('centreCropOrPad: offset per axis, extra voxel on the high side', () => {
  const cases: { from: number; to: number; offset: number }[] = [
    { from: 5, to: 3, offset: 1 },
    { from: 5, to: 2, offset: 1 }, // crop 3: 1 low, 2 high
    { from: 4, to: 1, offset: 1 },
    { from: 4, to: 4, offset: 0 },
    { from: 2, to: 3, offset: 0 }, // pad 1: on the high side (and 0, not −0)
    { from: 2, to: 5, offset: -1 }, // pad 3: 1 low, 2 high
    { from: 3, to: 6, offset: -1 },
    { from: 1, to: 4, offset: -1 },
  ];
  for (const t of cases) {
    const vol = createVolume(new Int16Array(t.from), [t.from, 1, 1]);
    assert.deepEqual(centreCropOrPad(vol, [t.to, 1, 1]).box.offset, [t.offset, 0, 0], `${t.from} → ${t.to}`);
  }
});

test('centreCropOrPad: a 3×3 crop from 5×5 and a pad, with data, origin and default pad value', () => {
  const vol = createVolume(new Int16Array(25).map((_, i) => i), [5, 5, 1], { spacingMm: [2, 3, 1], origin: [10, 20, 30] });
  const { volume, box } = centreCropOrPad(vol, [3, 3, 1]);
  assert.deepEqual([...volume.data], [6, 7, 8, 11, 12, 13, 16, 17, 18]);
  assert.deepEqual(volume.origin, [12, 23, 30]);
  assert.deepEqual(box.offset, [1, 1, 0]);
  assert.deepEqual(box.outputDims, [3, 3, 1]);
  assert.ok(volume.data instanceof Int16Array);

  const small = createVolume(new Int16Array([5, -3, 7, 9]), [2, 2, 1], { spacingMm: [2, 2, 2] });
  const padded = centreCropOrPad(small, [3, 4, 1]).volume; // pad x: 0 low, 1 high; y: 1 low, 1 high; default pad = min = −3
  assert.deepEqual([...padded.data], [-3, -3, -3, 5, -3, -3, 7, 9, -3, -3, -3, -3]);
  assert.deepEqual(padded.origin, [0, -2, 0]);
  assert.deepEqual([...centreCropOrPad(small, [3, 2, 1], { padValue: 0 }).volume.data], [5, -3, 0, 7, 9, 0]);
});

test('crop → pasteBack → crop is the identity, and every voxel keeps its world position (oblique grid)', () => {
  const vol = createVolume(new Float32Array(6 * 5 * 4).map((_, i) => i + 1), [6, 5, 4], { spacingMm: [0.8, 0.9, 2.5], origin: [-5, 7, 11], direction: OBLIQUE });
  for (const dims of [[4, 3, 2], [8, 5, 7], [3, 9, 4]] as Vec3[]) {
    const { volume, box } = centreCropOrPad(vol, dims, { padValue: -1 });
    assertWorldKept(volume, vol, box.offset);
    const back = pasteBack(volume, box);
    assert.deepEqual(back.dims, vol.dims);
    assert.deepEqual(back.origin, vol.origin);
    assert.deepEqual(back.direction, vol.direction);
    // Kept voxels come back unchanged, cropped-away ones are 0.
    for (let z = 0, i = 0; z < 4; z++) for (let y = 0; y < 5; y++) for (let x = 0; x < 6; x++, i++) {
      const p = [x - box.offset[0], y - box.offset[1], z - box.offset[2]];
      const inside = p.every((v, a) => v >= 0 && v < dims[a]!);
      assert.equal(back.data[i], inside ? vol.data[i] : 0);
    }
    assert.deepEqual(centreCropOrPad(back, dims, { padValue: -1 }).volume, volume);
  }
  const { volume, box } = centreCropOrPad(vol, [2, 2, 2]);
  assert.equal(pasteBack(volume, box, { fillValue: -9 }).data[0], -9);
});

test('boundingBox: end-exclusive box of nonzero voxels; empty mask → { empty: true }', () => {
  const mask = new Uint8Array(4 * 3 * 2);
  mask[1 + 4 * (1 + 3 * 0)] = 1; // (1, 1, 0)
  mask[2 + 4 * (2 + 3 * 1)] = 3; // (2, 2, 1)
  assert.deepEqual(boundingBox(mask, [4, 3, 2]), { empty: false, lo: [1, 1, 0], hi: [3, 3, 2] });
  assert.deepEqual(boundingBox(new Uint8Array(24), [4, 3, 2]), { empty: true });
  assert.deepEqual(boundingBox(new Int16Array([0, 0, -5]), [3, 1, 1]), { empty: false, lo: [2, 0, 0], hi: [3, 1, 1] });
});

test('cropToBox: data, geometry and paste back', () => {
  const vol = createVolume(new Uint8Array(24).map((_, i) => i), [4, 3, 2], { spacingMm: [1, 2, 3], origin: [1, 1, 1], direction: OBLIQUE });
  const { volume, box } = cropToBox(vol, [1, 1, 0], [3, 3, 2]);
  assert.deepEqual(volume.dims, [2, 2, 2]);
  assert.deepEqual([...volume.data], [5, 6, 9, 10, 17, 18, 21, 22]);
  assertWorldKept(volume, vol, [1, 1, 0]);
  assert.deepEqual([...pasteBack(volume, box).data], [0, 0, 0, 0, 0, 5, 6, 0, 0, 9, 10, 0, 0, 0, 0, 0, 0, 17, 18, 0, 0, 21, 22, 0]);
});

test('crop-pad errors', () => {
  const vol = createVolume(new Uint8Array(24), [4, 3, 2]);
  assert.throws(() => cropToBox(vol, [0, 0, 0], [5, 3, 2]), /box \[0, 0, 0\]–\[5, 3, 2\] does not fit the grid \[4, 3, 2\]/);
  assert.throws(() => cropToBox(vol, [1, 0, 0], [1, 3, 2]), /0 ≤ lo < hi ≤ dims/);
  const { volume, box } = centreCropOrPad(vol, [2, 2, 2]);
  assert.throws(() => pasteBack(createVolume(new Uint8Array(8), [2, 4, 1]), box), /volume is \[2, 4, 1\] but the box was made for \[2, 2, 2\]/);
  assert.ok(volume);
  assert.throws(() => centreCropOrPad(vol, [0, 2, 2]), /centreCropOrPad: dims must be three positive integers/);
  assert.throws(() => boundingBox(new Uint8Array(3), [2, 2, 1]), /boundingBox: mask has 3 voxels/);
});
