import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVolume, indexToWorld, resizeSlice, resizeSlices, type Resize2dInterpolation, type VoxelArray } from '../../src/volume/index.js';

test('resizeSlice: coordinate conventions (values checked against OpenCV and scipy)', () => {
  const square = new Float32Array([0, 10, 20, 30]); // 2×2
  const cases: { name: string; data: VoxelArray; w: number; h: number; ow: number; oh: number; mode: Resize2dInterpolation; expected: number[] }[] = [
    // half-pixel: src = (d + .5)/2 − .5 = −.25, .25, .75, 1.25 → clamped 0, .25, .75, 1 (cv2.resize INTER_LINEAR)
    {
      name: 'bilinear 2×2 → 4×4', data: square, w: 2, h: 2, ow: 4, oh: 4, mode: 'bilinear',
      expected: [0, 2.5, 7.5, 10, 5, 7.5, 12.5, 15, 15, 17.5, 22.5, 25, 20, 22.5, 27.5, 30],
    },
    // corner centres kept: src = d·(2 − 1)/(3 − 1) (scipy.ndimage.zoom order=1, grid_mode=False)
    { name: 'align corners 2×2 → 3×3', data: square, w: 2, h: 2, ow: 3, oh: 3, mode: 'bilinear-align-corners', expected: [0, 5, 10, 10, 15, 20, 20, 25, 30] },
    { name: 'align corners to one pixel', data: square, w: 2, h: 2, ow: 1, oh: 1, mode: 'bilinear-align-corners', expected: [0] },
    // downsampling: src = (d + .5)·2 − .5 = .5, 2.5
    { name: 'bilinear 4 → 2', data: new Float32Array([0, 10, 20, 30]), w: 4, h: 1, ow: 2, oh: 1, mode: 'bilinear', expected: [5, 25] },
    // src = floor(d·5/3) = 0, 1, 3 (cv2 INTER_NEAREST)
    { name: 'nearest 5 → 3', data: new Int16Array([0, 1, 2, 3, 4]), w: 5, h: 1, ow: 3, oh: 1, mode: 'nearest', expected: [0, 1, 3] },
    { name: 'nearest 2 → 4', data: new Uint8Array([7, 9]), w: 2, h: 1, ow: 4, oh: 1, mode: 'nearest', expected: [7, 7, 9, 9] },
    { name: 'nearest 3 → 4', data: new Int16Array([10, 20, 30]), w: 3, h: 1, ow: 4, oh: 1, mode: 'nearest', expected: [10, 10, 20, 30] },
    // src = floor(d·(2/3) + .5) = 0, 1, 1, 2 (scipy.ndimage.zoom order=0, grid_mode=False)
    { name: 'nearest-align-corners 3 → 4', data: new Int16Array([10, 20, 30]), w: 3, h: 1, ow: 4, oh: 1, mode: 'nearest-align-corners', expected: [10, 20, 20, 30] },
    { name: 'nearest-align-corners 5 → 3', data: new Uint8Array([10, 20, 30, 40, 50]), w: 5, h: 1, ow: 3, oh: 1, mode: 'nearest-align-corners', expected: [10, 30, 50] },
    // zoom .6: src .6, 1.2, 1.8, 2.4 round to 1, 1, 2, 2
    { name: 'nearest-align-corners 4 → 6', data: new Float32Array([0, 10, 20, 30]), w: 4, h: 1, ow: 6, oh: 1, mode: 'nearest-align-corners', expected: [0, 10, 10, 20, 20, 30] },
  ];
  for (const t of cases) {
    const out = resizeSlice(t.data, t.w, t.h, t.ow, t.oh, { interpolation: t.mode });
    assert.deepEqual(Array.from(out, (v) => +v.toFixed(5)), t.expected, t.name);
    assert.equal(out.constructor, t.mode.startsWith('nearest') ? t.data.constructor : Float32Array, `${t.name}: array type`);
  }
});

test('resizeSlices: every slice, spacing scaled so the extent is unchanged, edges stay in place', () => {
  const data = new Int16Array([0, 10, 20, 30, 100, 110, 120, 130]); // 2×2×2
  const vol = createVolume(data, [2, 2, 2], { spacingMm: [1, 2, 5], origin: [10, 20, 30], direction: [0, 1, 0, -1, 0, 0, 0, 0, 1] });
  const out = resizeSlices(vol, 4, 1);
  assert.deepEqual(out.dims, [4, 1, 2]);
  assert.deepEqual(out.spacingMm, [0.5, 4, 5]);
  // Rows averaged (src y = .5); columns at −.25 … 1.25 clamped.
  assert.deepEqual([...out.data], [10, 12.5, 17.5, 20, 110, 112.5, 117.5, 120]);
  // The low outer edge of the first pixel (index −0.5, −0.5) is the same world point before and after.
  assert.deepEqual(indexToWorld(out, [-0.5, -0.5, 0]), indexToWorld(vol, [-0.5, -0.5, 0]));
  assert.deepEqual(indexToWorld(out, [3.5, 0.5, 1]), indexToWorld(vol, [1.5, 1.5, 1]));
  assert.ok(resizeSlices(vol, 3, 3, { interpolation: 'nearest' }).data instanceof Int16Array);
});

test('resize2d errors', () => {
  assert.throws(() => resizeSlice(new Float32Array(5), 2, 2, 4, 4), /data has 5 pixels but 2 × 2 need 4/);
  assert.throws(() => resizeSlice(new Float32Array(4), 2, 2, 0, 4), /outWidth must be a positive integer, got 0/);
  assert.throws(() => resizeSlice(new Float32Array(4), 2, 2, 4, 4, { interpolation: 'cubic' as Resize2dInterpolation }), /'cubic' is not one of bilinear/);
});
