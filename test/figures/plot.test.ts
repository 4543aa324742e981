import { test } from 'node:test';
import assert from 'node:assert/strict';
import { niceTicks, formatTick, linePlot, barPlot } from '../../src/figures/plot.js';
import { seriesColor, type Rgb } from '../../src/figures/colors.js';
import type { RgbImage } from '../../src/figures/canvas.js';

test('niceTicks steps by 1, 2 or 5 × 10^k', () => {
  const cases: { range: [number, number]; intervals?: number; step: number; values: number[]; decimals: number }[] = [
    // range / 5 = 0.2 → 2 × 10^-1
    { range: [0, 1], step: 0.2, values: [0, 0.2, 0.4, 0.6, 0.8, 1], decimals: 1 },
    // 0.54 / 5 = 0.108 → 1 × 10^-1; ticks inside the range only
    { range: [0.37, 0.91], step: 0.1, values: [0.4, 0.5, 0.6, 0.7, 0.8, 0.9], decimals: 1 },
    // 2000 / 5 = 400 → 5 × 10^2
    { range: [0, 2000], step: 500, values: [0, 500, 1000, 1500, 2000], decimals: 0 },
    // 10 / 5 = 2 → 2
    { range: [-3, 7], step: 2, values: [-2, 0, 2, 4, 6], decimals: 0 },
    // 0.001 / 5 = 2 × 10^-4
    { range: [0, 0.001], step: 0.0002, values: [0, 0.0002, 0.0004, 0.0006, 0.0008, 0.001], decimals: 4 },
    // 2000 / 8 = 250 → 2 × 10^2 (fraction 2.5 < 3)
    { range: [1, 2000], intervals: 8, step: 200, values: [200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000], decimals: 0 },
    // 99 / 5 = 19.8 → 2 × 10^1 (fraction 1.98)
    { range: [1, 100], step: 20, values: [20, 40, 60, 80, 100], decimals: 0 },
  ];
  for (const c of cases) {
    const t = niceTicks(c.range, c.intervals ? { intervals: c.intervals } : {});
    assert.equal(t.step, c.step, `step of [${c.range}]`);
    assert.deepEqual(t.values, c.values, `ticks of [${c.range}]`);
    assert.equal(t.decimals, c.decimals);
  }
});

test('niceTicks names a bad range', () => {
  assert.throws(() => niceTicks([1, 1]), /niceTicks: range \[1, 1\] must be finite with hi > lo/);
  assert.throws(() => niceTicks([0, NaN]), /niceTicks: range \[0, NaN\]/);
  assert.throws(() => niceTicks([0, 1], { intervals: 0 }), /intervals must be ≥ 1, got 0/);
});

test('formatTick', () => {
  const cases: [number, number, string][] = [[0, 2, '0'], [0.2, 1, '0.2'], [1500, 0, '1500'], [-0.0004, 4, '-0.0004'], [2e6, 0, '2.0e+6'], [1e-7, 7, '1.0e-7']];
  for (const [v, d, s] of cases) assert.equal(formatTick(v, d), s);
});

/** Columns (x) that contain at least one pixel of `color`. */
function columnsWith(img: RgbImage, color: Rgb): number[] {
  const cols: number[] = [];
  for (let x = 0; x < img.width; x++) {
    for (let y = 0; y < img.height; y++) {
      const i = (y * img.width + x) * 3;
      if (img.data[i] === color[0] && img.data[i + 1] === color[1] && img.data[i + 2] === color[2]) {
        cols.push(x);
        break;
      }
    }
  }
  return cols;
}

/** Gaps (runs of missing columns) inside the span of `cols`. */
function interiorGaps(cols: number[]): number {
  let gaps = 0;
  for (let i = 1; i < cols.length; i++) if (cols[i]! > cols[i - 1]! + 1) gaps++;
  return gaps;
}

test('linePlot: NaN values leave a gap; a full series has none', () => {
  const color: Rgb = [10, 200, 30];
  const full = linePlot({ series: [{ name: 'train', values: [0, 0.2, 0.4, 0.6, 0.8, 1, 1], color }], legend: 'none' });
  assert.deepEqual([full.width, full.height], [800, 500]);
  assert.equal(interiorGaps(columnsWith(full, color)), 0);
  const gappy = linePlot({ series: [{ name: 'val', values: [0, 0.2, NaN, NaN, 0.8, 1, 1], color }], legend: 'none' });
  assert.equal(interiorGaps(columnsWith(gappy, color)), 1);
});

test('linePlot draws NaN-only, single-point, constant and out-of-range series without throwing', () => {
  const cases = [
    { series: [{ name: 'all NaN', values: [NaN, NaN, NaN] }] },
    { series: [{ name: 'empty', values: [] }] },
    { series: [{ name: 'one', values: [0.3] }] },
    { series: [{ name: 'flat', values: [2, 2, 2] }, { name: 'Inf', values: [Infinity, 1, -Infinity] }] },
    { series: [{ name: 'clipped', values: [-5, 0.5, 1e9] }], yRange: [0, 1] as [number, number], markers: [{ x: 2, label: 'best epoch 2' }, { x: 99 }] },
    { series: [{ name: 'small', values: [1, 2] }], width: 320, height: 200, title: 'a title that is much longer than the little figure is wide', xLabel: 'epoch', yLabel: 'loss' },
  ];
  for (const options of cases) {
    const img = linePlot(options);
    assert.equal(img.data.length, img.width * img.height * 3, options.series[0]!.name);
  }
});

test('linePlot: series colour, marker and legend are drawn', () => {
  const img = linePlot({
    series: [{ name: 'training loss', values: [0.9, 0.6, 0.5, 0.45] }, { name: 'validation loss', values: [0.95, 0.7, 0.65, 0.7], dashed: true }],
    x: [10, 20, 30, 40], markers: [{ x: 30, label: 'best', color: [1, 2, 3] }], title: 'loss', xLabel: 'epoch', yLabel: '1 − Dice',
  });
  assert.ok(columnsWith(img, seriesColor(0)).length > 300, 'first series spans the plot');
  assert.ok(columnsWith(img, seriesColor(1)).length > 300);
  // The marker is a vertical dashed line: 2 px wide at scale 2, in one place.
  const marker = columnsWith(img, [1, 2, 3]);
  assert.equal(marker.length, 2);
});

test('linePlot names its errors', () => {
  assert.throws(() => linePlot({ series: [] }), /linePlot: no series to draw/);
  assert.throws(() => linePlot({ series: [{ name: 'loss', values: [1, 2, 3] }], x: [1, 2] }), /linePlot: x has 2 values but series 'loss' has 3; give one x per value/);
  assert.throws(() => linePlot({ series: [{ name: 'a', values: [1] }], x: [NaN] }), /linePlot: x values must be finite/);
  assert.throws(() => linePlot({ series: [{ name: 'a', values: [1] }], yRange: [1, 0] }), /linePlot: yRange \[1, 0\] must have hi > lo/);
  assert.throws(() => linePlot({ series: [{ name: 'a', values: [1] }], width: 50 }), /linePlot: figure size 50×500 is too small/);
  assert.throws(() => linePlot({ series: [{ name: 'a', values: [1] }], width: 130, height: 100, scale: 3, title: 'x', xLabel: 'x', yLabel: 'y' }), /plot: 130×100 leaves a .* plot area after labels/);
});

test('barPlot draws mean ± std per split, NaN as n/a', () => {
  const img = barPlot({
    categories: ['train', 'validation', 'test'],
    series: [
      { name: '3D', values: [0.42, 0.43, 0.64], errors: [0.23, 0.25, 0.11] },
      { name: '2D', values: [0.68, 0.52, NaN], errors: [0.24, 0.29, 0.28] },
    ],
    yLabel: 'Dice', title: 'Dice per split',
  });
  assert.deepEqual([img.width, img.height], [640, 480]);
  // Three bars of each series, each 2 px narrower than its slot share.
  const first = columnsWith(img, seriesColor(0));
  assert.ok(first.length > 3 * 20, `series 0 covers ${first.length} columns`);
  assert.ok(columnsWith(img, seriesColor(1)).length > 2 * 20);
  const negative = barPlot({ categories: ['a', 'b'], series: [{ name: 's', values: [-1, 2] }], width: 300, height: 200, valueLabels: false });
  assert.equal(negative.width, 300);
});

test('barPlot names its errors', () => {
  assert.throws(() => barPlot({ categories: [], series: [] }), /barPlot: needs at least one category and one series/);
  assert.throws(() => barPlot({ categories: ['a', 'b'], series: [{ name: 'dice', values: [1] }] }), /barPlot: series 'dice' has 1 values for 2 categories; give one per category/);
  assert.throws(() => barPlot({ categories: ['a'], series: [{ name: 'dice', values: [1], errors: [] }] }), /series 'dice' has 1 values and 0 errors for 1 categories/);
  assert.throws(() => barPlot({ categories: ['a'], series: [{ name: 'd', values: [1] }], yRange: [0, 0] }), /barPlot: yRange \[0, 0\] must have hi > lo/);
});
