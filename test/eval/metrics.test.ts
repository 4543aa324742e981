import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confusion, diceFromCounts, sensitivity, specificity, precision, meanStd } from '../../src/eval/metrics.js';

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
