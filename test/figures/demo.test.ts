/**
 * Renders the example figures from real slices (zenodo20-slices) into
 * <tmpdir>/figures-demo/, for people to look at, and checks what can be checked
 * by counting: TP + FN = reference pixels, TP + FP = predicted pixels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needsShared, sharedPath } from '../helpers/shared-data.js';
import { decodePng, rasterToGrey } from '../../src/io/raster.js';
import { resizeSlice } from '../../src/volume/resize2d.js';
import {
  ctSliceToRgb, overlayMask, overlayLabels, comparisonLabels, comparisonOverlay, COMPARISON_TP, COMPARISON_FP, COMPARISON_FN,
  panel, mosaic, sideBySide, linePlot, barPlot, saveFigure, scaleNearest, resizeImage, LESION, LUNG_LABEL_COLORS,
} from '../../src/figures/index.js';

const OUT = join(tmpdir(), 'figures-demo');
const SIZE = 256;

function readSlice(folder: 'ct' | 'covid' | 'lungs', file: string): Uint8Array {
  const path = sharedPath(`zenodo20-slices/${folder}/${file}`);
  const img = decodePng(readFileSync(path), path);
  assert.deepEqual([img.width, img.height], [SIZE, SIZE], path);
  return rasterToGrey(img) as Uint8Array;
}

function countNonZero(a: Uint8Array): number {
  let n = 0;
  for (const v of a) if (v !== 0) n++;
  return n;
}

/** slices.csv rows grouped by patient group, in file order. */
function slicesByGroup(): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  const lines = readFileSync(sharedPath('zenodo20-slices/slices.csv'), 'utf8').trim().split('\n').slice(1);
  for (const line of lines) {
    const [file, group] = line.split(',');
    groups.set(group!, [...(groups.get(group!) ?? []), file!]);
  }
  return groups;
}

test('real data: TP/FP/FN overlay of a slice against its own mask shifted by (4, 2) px', { skip: needsShared('zenodo20-slices') }, async () => {
  const files = slicesByGroup().get('coronacases_001')!;
  // The slice of this patient with the largest lesion shows the most.
  let best = { file: files[0]!, mask: readSlice('covid', files[0]!), area: -1 };
  for (const file of files) {
    const mask = readSlice('covid', file);
    const area = countNonZero(mask);
    if (area > best.area) best = { file, mask, area };
  }
  const reference = best.mask;
  const prediction = new Uint8Array(SIZE * SIZE);
  for (let y = 2; y < SIZE; y++) for (let x = 4; x < SIZE; x++) prediction[y * SIZE + x] = reference[(y - 2) * SIZE + x - 4]!;

  const labels = comparisonLabels(prediction, reference);
  const n = [0, 0, 0, 0];
  for (const v of labels) n[v]!++;
  assert.equal(n[COMPARISON_TP]! + n[COMPARISON_FN]!, countNonZero(reference));
  assert.equal(n[COMPARISON_TP]! + n[COMPARISON_FP]!, countNonZero(prediction));
  assert.ok(n[COMPARISON_TP]! > 0 && n[COMPARISON_FP]! > 0 && n[COMPARISON_FN]! > 0);

  // Shown at twice the size: CT blended bilinearly, masks kept crisp with nearest.
  const BIG = 2 * SIZE;
  const ct = resizeImage(ctSliceToRgb(readSlice('ct', best.file), SIZE, SIZE), BIG, BIG);
  const grow = (mask: Uint8Array): Uint8Array => resizeSlice(mask, SIZE, SIZE, BIG, BIG, { interpolation: 'nearest' }) as Uint8Array;
  const overlay = comparisonOverlay(ct, grow(prediction), grow(reference), { scale: 2 });
  assert.equal(overlay.height, BIG + 32, 'one row of key (scale 2) under the slice');
  const figure = panel(overlay, `${best.file}: mask vs mask shifted (4, 2) px`);
  await saveFigure(join(OUT, 'tp-fp-fn-overlay.png'), figure);
});

test('real data: 4-tile lesion mosaic, Figure 1 style lungs, Figure 2 style pair', { skip: needsShared('zenodo20-slices') }, async () => {
  const groups = slicesByGroup();
  const picks = ['coronacases_002', 'coronacases_008', 'radiopaedia_B', 'radiopaedia_F'].map((g) => {
    const files = groups.get(g)!;
    return { group: g, file: files[Math.floor(files.length / 2)]! };
  });
  const tiles = picks.map(({ group, file }) => {
    const img = ctSliceToRgb(readSlice('ct', file), SIZE, SIZE);
    overlayMask(img, readSlice('covid', file), LESION, { alpha: 0.35, outline: true });
    return { image: img, label: `${group} ${file}` };
  });
  const grid = mosaic(tiles, { columns: 2 });
  assert.deepEqual([grid.width, grid.height], [2 * SIZE + 3 * 4, 2 * SIZE + 3 * 4]);
  await saveFigure(join(OUT, 'mosaic.png'), grid);

  // Figure 1 colours. The shared lung masks do not say which side is which, so this
  // demo calls the half left of the image midline "right lung" (radiological view).
  const { file } = picks[0]!;
  const lungs = readSlice('lungs', file);
  const sides = new Uint8Array(lungs.length);
  for (let i = 0; i < lungs.length; i++) if (lungs[i]) sides[i] = i % SIZE < SIZE / 2 ? 1 : 2;
  const ct = ctSliceToRgb(readSlice('ct', file), SIZE, SIZE);
  const lungFigure = overlayLabels(ctSliceToRgb(readSlice('ct', file), SIZE, SIZE), sides, LUNG_LABEL_COLORS, { alpha: 0.4 });
  const pair = sideBySide(ct, lungFigure, { titles: ['CT', 'right lung red, left green'] });
  assert.equal(pair.width, 2 * SIZE + 3 * 4);
  await saveFigure(join(OUT, 'figure1-lungs.png'), scaleNearest(pair, 2));
});

test('plots: loss curves with a best-epoch marker, Dice bars with error bars', async () => {
  // A seeded, deterministic noise source so the demo looks the same every run.
  let seed = 12345;
  const noise = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5);
  const epochs = Array.from({ length: 200 }, (_, i) => i + 1);
  const train = epochs.map((e) => 0.25 + 0.7 * Math.exp(-e / 40) + 0.02 * noise());
  const validation = epochs.map((e) => (e >= 120 && e < 130 ? NaN : 0.35 + 0.6 * Math.exp(-e / 35) + 0.0006 * Math.max(0, e - 110) + 0.04 * noise()));
  let bestEpoch = 1;
  validation.forEach((v, i) => { if (v < validation[bestEpoch - 1]! || Number.isNaN(validation[bestEpoch - 1]!)) bestEpoch = i + 1; });
  const loss = linePlot({
    series: [{ name: 'training loss', values: train }, { name: 'validation loss', values: validation }],
    x: epochs, title: '2D U-Net: loss (1 − Dice inside the lungs)', xLabel: 'epoch', yLabel: 'loss',
    markers: [{ x: bestEpoch, label: `best epoch ${bestEpoch}` }],
  });
  assert.deepEqual([loss.width, loss.height], [800, 500]);
  await saveFigure(join(OUT, 'loss.png'), loss);

  // The method's reported Dice (mean ± std per split).
  const bars = barPlot({
    categories: ['training', 'validation', 'test'],
    series: [
      { name: '3D U-Net', values: [0.42, 0.43, 0.64], errors: [0.23, 0.25, 0.11] },
      { name: '2D U-Net', values: [0.68, 0.52, 0.6], errors: [0.24, 0.29, 0.28] },
    ],
    title: 'Dice per split (mean ± std)', yLabel: 'Dice',
  });
  await saveFigure(join(OUT, 'dice-bars.png'), bars);
});
