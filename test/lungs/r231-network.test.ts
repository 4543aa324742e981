import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readStateDict, type StateDict } from '../../src/nn/torch-pth/index.js';
import { buildR231Graph, r231Architecture, R231Session } from '../../src/lungs/r231-network.js';
import { fixturePath, maxAbsDiff, probabilitySubset, readFloat32, reference, referenceNetworkInput } from './fixtures.js';

const cases = [
  { name: 'r231, zip format', file: 'r231-tiny.pth', model: 'r231' as const },
  { name: 'r231, legacy format', file: 'r231-tiny-legacy.pth', model: 'r231' as const },
  { name: 'ltrclobes-like 6 classes, legacy format', file: 'lobes-tiny-legacy.pth', model: 'lobes' as const },
];

for (const c of cases) {
  test(`R231 network in ONNX Runtime matches PyTorch's probabilities within 1e-4 (${c.name})`, async () => {
    const expected = reference.models[c.model];
    const sd = await readStateDict(fixturePath(c.file));
    assert.equal(sd.size, expected.keys);
    const session = await R231Session.create(sd, { file: c.file });
    assert.deepEqual([session.widths, session.classes], [expected.widths, expected.classes]);
    const { input, count } = referenceNetworkInput();
    const logp = await session.logProbabilities(input, count, 256, 256);
    await session.release();
    const diff = maxAbsDiff(probabilitySubset(logp, count, expected.classes), readFloat32(`${c.model}-probabilities.f32.raw.gz`));
    console.log(`# ${c.name}: max |p_onnx − p_torch| = ${diff.toExponential(2)}`);
    assert.ok(diff < 1e-4, `max probability difference ${diff}`);
  });
}

async function r231(): Promise<StateDict> {
  return readStateDict(fixturePath('r231-tiny.pth'));
}

test('architecture is read from the weight shapes', async () => {
  assert.deepEqual(r231Architecture(await r231()), { widths: [2, 4, 8, 16, 32], classes: 3 });
});

test('a missing tensor is named', async () => {
  const sd = await r231();
  sd.delete('up_path.2.conv_block.block.5.running_var');
  assert.throws(() => buildR231Graph(sd, { file: 'w.pth' }), /w\.pth: missing key 'up_path\.2\.conv_block\.block\.5\.running_var'/);
});

test('a tensor of the wrong shape is named with both shapes', async () => {
  const sd = await r231();
  const t = sd.get('down_path.1.block.3.weight')!;
  sd.set('down_path.1.block.3.weight', { ...t, shape: [4, 2, 3, 6] });
  assert.throws(() => buildR231Graph(sd), /key 'down_path\.1\.block\.3\.weight' has shape \[4, 2, 3, 6\], expected \[4, 4, 3, 3\]/);
});

test('an unexpected key is an error, the unused residual tensors are not', async () => {
  const sd = await r231();
  sd.delete('down_path.0.residual_batchnorm.running_mean');
  assert.doesNotThrow(() => buildR231Graph(sd));
  sd.set('extra.weight', sd.get('last.bias')!);
  assert.throws(() => buildR231Graph(sd), /unexpected key 'extra\.weight'/);
});

test('a state_dict of another network is refused', () => {
  const sd: StateDict = new Map([['conv1.weight', { dtype: 'float32', shape: [1], data: new Float32Array(1) }]]);
  assert.throws(() => buildR231Graph(sd, { file: 'resnet.pth' }), /resnet\.pth: missing key 'down_path\.0\.block\.0\.weight': not a lungmask U-Net/);
});

test('last.bias must be a vector of at least 2 classes', async () => {
  const sd = await r231();
  sd.set('last.bias', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
  assert.throws(() => buildR231Graph(sd), /'last\.bias' has shape \[1\]; expected \[classes\] with at least 2 classes/);
  sd.delete('last.bias');
  assert.throws(() => buildR231Graph(sd), /missing key 'last\.bias'/);
});

test('integer weights are refused', async () => {
  const sd = await r231();
  sd.set('last.bias', { dtype: 'int64', shape: [3], data: new BigInt64Array(3) });
  assert.throws(() => buildR231Graph(sd), /key 'last\.bias' is int64, expected a floating-point tensor/);
});

test('the session checks its input size', async () => {
  const session = await R231Session.create(await r231());
  await assert.rejects(session.logProbabilities(new Float32Array(10), 1, 16, 16), /input has 10 values, \[1, 1, 16, 16\] needs 256/);
  await assert.rejects(session.logProbabilities(new Float32Array(24 * 24), 1, 24, 24), /multiple of 16 pixels per side/);
  await session.release();
});
