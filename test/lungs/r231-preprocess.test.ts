import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { cropToBox, getSlice, reorientToLps } from '../../src/volume/index.js';
import { createVolume } from '../../src/volume/volume.js';
import { bodyBoxR231, bodyMaskR231, clipHu, labelsToSlices, lastSampleOverflows, preprocessR231, zoomLikeScipy } from '../../src/lungs/r231-preprocess.js';
import { countDiffering, fixturePath, maxAbsDiff, readInt16, reference, referenceCt } from './fixtures.js';

// Hand-computed cases use 128×128 slices, so the thumbnail is the slice itself, and body
// boxes whose sizes do not meet scipy's dropped last sample when labels come back from 256.
const S = 128;

/** A 128×128 slice of air with rectangles of given HU (rows y0…y1−1, columns x0…x1−1) painted in order. */
function slice(rects: { y0: number; y1: number; x0: number; x1: number; hu: number | ((x: number, y: number) => number) }[], air = -1000): Int16Array {
  const s = new Int16Array(S * S).fill(air);
  for (const r of rects) {
    for (let y = r.y0; y < r.y1; y++) {
      for (let x = r.x0; x < r.x1; x++) s[x + S * y] = typeof r.hu === 'number' ? r.hu : r.hu(x, y);
    }
  }
  return s;
}

function count(mask: Uint8Array): number {
  return mask.reduce((a, b) => a + b, 0);
}

const BODY = { y0: 20, y1: 100, x0: 10, x1: 116 };

test('clipHu clips to [−1024, 600] and keeps the array type', () => {
  const ints = clipHu(Int16Array.from([-3024, -1025, -1024, 0, 600, 601, 3071]));
  assert.ok(ints instanceof Int16Array);
  assert.deepEqual(Array.from(ints), [-1024, -1024, -1024, 0, 600, 600, 600]);
  const floats = clipHu(Float32Array.from([-1024.5, -12.25, 600.25]));
  assert.ok(floats instanceof Float32Array);
  assert.deepEqual(Array.from(floats), [-1024, -12.25, 600]);
});

const maskCases = [
  {
    name: 'body with an air-filled lung, a thin table and a small separate blob',
    hu: slice([
      { ...BODY, hu: 0 },
      { y0: 40, y1: 61, x0: 30, x1: 51, hu: -900 }, // lung: a hole, filled
      { y0: 110, y1: 113, x0: 5, x1: 123, hu: 100 }, // 3 rows: two erosions remove it
      { y0: 2, y1: 8, x0: 2, x1: 8, hu: 50 }, // 6×6: survives erosion, not the largest
    ]),
    // The rectangle after erode ×2 / dilate ×2 with the cross: 3 pixels cut at each corner.
    pixels: 80 * 106 - 4 * 3,
    box: { x0: 10, y0: 20, x1: 116, y1: 100 },
  },
  {
    name: 'a slice of air only: empty mask, the whole slice is the box',
    hu: slice([]),
    pixels: 0,
    box: { x0: 0, y0: 0, x1: S, y1: S },
  },
  {
    name: 'body filling the slice: closing erodes from the border (outside is background)',
    hu: slice([{ y0: 0, y1: S, x0: 0, x1: S, hu: 0 }]),
    // closing leaves rows/columns 1…126, erosion 3…124, dilation back to 1…126 minus corners
    pixels: 126 * 126 - 4 * 3,
    box: { x0: 1, y0: 1, x1: 127, y1: 127 },
  },
  {
    name: 'threshold is strictly above −500 HU',
    hu: slice([{ ...BODY, hu: -500 }]),
    pixels: 0,
    box: { x0: 0, y0: 0, x1: S, y1: S },
  },
];

for (const c of maskCases) {
  test(`body mask and box: ${c.name}`, () => {
    const mask = bodyMaskR231(c.hu, S, S);
    assert.equal(count(mask), c.pixels);
    assert.deepEqual(bodyBoxR231(mask, S, S), c.box);
  });
}

// lungmask fills the body mask's holes with binary_fill_holes(structure=ones((3, 3))): only
// background 8-connected to the outside stays. This closed 20×20 mask has a pocket that
// reaches the outside only diagonally (rows 12–14): scipy's chain keeps 269 pixels (it would
// be 283 with a 4-connected flood). volume's fillHoles floods 4-connected in 2D.
const POCKET = [
  '....................', '.###############.##.', '.##################.', '.##################.',
  '.##################.', '.##################.', '.##################.', '.##################.',
  '.##################.', '.##################.', '..#################.', '...################.',
  '..#.###############.', '.#...############.#.', '.##.############....', '.###############....',
  '.##############...#.', '.###############.##.', '.#######.##########.', '....................',
];

test('body mask: a pocket open to the outside only diagonally is not a hole', () => {
  const hu = slice([]);
  POCKET.forEach((row, y) => [...row].forEach((ch, x) => { if (ch === '#') hu[50 + x + S * (40 + y)] = 0; }));
  assert.equal(count(bodyMaskR231(hu, S, S)), 269);
});

test('body box is that of the first 8-connected component in raster order', () => {
  const mask = new Uint8Array(S * S);
  for (const [x, y] of [[50, 10], [51, 11], [52, 12], [5, 60], [6, 60]]) mask[x! + S * y!] = 1;
  assert.deepEqual(bodyBoxR231(mask, S, S), { x0: 50, y0: 10, x1: 53, y1: 13 });
});

test('pre-processing: crop to the body box, corner-aligned bilinear resize, int16 rounding, (hu + 1024) / 1624', () => {
  // Inside the body the HU is affine in x and y, which bilinear interpolation reproduces.
  const body = slice([{ ...BODY, hu: (x, y) => 40 + x - y }]);
  const air = slice([], -2000);
  const ct = createVolume(Int16Array.from([...body, ...air]), [S, S, 2]);
  const ticks: number[][] = [];
  const pre = preprocessR231(ct, { onSlice: (done, total) => ticks.push([done, total]) });
  assert.deepEqual(ticks, [[1, 2], [2, 2]]);
  assert.deepEqual(pre.boxes, [{ x0: 10, y0: 20, x1: 116, y1: 100 }, { x0: 0, y0: 0, x1: S, y1: S }]);
  assert.deepEqual(pre.crops.map((c) => c.outputDims), [[106, 80, 1], [S, S, 1]]);
  assert.ok(pre.resizedHu instanceof Int16Array);
  for (const [dy, dx] of [[0, 0], [0, 255], [255, 0], [255, 255], [17, 200], [128, 64]] as const) {
    // crop pixel (cx, cy) holds 40 + (10 + cx) − (20 + cy); src = dst·(n − 1)/255
    const exact = 30 + (dx * 105) / 255 - (dy * 79) / 255;
    const hu = exact < 0 ? -Math.round(-exact) : Math.round(exact);
    assert.equal(pre.resizedHu[dy * 256 + dx], hu, `(${dx}, ${dy})`);
    assert.equal(pre.input[dy * 256 + dx], Math.fround((hu + 1024) / 1624));
  }
  assert.ok(pre.resizedHu.subarray(65536).every((v) => v === -1024), 'air clipped to −1024');
  assert.ok(pre.input.subarray(65536).every((v) => v === 0));
});

test('pre-processing keeps float CT as float (no rounding)', () => {
  const body = Float32Array.from(slice([{ ...BODY, hu: (x, y) => 40 + x - y }]));
  const pre = preprocessR231(createVolume(body, [S, S, 1]));
  assert.ok(pre.resizedHu instanceof Float32Array);
  assert.ok(Math.abs(pre.resizedHu[17 * 256 + 200]! - (30 + (200 * 105) / 255 - (17 * 79) / 255)) < 1e-4);
});

test('labelsToSlices puts 256×256 labels back into each body box on a zero slice', () => {
  const ct = createVolume(slice([{ ...BODY, hu: 0 }]), [S, S, 1]);
  const { crops } = preprocessR231(ct);
  // Left half of the network grid lung 1, right half lung 2.
  const labels = new Uint8Array(65536);
  for (let i = 0; i < 65536; i++) labels[i] = i % 256 < 128 ? 1 : 2;
  const back = labelsToSlices(labels, crops);
  const at = (x: number, y: number) => back[x + S * y];
  assert.deepEqual([at(9, 50), at(10, 50), at(62, 50), at(63, 50), at(115, 50), at(116, 50)], [0, 1, 1, 2, 2, 0]);
  assert.deepEqual([at(50, 19), at(50, 20), at(50, 99), at(50, 100)], [0, 1, 1, 0]);
  assert.equal(count(back.map((v) => (v ? 1 : 0)) as Uint8Array), 106 * 80);
  assert.throws(() => labelsToSlices(new Uint8Array(10), crops), /labelsToSlices: 10 labels for 1 slices of 256 × 256/);
});

test('the crop box is cropToBox\'s, so pasteBack undoes it', () => {
  const ct = createVolume(slice([{ ...BODY, hu: 0 }]), [S, S, 1]);
  const { crops } = preprocessR231(ct);
  const again = cropToBox(getSlice(ct, 0), [10, 20, 0], [116, 100, 1]).box;
  assert.deepEqual(crops[0], again);
});

test('mask resize equals scipy.ndimage.zoom(order=0) index for index, zeroed last samples included', () => {
  const maps = JSON.parse(readFileSync(fixturePath('scipy-zoom.json'), 'utf8')) as { in: number; out: number; source: number[] }[];
  for (const m of maps) {
    // Row of source indices + 1 (0 marks scipy's constant fill).
    const row = Int32Array.from({ length: m.in }, (_, i) => i + 1);
    const got = Array.from(zoomLikeScipy(row, m.in, 1, m.out, 1), (v) => v - 1);
    assert.deepEqual(got, m.source, `${m.in} → ${m.out}`);
    const column = Array.from(zoomLikeScipy(row, 1, m.in, 1, m.out), (v) => v - 1);
    assert.deepEqual(column, m.source, `${m.in} → ${m.out} along y`);
  }
});

test('lastSampleOverflows matches the sizes where scipy drops the last sample', () => {
  const overflowing = (nIn: number) => Array.from({ length: 60 }, (_, i) => i + 1).filter((n) => lastSampleOverflows(nIn, n));
  assert.deepEqual(overflowing(256), [12, 14, 23, 27, 32, 45, 53, 56]);
  assert.deepEqual(overflowing(128), [14, 27, 46, 53]);
  assert.equal(lastSampleOverflows(256, 1), false);
});

test('pre-processing of the synthetic CT equals lungmask\'s: body boxes and resized HU', () => {
  const { volume: lps } = reorientToLps(referenceCt());
  const pre = preprocessR231(lps);
  const boxes = pre.boxes.map((b) => [b.y0, b.x0, b.y1, b.x1]);
  const want = readInt16('preprocessed.i16.raw.gz');
  console.log(`# body boxes ${JSON.stringify(boxes)}, lungmask ${JSON.stringify(reference.bodyBoxes)}; ` +
    `resized HU: ${countDiffering(pre.resizedHu, want)} of ${want.length} differ, max |Δ| ${maxAbsDiff(pre.resizedHu, want)}`);
  assert.deepEqual(boxes, reference.bodyBoxes);
  assert.equal(countDiffering(pre.resizedHu, want), 0);
});
