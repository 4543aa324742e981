import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createImage, type RgbImage } from '../../src/figures/canvas.js';
import { drawText, measureText, renderText, fitText, glyphRows } from '../../src/figures/text.js';

/** The image as rows of '#' (red channel set) and '.', for comparing with glyph drawings. */
function art(img: RgbImage): string[] {
  const rows: string[] = [];
  for (let y = 0; y < img.height; y++) {
    let row = '';
    for (let x = 0; x < img.width; x++) row += img.data[(y * img.width + x) * 3] ? '#' : '.';
    rows.push(row);
  }
  return rows;
}

const RED = [255, 0, 0] as const;

test('"A" at scale 1 sets exactly the glyph pixels', () => {
  const img = createImage(7, 10);
  const size = drawText(img, 1, 1, 'A', { color: RED });
  assert.deepEqual(size, { width: 5, height: 8 });
  assert.deepEqual(art(img), [
    '.......',
    '..###..',
    '.#...#.',
    '.#...#.',
    '.#...#.',
    '.#####.',
    '.#...#.',
    '.#...#.',
    '.......',
    '.......',
  ]);
});

test('glyphs by table: descenders, symbols, fallback', () => {
  const cases: [string, string[]][] = [
    ['g', ['.....', '.....', '.####', '#...#', '#...#', '.####', '....#', '.###.']],
    ['1', ['..#..', '.##..', '..#..', '..#..', '..#..', '..#..', '.###.', '.....']],
    ['±', ['..#..', '..#..', '#####', '..#..', '..#..', '.....', '#####', '.....']],
    ['×', ['.....', '#...#', '.#.#.', '..#..', '.#.#.', '#...#', '.....', '.....']],
  ];
  for (const [ch, expected] of cases) {
    const img = createImage(5, 8);
    drawText(img, 0, 0, ch, { color: RED });
    assert.deepEqual(art(img), expected, ch);
  }
  assert.deepEqual(glyphRows('€'), glyphRows('?'), 'unknown characters draw as ?');
  assert.deepEqual(glyphRows('μ'), glyphRows('µ'), 'Greek mu and micro sign look alike');
  assert.deepEqual(Array.from(glyphRows('\t')), Array.from(glyphRows(' ')));
});

test('scale 2 turns each font pixel into a 2×2 block; background fills the padded box', () => {
  const img = createImage(12, 18);
  drawText(img, 1, 1, '.', { color: RED, scale: 2 });
  // '.' is the 2×2 dot at columns 1–2, rows 5–6 of the glyph: pixels 3..6 × 11..14.
  const expected: string[] = [];
  for (let y = 0; y < 18; y++) expected.push([...Array(12)].map((_, x) => (x >= 3 && x <= 6 && y >= 11 && y <= 14 ? '#' : '.')).join(''));
  assert.deepEqual(art(img), expected);

  const boxed = createImage(9, 12);
  drawText(boxed, 2, 2, ' ', { color: [0, 0, 0], background: RED, padding: 1 });
  // A space is 5×8; with 1 px padding the box is 7×10 at (1, 1).
  assert.deepEqual(art(boxed), Array.from({ length: 12 }, (_, y) => (y >= 1 && y <= 10 ? '.#######.' : '.........')));
});

test('measureText: 6 px per character, the last only 5; 10 px per line, the last only 8', () => {
  const cases: [string, number, { width: number; height: number }][] = [
    ['A', 1, { width: 5, height: 8 }],
    ['AB', 1, { width: 11, height: 8 }],
    ['', 1, { width: 0, height: 8 }],
    ['ab\nc', 1, { width: 11, height: 18 }],
    ['AB', 2, { width: 22, height: 16 }],
    ['±0.2', 3, { width: 69, height: 24 }],
  ];
  for (const [text, scale, expected] of cases) assert.deepEqual(measureText(text, { scale }), expected, JSON.stringify(text));
});

test('fitText shortens with … to fit a width', () => {
  const cases: [string, number, string][] = [
    ['Case-0003', 53, 'Case-0003'], // 9 × 6 - 1 = 53 fits exactly
    ['Case-0003', 52, 'Case-00…'],
    ['Case-0003', 29, 'Case…'], // 5 characters: 29 px
    ['Case-0003', 4, ''],
  ];
  for (const [text, width, expected] of cases) assert.equal(fitText(text, width), expected, `${text} in ${width}px`);
});

test('renderText makes an image just large enough', () => {
  const img = renderText('Hi', { padding: 2, background: [0, 0, 255], color: RED });
  assert.deepEqual([img.width, img.height], [11 + 4, 8 + 4]);
  assert.deepEqual(Array.from(img.data.subarray(0, 3)), [0, 0, 255]);
  // 'H' column 0 row 0 is set: pixel (2, 2).
  assert.deepEqual(Array.from(img.data.subarray((2 * img.width + 2) * 3, (2 * img.width + 2) * 3 + 3)), [255, 0, 0]);
});

test('text scale must be a positive integer', () => {
  assert.throws(() => measureText('x', { scale: 1.5 }), /text scale must be a positive integer, got 1.5/);
  assert.throws(() => drawText(createImage(2, 2), 0, 0, 'x', { scale: 0 }), /text scale must be a positive integer, got 0/);
});
