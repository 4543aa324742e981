import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createImage, type RgbImage } from '../../src/figures/canvas.js';
import { ctSliceToRgb, overlayMask, overlayLabels, comparisonLabels, comparisonOverlay, LUNG_WINDOW_HU } from '../../src/figures/overlay.js';
import { legendStrip } from '../../src/figures/legend.js';
import { FALSE_NEGATIVE, FALSE_POSITIVE, IMAGE_BACKGROUND, TRUE_POSITIVE, type Rgb } from '../../src/figures/colors.js';

function pixels(img: RgbImage): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < img.data.length; i += 3) out.push([img.data[i]!, img.data[i + 1]!, img.data[i + 2]!]);
  return out;
}
const grey = (w: number, h: number, v: number): RgbImage => createImage(w, h, [v, v, v]);

test('ctSliceToRgb windows linearly and clips', () => {
  const cases: { slice: Float32Array | Int16Array | Uint8Array; window?: [number, number]; expected: number[] }[] = [
    // Lung window [-1350, 150] HU: 255 / 1500 per HU; -600 → 750 · 0.17 = 127.5 → 128.
    { slice: Int16Array.from([-1350, -600, 150, 1000, -2000]), expected: [0, 128, 255, 255, 0] },
    { slice: Float32Array.from([NaN, -1350 + 15, -1350 + 1500 / 4]), expected: [0, 3, 64] }, // 2.55 → 3, 63.75 → 64
    // 8-bit pictures are already windowed: shown as they are.
    { slice: Uint8Array.from([0, 1, 128, 255]), expected: [0, 1, 128, 255] },
    { slice: Uint8Array.from([0, 50, 100, 200]), window: [0, 100], expected: [0, 128, 255, 255] },
    { slice: Float32Array.from([-1000, -500, 0]), window: [-1000, 0], expected: [0, 128, 255] },
  ];
  for (const { slice, window, expected } of cases) {
    const img = ctSliceToRgb(slice, slice.length, 1, window ? { window } : {});
    assert.deepEqual(pixels(img), expected.map((v) => [v, v, v]), `${slice.constructor.name} ${window ?? 'default'}`);
  }
  assert.deepEqual(LUNG_WINDOW_HU, [-1350, 150]);
});

test('ctSliceToRgb on a large int16 slice (a table of all 65536 values) gives the float path\'s greys, every value, any window', () => {
  // 512 × 256 pixels holding each int16 value twice, from −32768 up.
  const slice = Int16Array.from({ length: 512 * 256 }, (_, i) => (i % 65536) - 32768);
  for (const window of [undefined, [-1350, 150], [-1000, -999.5], [-40000, 40000]] as ([number, number] | undefined)[]) {
    const options = window ? { window } : {};
    const table = ctSliceToRgb(slice, 512, 256, options);
    // The same values as float32, which take the per-pixel path.
    const direct = ctSliceToRgb(Float32Array.from(slice), 512, 256, window ? options : { window: LUNG_WINDOW_HU });
    assert.ok(table.data.every((v, i) => v === direct.data[i]), `window ${window ?? 'default'}`);
  }
});

test("ctSliceToRgb 'auto' windows from the slice's 1st to 99th percentile", () => {
  // 0, 1, …, 100: numpy's linear percentiles are exactly 1 and 99.
  const ramp = Float32Array.from({ length: 101 }, (_, i) => i);
  const img = pixels(ctSliceToRgb(ramp, 101, 1, { window: 'auto' }));
  // v → (v − 1) · 255 / 98: 0 → 0 (clipped), 1 → 0, 50 → 127.5 → 128, 99 → 255, 100 → 255.
  assert.deepEqual([0, 1, 50, 99, 100].map((i) => img[i]![0]), [0, 0, 128, 255, 255]);
  // NaN pixels do not move the window and stay black.
  const withNan = Float32Array.from([NaN, ...ramp]);
  assert.deepEqual(pixels(ctSliceToRgb(withNan, 102, 1, { window: 'auto' })).map((p) => p[0]), [0, ...img.map((p) => p[0])]);
  // A flat slice gets [v, v + 1]: everything black rather than an error.
  assert.deepEqual(pixels(ctSliceToRgb(new Int16Array(4).fill(-1000), 2, 2, { window: 'auto' })), [[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]);
});

test('ctSliceToRgb names a size mismatch and an empty window', () => {
  assert.throws(() => ctSliceToRgb(new Int16Array(6), 2, 2), /ctSliceToRgb: slice has 6 pixels but 2×2 = 4/);
  assert.throws(() => ctSliceToRgb(new Int16Array(4), 2, 2, { window: [5, 5] }), /window \[5, 5\] is empty/);
});

test('overlayMask blends a 3×3 mask by hand', () => {
  const RED: Rgb = [255, 0, 0];
  // Grey 100 under red at alpha 0.4: R = 0.6·100 + 0.4·255 = 162, G = B = 60.
  const F = [162, 60, 60];
  const G = [100, 100, 100];
  const mask = Uint8Array.from([0, 0, 0, 0, 1, 255, 0, 0, 0]);
  const cases: { options: Parameters<typeof overlayMask>[3]; mask: Uint8Array; expected: number[][] }[] = [
    { options: {}, mask, expected: [G, G, G, G, F, F, G, G, G] },
    { options: { alpha: 0 }, mask, expected: [G, G, G, G, G, G, G, G, G] },
    { options: { alpha: 1 }, mask, expected: [G, G, G, G, [255, 0, 0], [255, 0, 0], G, G, G] },
    // Outline only: every mask pixel with a 4-neighbour outside (or the image edge) is solid red;
    // the centre of a full mask is not on the boundary. 1 and 255 are one region.
    { options: { alpha: 0, outline: true }, mask: Uint8Array.from([1, 1, 1, 1, 255, 1, 1, 1, 1]), expected: [RED, RED, RED, RED, G, RED, RED, RED, RED].map((c) => [...c]) },
    // Fill and outline: interior blended at 0.5 (0.5·100 + 0.5·255 = 177.5 → 178), boundary solid.
    { options: { alpha: 0.5, outline: true }, mask: Uint8Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1]), expected: [RED, RED, RED, RED, [178, 50, 50], RED, RED, RED, RED].map((c) => [...c]) },
  ];
  for (const { options, mask: m, expected } of cases) {
    const img = grey(3, 3, 100);
    assert.equal(overlayMask(img, m, RED, options), img, 'paints in place');
    assert.deepEqual(pixels(img), expected, JSON.stringify(options));
  }
});

test('overlayLabels paints each label in its colour and outlines label borders', () => {
  const colors: Record<number, Rgb> = { 1: [200, 0, 0], 2: [0, 200, 0] };
  const labels = Uint8Array.from([1, 2, 0]);
  const img = overlayLabels(grey(3, 1, 0), labels, colors, { alpha: 0.5 });
  assert.deepEqual(pixels(img), [[100, 0, 0], [0, 100, 0], [0, 0, 0]]);
  // Neighbouring labels are separate regions: both get an outline where they meet.
  const outlined = overlayLabels(grey(4, 3, 0), Uint8Array.from([1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2]), colors, { alpha: 0, outline: true });
  assert.deepEqual(pixels(outlined).every((p) => p[0] === 200 || p[1] === 200), true);
  const skipped = overlayLabels(grey(2, 1, 0), Uint8Array.from([3, 1]), colors, { alpha: 1, unlisted: 'skip' });
  assert.deepEqual(pixels(skipped), [[0, 0, 0], [200, 0, 0]]);
});

test('overlay errors name the problem and the fix', () => {
  assert.throws(() => overlayLabels(grey(3, 1, 0), Uint8Array.from([3, 1, 7]), { 1: [1, 1, 1] }), /overlayLabels: labels 3, 7 have no colour; add them to colorsByLabel or pass unlisted: 'skip'/);
  assert.throws(() => overlayMask(grey(2, 2, 0), new Uint8Array(3), [1, 1, 1]), /overlayMask: mask has 3 pixels but the image is 2×2; resize the mask/);
  assert.throws(() => overlayMask(grey(1, 1, 0), new Uint8Array(1), [1, 1, 1], { alpha: 1.5 }), /overlay alpha must be in \[0, 1\], got 1.5/);
  assert.throws(() => comparisonLabels(new Uint8Array(2), new Uint8Array(3)), /comparisonLabels: prediction has 2 pixels, reference 3/);
  assert.throws(() => comparisonOverlay(grey(2, 1, 0), new Uint8Array(2), new Uint8Array(3)), /comparisonOverlay: reference has 3 pixels but the image is 2×1/);
});

test('comparisonOverlay colours TP, FP, FN and adds a key', () => {
  const prediction = Uint8Array.from([1, 1, 0, 0]);
  const reference = Uint8Array.from([255, 0, 1, 0]);
  assert.deepEqual(Array.from(comparisonLabels(prediction, reference)), [1, 2, 3, 0]);
  const ct = grey(4, 1, 0);
  const img = comparisonOverlay(ct, prediction, reference, { legend: false });
  // Alpha 0.5 over black: half of each colour, .5 rounding up.
  const half = (c: Rgb): number[] => c.map((v) => Math.round(v / 2));
  assert.deepEqual(pixels(img), [half(TRUE_POSITIVE), half(FALSE_POSITIVE), half(FALSE_NEGATIVE), [0, 0, 0]]);
  assert.deepEqual(pixels(ct), [[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]], 'input left unchanged');
  const keyed = comparisonOverlay(grey(240, 2, 0), new Uint8Array(480), new Uint8Array(480));
  // One row of key (12 px text row + 2 × 4 px padding − 4 px trailing gap = 16 px) under the image.
  assert.deepEqual([keyed.width, keyed.height], [240, 2 + 16]);
  assert.deepEqual(pixels(keyed)[240 * 2 + 1], [...IMAGE_BACKGROUND]);
});

test('legendStrip wraps items to the width', () => {
  const items = [{ label: 'AAAA', color: [1, 2, 3] as Rgb }, { label: 'BBBB', color: [4, 5, 6] as Rgb }];
  // Each item: 8 px swatch + 3 px gap + 23 px text = 34; two items + 10 px gap + 2 × 4 px padding = 86.
  assert.deepEqual([legendStrip(items).width, legendStrip(items).height], [86, 16]);
  assert.deepEqual(legendStrip(items, { width: 85 }).height, 28, 'one more 12-px row when 86 px do not fit');
  assert.deepEqual([legendStrip(items, { vertical: true }).width, legendStrip(items, { vertical: true }).height], [42, 28]);
  // The first swatch is a 7×7 box at (4, 4).
  const strip = legendStrip(items);
  assert.deepEqual(pixels(strip)[4 * 86 + 4], [1, 2, 3]);
  assert.deepEqual(pixels(strip)[10 * 86 + 10], [1, 2, 3]);
  assert.deepEqual(pixels(strip)[11 * 86 + 11], [255, 255, 255]);
});
