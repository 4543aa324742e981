import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { OnnxGraph, readOnnxMetadata, toFloat16, fromFloat16 } from '../../src/nn/onnx/graph.js';

test('a Conv + Relu graph built in TypeScript runs in ONNX Runtime with the expected values', async () => {
  const g = new OnnxGraph('tiny');
  const x = g.input('x', 'float32', ['batch', 1, 3, 3]);
  const w = g.weight('w', Float32Array.from([0, 1, 0, 1, -4, 1, 0, 1, 0]), [1, 1, 3, 3]);
  const b = g.weight('b', Float32Array.from([0.5]), [1], { float16: true });
  const y = g.node('Conv', [x, w, b], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  g.output(g.node('Relu', [y]), 'y', 'float32', ['batch', 1, 3, 3]);
  const bytes = g.toBytes({ metadata: { task: 'test', inputSize: '3' } });
  assert.deepEqual(readOnnxMetadata(bytes), { task: 'test', inputSize: '3' });
  const session = await ort.InferenceSession.create(bytes);
  const input = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const out = (await session.run({ x: new ort.Tensor('float32', input, [1, 1, 3, 3]) }))['y']!.data as Float32Array;
  // Laplacian with zero padding, plus bias 0.5, then ReLU.
  const expected = [1 * -4 + 2 + 4, 2 * -4 + 1 + 3 + 5, 3 * -4 + 2 + 6, 4 * -4 + 1 + 5 + 7, 5 * -4 + 2 + 4 + 6 + 8, 6 * -4 + 3 + 5 + 9, 7 * -4 + 4 + 8, 8 * -4 + 5 + 7 + 9, 9 * -4 + 6 + 8]
    .map((v) => Math.max(0, v + 0.5));
  assert.deepEqual(Array.from(out), expected);
});

test('float16 conversion round-trips representable values and rounds to nearest', () => {
  const values = Float32Array.from([0, 1, -2, 0.5, 65504, 1e-7, 3.14159, -0.000061035156]);
  const back = fromFloat16(toFloat16(values));
  assert.deepEqual(Array.from(back.slice(0, 5)), [0, 1, -2, 0.5, 65504]);
  assert.ok(Math.abs(back[6]! - 3.14159) < 2e-3);
  assert.ok(Math.abs(back[7]! + 0.000061035156) < 1e-9);
  assert.equal(fromFloat16(toFloat16(Float32Array.from([1e6])))[0], Infinity);
});
