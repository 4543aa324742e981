import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVolume, geometryOf, getSlice, indexToWorld, setSlice, stackSlices, type Mat3 } from '../../src/volume/index.js';

const c = Math.cos(0.2), s = Math.sin(0.2);
const direction: Mat3 = [c, 0, s, 0, 1, 0, -s, 0, c];
const vol = createVolume(new Int16Array(2 * 3 * 4).map((_, i) => i), [2, 3, 4], { spacingMm: [1, 2, 3], origin: [5, 6, 7], direction });

test('getSlice: data and geometry of slice z', () => {
  for (const z of [0, 2, 3]) {
    const slice = getSlice(vol, z);
    assert.deepEqual(slice.dims, [2, 3, 1]);
    assert.deepEqual([...slice.data], [0, 1, 2, 3, 4, 5].map((i) => i + 6 * z));
    assert.deepEqual(slice.origin, indexToWorld(vol, [0, 0, z]));
    assert.deepEqual(slice.direction, direction);
    assert.ok(slice.data instanceof Int16Array);
  }
  const slice = getSlice(vol, 1);
  slice.data[0] = 99;
  assert.equal(vol.data[6], 6); // a copy
});

test('stackSlices(getSlice(v, z) for every z) rebuilds v; setSlice writes in place', () => {
  const slices = [0, 1, 2, 3].map((z) => getSlice(vol, z));
  assert.deepEqual(stackSlices(slices, geometryOf(vol)), vol);
  const plain = stackSlices([0, 1, 2, 3].map((z) => new Int16Array(6).fill(z)), geometryOf(vol));
  assert.deepEqual([...plain.data.subarray(6, 12)], [1, 1, 1, 1, 1, 1]);
  const target = createVolume(new Float32Array(24), [2, 3, 4]);
  setSlice(target, 2, getSlice(vol, 1));
  assert.deepEqual([...target.data.subarray(12, 18)], [6, 7, 8, 9, 10, 11]);
  assert.equal(target.data[11], 0);
});

test('slices errors', () => {
  assert.throws(() => getSlice(vol, 4), /getSlice: slice 4 is outside 0…3/);
  assert.throws(() => setSlice(vol, 0, createVolume(new Int16Array(6), [3, 2, 1])), /slice is \[3, 2, 1\] but the volume's slices are \[2, 3, 1\]/);
  assert.throws(() => setSlice(vol, 0, new Int16Array(5)), /slice has 5 pixels but the volume's slices have 2 × 3 = 6/);
  assert.throws(() => stackSlices([getSlice(vol, 0)], geometryOf(vol)), /got 1 slices but geometry.dims \[2, 3, 4\] needs 4/);
});
