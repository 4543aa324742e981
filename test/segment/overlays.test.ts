import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVolume } from '../../src/volume/volume.js';
import { overlaySlices } from '../../src/segment/overlays.js';

test('the "most lesion" overlay is a lung slice: lesion outside the lungs (a stomach slice) never picks it; no lungs says so', () => {
  const [nx, ny, nz] = [64, 64, 10];
  const ct = createVolume(new Int16Array(nx * ny * nz).fill(40), [nx, ny, nz]);
  const lungs = new Uint8Array(ct.data.length), lesions = new Uint8Array(ct.data.length);
  const at = (x: number, y: number, z: number) => x + nx * (y + ny * z);
  // Lungs on slices 5–9 with a little lesion on slice 7; a big "lesion" on slice 1 with no lung.
  for (let z = 5; z < 10; z++) for (let y = 10; y < 50; y++) for (let x = 5; x < 25; x++) lungs[at(x, y, z)] = 1;
  for (let x = 10; x < 14; x++) lesions[at(x, 20, 7)] = 1;
  for (let y = 0; y < 60; y++) for (let x = 0; x < 60; x++) lesions[at(x, y, 1)] = 1;
  const slices = overlaySlices(ct, createVolume(lungs, ct.dims), createVolume(lesions, ct.dims), true);
  assert.deepEqual(slices.find((s) => s.caption === 'most lesion')?.z, 7);
  assert.ok(slices.every((s) => s.z >= 5), slices.map((s) => s.z).join(','));
  const none = overlaySlices(ct, createVolume(new Uint8Array(ct.data.length), ct.dims), createVolume(lesions, ct.dims), true);
  assert.deepEqual(none.map((s) => s.caption), ['middle slice, no lungs in view']);
});
