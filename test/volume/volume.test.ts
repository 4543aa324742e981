import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVolume, indexToWorld, worldToIndex, physicalCentre, type Mat3 } from '../../src/volume/volume.js';

test('indexToWorld and worldToIndex are inverse for an oblique grid', () => {
  const c = Math.cos(0.3), s = Math.sin(0.3);
  const direction: Mat3 = [c, -s, 0, s, c, 0, 0, 0, 1];
  const vol = createVolume(new Int16Array(4 * 5 * 6), [4, 5, 6], { spacingMm: [0.7, 0.8, 2.5], origin: [-10, 20, 30], direction });
  const w = indexToWorld(vol, [1, 2, 3]);
  assert.deepEqual(w.map((v) => +v.toFixed(6)), [-10 + c * 0.7 - s * 1.6, 20 + s * 0.7 + c * 1.6, 30 + 7.5].map((v) => +v.toFixed(6)));
  const back = worldToIndex(vol, w);
  back.forEach((v, i) => assert.ok(Math.abs(v - [1, 2, 3][i]!) < 1e-9));
  assert.deepEqual(physicalCentre(createVolume(new Uint8Array(8), [2, 2, 2])), [0.5, 0.5, 0.5]);
});

test('createVolume rejects data that does not fit the grid', () => {
  assert.throws(() => createVolume(new Uint8Array(7), [2, 2, 2]), /7 voxels but dims \[2, 2, 2\] need 8/);
  assert.throws(() => createVolume(new Uint8Array(8), [2, 2, 2], { spacingMm: [1, 0, 1] }), /spacing must be positive/);
});

test('geometry errors are CovsegErrors that say what is wrong', () => {
  const flat = createVolume(new Uint8Array(1), [1, 1, 1], { direction: [1, 0, 0, 2, 0, 0, 0, 0, 1] }); // column 1 is zero
  assert.throws(() => worldToIndex(flat, [0, 0, 0]), (err: Error) => err.name === 'CovsegError' && /direction matrix is singular/.test(err.message));
  assert.throws(() => createVolume(new Uint8Array(8), [2, 2, 0]), (err: Error) => err.name === 'CovsegError' && /dims must be positive integers/.test(err.message));
});
