import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createImage, getPixel, setPixel, fillRect, strokeRect, drawLine, drawPolyline, blit, cropImage, scaleNearest, resizeImage,
  rotateCounterClockwise, blendChannel, type RgbImage, type LineOptions,
} from '../../src/figures/canvas.js';

const RED = [255, 0, 0] as const;

/** Painted pixels (red channel set) as "x,y" strings, row by row. */
function painted(img: RgbImage): string[] {
  const out: string[] = [];
  for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) if (img.data[(y * img.width + x) * 3]) out.push(`${x},${y}`);
  return out;
}

test('createImage fills the background; getPixel/setPixel address (x, y) rows top to bottom', () => {
  const img = createImage(3, 2, [1, 2, 3]);
  assert.equal(img.data.length, 18);
  assert.deepEqual(getPixel(img, 2, 1), [1, 2, 3]);
  setPixel(img, 2, 1, [9, 8, 7]);
  assert.deepEqual(Array.from(img.data.subarray(15, 18)), [9, 8, 7]);
  setPixel(img, 5, 5, RED); // outside: ignored
  assert.deepEqual(Array.from(createImage(1, 1).data), [0, 0, 0]);
});

test('createImage and getPixel reject bad sizes and coordinates', () => {
  assert.throws(() => createImage(0, 3), /createImage: width and height must be positive integers, got 0×3/);
  assert.throws(() => createImage(2.5, 3), /positive integers/);
  assert.throws(() => getPixel(createImage(2, 2), 2, 0), /getPixel: \(2, 0\) is outside the 2×2 image/);
});

test('fillRect and strokeRect clip to the image', () => {
  const cases: { draw: (img: RgbImage) => void; expected: string[] }[] = [
    { draw: (img) => fillRect(img, 1, 1, 2, 1, RED), expected: ['1,1', '2,1'] },
    { draw: (img) => fillRect(img, -2, -2, 3, 3, RED), expected: ['0,0'] },
    { draw: (img) => fillRect(img, 3, 0, 5, 5, RED), expected: ['3,0', '3,1', '3,2'] },
    { draw: (img) => fillRect(img, 0, 0, 0, 3, RED), expected: [] },
    { draw: (img) => strokeRect(img, 0, 0, 4, 3, RED), expected: ['0,0', '1,0', '2,0', '3,0', '0,1', '3,1', '0,2', '1,2', '2,2', '3,2'] },
  ];
  for (const { draw, expected } of cases) {
    const img = createImage(4, 3);
    draw(img);
    assert.deepEqual(painted(img), expected);
  }
});

test('drawLine sets the Bresenham pixels', () => {
  // (0,0)→(4,2): err starts at dx+dy = 4-2 = 2; each step moves x, and y when 2·err ≤ dx,
  // so y steps at x = 1 and x = 3. Ties break the other way when drawn backwards.
  const cases: { from: [number, number]; to: [number, number]; options?: LineOptions; size: [number, number]; expected: string[] }[] = [
    { from: [0, 0], to: [4, 2], size: [5, 3], expected: ['0,0', '1,1', '2,1', '3,2', '4,2'] },
    { from: [4, 2], to: [0, 0], size: [5, 3], expected: ['0,0', '1,0', '2,1', '3,1', '4,2'] },
    { from: [1, 0], to: [1, 2], size: [3, 3], expected: ['1,0', '1,1', '1,2'] },
    { from: [2, 1], to: [0, 1], size: [3, 3], expected: ['0,1', '1,1', '2,1'] },
    { from: [0, 0], to: [2, 2], size: [3, 3], expected: ['0,0', '1,1', '2,2'] },
    { from: [0, 0], to: [1, 3], size: [2, 4], expected: ['0,0', '0,1', '1,2', '1,3'] },
    { from: [1, 1], to: [1, 1], size: [3, 3], expected: ['1,1'] },
    // Rounded to pixels first.
    { from: [0.4, 0.6], to: [2.4, 0.6], size: [3, 2], expected: ['0,1', '1,1', '2,1'] },
    // thickness 2: a 2×2 square (extending right/down) at each of the 1-px line's pixels.
    { from: [0, 0], to: [4, 2], options: { thickness: 2 }, size: [5, 3], expected: ['0,0', '1,0', '0,1', '1,1', '2,1', '3,1', '1,2', '2,2', '3,2', '4,2'] },
    // thickness 3: a 3×3 square centred on the pixel.
    { from: [1, 1], to: [1, 1], options: { thickness: 3 }, size: [3, 3], expected: ['0,0', '1,0', '2,0', '0,1', '1,1', '2,1', '0,2', '1,2', '2,2'] },
    // dash [2, 1]: on, on, off, on, on, off, …
    { from: [0, 0], to: [7, 0], options: { dash: [2, 1] }, size: [8, 1], expected: ['0,0', '1,0', '3,0', '4,0', '6,0', '7,0'] },
    // Far-away end points are clipped, not walked.
    { from: [-1e9, 1], to: [1e9, 1], size: [5, 3], expected: ['0,1', '1,1', '2,1', '3,1', '4,1'] },
    { from: [-10, -10], to: [-5, -1], size: [5, 3], expected: [] },
  ];
  for (const c of cases) {
    const img = createImage(c.size[0], c.size[1]);
    drawLine(img, c.from[0], c.from[1], c.to[0], c.to[1], RED, c.options);
    assert.deepEqual(painted(img), c.expected, `${c.from} → ${c.to} ${JSON.stringify(c.options ?? {})}`);
  }
});

test('drawLine rejects non-finite end points', () => {
  assert.throws(() => drawLine(createImage(2, 2), 0, 0, NaN, 1, RED), /drawLine: end points must be finite, got \(0, 0\) → \(NaN, 1\)/);
});

test('drawPolyline breaks at NaN points and marks isolated points', () => {
  const img = createImage(5, 3);
  drawPolyline(img, [[0, 0], [2, 0], [NaN, NaN], [4, 2]], RED);
  // Segment (0,0)-(2,0); the lone (4,2) becomes a 3×3 dot, clipped to the image.
  assert.deepEqual(painted(img), ['0,0', '1,0', '2,0', '3,1', '4,1', '3,2', '4,2']);
  const empty = createImage(3, 3);
  drawPolyline(empty, [[NaN, 0], [1, Infinity]], RED);
  assert.deepEqual(painted(empty), []);
});

test('blit copies with clipping; cropImage cuts a region out', () => {
  const src = createImage(2, 2, [255, 1, 1]);
  const cases: { at: [number, number]; expected: string[] }[] = [
    { at: [0, 0], expected: ['0,0', '1,0', '0,1', '1,1'] },
    { at: [2, 1], expected: ['2,1', '2,2'] },
    { at: [-1, -1], expected: ['0,0'] },
    { at: [3, 0], expected: [] },
  ];
  for (const { at, expected } of cases) {
    const dst = createImage(3, 3);
    blit(dst, src, at[0], at[1]);
    assert.deepEqual(painted(dst), expected, `at ${at}`);
  }
  const img = createImage(3, 2);
  setPixel(img, 2, 1, [7, 8, 9]);
  assert.deepEqual(Array.from(cropImage(img, 1, 1, 2, 1).data), [0, 0, 0, 7, 8, 9]);
  assert.throws(() => cropImage(img, 2, 0, 2, 2), /cropImage: region 2×2 at \(2, 0\) is not inside the 3×2 image/);
});

test('scaleNearest replicates pixels; rotateCounterClockwise turns a quarter left', () => {
  const img: RgbImage = { width: 2, height: 1, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
  const big = scaleNearest(img, 2);
  assert.deepEqual([big.width, big.height], [4, 2]);
  assert.deepEqual(Array.from(big.data), [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
  assert.notEqual(scaleNearest(img, 1).data, img.data, 'factor 1 copies');
  // Left pixel (1,2,3) ends at the bottom, right pixel (4,5,6) at the top.
  const turned = rotateCounterClockwise(img);
  assert.deepEqual([turned.width, turned.height], [1, 2]);
  assert.deepEqual(Array.from(turned.data), [4, 5, 6, 1, 2, 3]);
  assert.throws(() => scaleNearest(img, 1.5), /scaleNearest: factor must be a positive integer, got 1.5; use resizeImage/);
});

test('resizeImage resizes each channel with the one 2D resampler', () => {
  // 2 → 4 pixels, half-pixel centres: source x = (d + 0.5) / 2 − 0.5 = −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
  const img: RgbImage = { width: 2, height: 1, data: Uint8Array.from([0, 100, 255, 100, 0, 255]) };
  const cases: { interpolation?: 'bilinear' | 'nearest'; expected: number[] }[] = [
    { expected: [0, 100, 255, 25, 75, 255, 75, 25, 255, 100, 0, 255] },
    { interpolation: 'nearest', expected: [0, 100, 255, 0, 100, 255, 100, 0, 255, 100, 0, 255] },
  ];
  for (const { interpolation, expected } of cases) {
    const out = resizeImage(img, 4, 1, interpolation ? { interpolation } : {});
    assert.deepEqual(Array.from(out.data), expected, interpolation ?? 'bilinear');
  }
  // 0.5 blends round half up: 1 and 2 → 1.5 → 2.
  assert.deepEqual(Array.from(resizeImage({ width: 2, height: 1, data: Uint8Array.from([1, 1, 1, 2, 2, 2]) }, 1, 1).data), [2, 2, 2]);
});

test('blendChannel mixes linearly and rounds', () => {
  const cases: [number, number, number, number][] = [
    [100, 255, 0.4, 162], // 60 + 102
    [100, 0, 0.4, 60],
    [0, 255, 0.5, 128], // 127.5 rounds up
    [10, 20, 0, 10],
    [10, 20, 1, 20],
  ];
  for (const [base, color, alpha, expected] of cases) assert.equal(blendChannel(base, color, alpha), expected);
});
