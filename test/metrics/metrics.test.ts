import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confusion, diceFromCounts, sensitivity, specificity, precision, meanStd, metricStats } from '../../src/metrics/index.js';

const table: { name: string; pred: number[]; ref: number[]; mask?: number[]; dice: number; counts: [number, number, number, number] }[] = [
  { name: 'perfect', pred: [1, 1, 0, 0], ref: [1, 1, 0, 0], dice: 1, counts: [2, 0, 0, 2] },
  { name: 'half', pred: [1, 0, 0, 0], ref: [1, 1, 0, 0], dice: 2 / 3, counts: [1, 0, 1, 2] },
  { name: 'disjoint', pred: [0, 0, 1, 0], ref: [1, 0, 0, 0], dice: 0, counts: [0, 1, 1, 2] },
  { name: 'both empty counts as 1', pred: [0, 0], ref: [0, 0], dice: 1, counts: [0, 0, 0, 2] },
  { name: 'masked: false positive outside the lung ignored', pred: [1, 1, 1, 0], ref: [1, 0, 0, 0], mask: [1, 1, 0, 0], dice: 2 / 3, counts: [1, 1, 0, 0] },
];
for (const c of table) {
  test(`confusion and Dice: ${c.name}`, () => {
    const k = confusion(c.pred, c.ref, c.mask);
    assert.deepEqual([k.tp, k.fp, k.fn, k.tn], c.counts);
    assert.equal(diceFromCounts(k), c.dice);
  });
}

test('sensitivity, specificity, precision and their undefined cases', () => {
  const k = { tp: 3, fp: 1, fn: 1, tn: 5 };
  assert.equal(sensitivity(k), 0.75);
  assert.equal(specificity(k), 5 / 6);
  assert.equal(precision(k), 0.75);
  assert.ok(Number.isNaN(sensitivity({ tp: 0, fp: 1, fn: 0, tn: 1 })));
  assert.ok(Number.isNaN(precision({ tp: 0, fp: 0, fn: 1, tn: 1 })));
  assert.equal(diceFromCounts({ tp: 0, fp: 0, fn: 0 }, NaN), NaN);
});

test('meanStd uses the sample standard deviation and skips NaN', () => {
  const r = meanStd([0.2, 0.4, NaN, 0.6]);
  assert.equal(r.n, 3);
  assert.ok(Math.abs(r.mean - 0.4) < 1e-12);
  assert.ok(Math.abs(r.std - 0.2) < 1e-12);
  assert.throws(() => confusion([1], [1, 0]), /differ in size/);
});

const statsTable: { name: string; values: number[]; want: { mean: number; std: number; median: number; min: number; max: number; n: number } }[] = [
  { name: 'odd count', values: [3, 1, 2], want: { mean: 2, std: 1, median: 2, min: 1, max: 3, n: 3 } },
  // Sample std of 1..4: sqrt((2.25 + 0.25 + 0.25 + 2.25) / 3) = sqrt(5/3).
  { name: 'even count: median halfway', values: [4, 1, 3, 2], want: { mean: 2.5, std: Math.sqrt(5 / 3), median: 2.5, min: 1, max: 4, n: 4 } },
  { name: 'NaN left out, one value has std 0', values: [NaN, 0.5, NaN], want: { mean: 0.5, std: 0, median: 0.5, min: 0.5, max: 0.5, n: 1 } },
  { name: 'nothing defined: all NaN, n 0', values: [NaN], want: { mean: NaN, std: NaN, median: NaN, min: NaN, max: NaN, n: 0 } },
];
for (const c of statsTable) {
  test(`metricStats: ${c.name}`, () => {
    const got = metricStats(c.values);
    for (const [key, value] of Object.entries(c.want) as [keyof typeof got, number][]) {
      if (Number.isNaN(value)) assert.ok(Number.isNaN(got[key]), `${key}`);
      else assert.ok(Math.abs(got[key] - value) < 1e-12, `${key}: ${got[key]} vs ${value}`);
    }
  });
}
