import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelValues } from '../../src/volume/labels.js';

test('labelValues: a few integer values are a label map (sorted), many values or fractions are an image', () => {
  assert.deepEqual(labelValues(Uint8Array.from([0, 2, 2, 1, 0, 5])), [0, 1, 2, 5]);
  assert.deepEqual(labelValues(Float32Array.from([0, 1, 1, 0])), [0, 1], 'a float mask is still a mask');
  assert.deepEqual(labelValues(Uint8Array.from([7, 7, 7])), [7]);
  assert.equal(labelValues(Int16Array.from({ length: 17 }, (_, i) => i - 1000)), undefined, '17 values');
  assert.deepEqual(labelValues(Int16Array.from({ length: 16 }, (_, i) => i)), Array.from({ length: 16 }, (_, i) => i));
  assert.equal(labelValues(Float32Array.from([0, 0.5, 1])), undefined);
  assert.equal(labelValues(Float32Array.from([0, NaN])), undefined);
  assert.deepEqual(labelValues(Uint8Array.from([0, 1, 2, 3]), 3), undefined);
});
