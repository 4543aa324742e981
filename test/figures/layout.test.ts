import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createImage, getPixel } from '../../src/figures/canvas.js';
import { panel, grid, sideBySide, mosaic, stack } from '../../src/figures/layout.js';
import { FIGURE_BACKGROUND, IMAGE_BACKGROUND, IMAGE_TEXT, TEXT } from '../../src/figures/colors.js';

const RED = [255, 0, 0] as const;
const BLUE = [0, 0, 255] as const;

test('panel puts a centred title bar over the image', () => {
  const out = panel(createImage(20, 10, RED), 'A');
  // Bar: 8 px text + 2 × 4 px padding = 16 px.
  assert.deepEqual([out.width, out.height], [20, 26]);
  assert.deepEqual(getPixel(out, 0, 16), RED);
  assert.deepEqual(getPixel(out, 0, 15), FIGURE_BACKGROUND);
  // 'A' (5 px) centred at x = floor((20 - 5) / 2) = 7; its top row lights columns 1–3: x 8..10 at y 4.
  assert.deepEqual([7, 8, 10, 11].map((x) => getPixel(out, x, 4)), [FIGURE_BACKGROUND, TEXT, TEXT, FIGURE_BACKGROUND]);
  // Wide images get scale 2 titles: 16 px text + 2 × 8 px padding.
  assert.equal(panel(createImage(400, 10), 'A').height, 10 + 32);
  // A long title is shortened, never widening the panel.
  assert.equal(panel(createImage(30, 5), 'a very long case identifier').width, 30);
});

test('grid lays images in rows with gaps; smaller ones are centred in their cells', () => {
  const out = grid([createImage(2, 2, RED), createImage(2, 2, BLUE), createImage(1, 1, RED)], { columns: 2, gap: 1, background: [9, 9, 9] });
  // 2 columns × 2 px + 3 gaps; 2 rows × 2 px + 3 gaps.
  assert.deepEqual([out.width, out.height], [7, 7]);
  const cases: [number, number, readonly number[]][] = [
    [0, 0, [9, 9, 9]], [1, 1, RED], [2, 2, RED], [3, 1, [9, 9, 9]], [4, 1, BLUE], [5, 2, BLUE],
    // The 1×1 image sits at floor((2 - 1) / 2) = 0 inside the cell at (1, 4).
    [1, 4, RED], [2, 4, [9, 9, 9]], [2, 5, [9, 9, 9]], [4, 4, [9, 9, 9]],
  ];
  for (const [x, y, c] of cases) assert.deepEqual(getPixel(out, x, y), c, `(${x}, ${y})`);
  // Default columns: ceil(sqrt(5)) = 3, so 2 rows; gap 4.
  const five = grid(Array.from({ length: 5 }, () => createImage(10, 10)));
  assert.deepEqual([five.width, five.height], [3 * 10 + 4 * 4, 2 * 10 + 3 * 4]);
});

test('grid names its errors', () => {
  assert.throws(() => grid([]), /grid: no images to lay out/);
  assert.throws(() => grid([createImage(1, 1)], { columns: 0 }), /grid: columns must be a positive integer, got 0/);
});

test('sideBySide with titles: two panels in one row', () => {
  const out = sideBySide(createImage(50, 40, RED), createImage(50, 30, BLUE), { titles: ['original', 'preprocessed'], gap: 2 });
  assert.deepEqual([out.width, out.height], [2 * 50 + 3 * 2, 40 + 16 + 2 * 2]);
  assert.deepEqual(getPixel(out, 2, 2 + 16), RED);
  assert.deepEqual(getPixel(out, 2 + 50 + 2, 2 + 16 + 5), BLUE, 'shorter panel is centred vertically');
  assert.deepEqual(sideBySide(createImage(5, 5), createImage(5, 5), { gap: 0 }).width, 10);
});

test('mosaic writes each label on a dark box in its tile', () => {
  const tiles = ['Case-0001', 'Case-0002'].map((label) => ({ image: createImage(60, 40, [128, 128, 128]), label }));
  const out = mosaic(tiles, { gap: 2 });
  assert.deepEqual([out.width, out.height], [2 * 60 + 3 * 2, 40 + 2 * 2]);
  assert.deepEqual(getPixel(out, 0, 0), IMAGE_BACKGROUND);
  // Label box: text at (2, 2) in the tile with 2 px padding; 'C' top row lights columns 1–3.
  assert.deepEqual(getPixel(out, 2 + 0, 2 + 0), IMAGE_BACKGROUND);
  assert.deepEqual(getPixel(out, 2 + 2 + 1, 2 + 2), IMAGE_TEXT);
  assert.deepEqual(getPixel(out, 2 + 59, 2 + 39), [128, 128, 128]);
  assert.deepEqual(tiles[0]!.image.data[0], 128, 'tiles are not drawn on');
});

test('stack puts images top to bottom at their own heights, left-aligned', () => {
  const out = stack([createImage(10, 3, [255, 0, 0]), createImage(4, 5, [0, 0, 255])], { gap: 2 });
  assert.equal(out.width, 14);
  assert.equal(out.height, 3 + 5 + 3 * 2);
  assert.deepEqual(getPixel(out, 2, 2), [255, 0, 0]);
  assert.deepEqual(getPixel(out, 2, 7), [0, 0, 255]);
  assert.deepEqual(getPixel(out, 8, 7), FIGURE_BACKGROUND, 'the narrower image is not centred or stretched');
  assert.throws(() => stack([]), /stack: no images/);
});
