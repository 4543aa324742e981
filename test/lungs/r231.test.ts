import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readStateDict } from '../../src/nn/torch-pth/index.js';
import { R231Session } from '../../src/lungs/r231-network.js';
import { predictLabelsR231, segmentLungsR231 } from '../../src/lungs/r231.js';
import { createVolume, type LabelMap } from '../../src/volume/volume.js';
import { countDiffering, fixturePath, labelCounts, readUint8, reference, referenceCt, referenceNetworkInput } from './fixtures.js';

function dice(a: Uint8Array, b: Uint8Array, label: number): number {
  let inter = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] === label;
    const y = b[i] === label;
    if (x && y) inter++;
    sum += Number(x) + Number(y);
  }
  return sum === 0 ? 1 : (2 * inter) / sum;
}

for (const file of ['r231-tiny.pth', 'r231-tiny-legacy.pth']) {
  test(`network + argmax on lungmask's input give lungmask's labels exactly, in batches of 2 (${file})`, async () => {
    const session = await R231Session.create(await readStateDict(fixturePath(file)));
    const { input } = referenceNetworkInput();
    const ticks: number[][] = [];
    const labels = await predictLabelsR231(input, { session, batchSize: 2, onProgress: (d, t) => ticks.push([d, t]) });
    await session.release();
    assert.deepEqual(ticks, [[2, 3], [3, 3]]);
    assert.equal(countDiffering(labels, readUint8('r231-argmax.u8.raw.gz')), 0);
  });
}

const models = [
  { file: 'r231-tiny.pth', model: 'r231' as const },
  { file: 'r231-tiny-legacy.pth', model: 'r231' as const },
  { file: 'lobes-tiny-legacy.pth', model: 'lobes' as const },
];

async function segment(file: string): Promise<LabelMap> {
  return segmentLungsR231(referenceCt(), { weightsPath: fixturePath(file) });
}

for (const { file, model } of models) {
  test(`segmentLungsR231 equals lungmask voxel for voxel (${file})`, async () => {
    const out = await segment(file);
    const want = readUint8(`${model}-labels.u8.raw.gz`);
    const classes = reference.models[model].classes;
    console.log(`# ${file}: ${countDiffering(out.data, want)} of ${want.length} voxels differ; counts ${labelCounts(out.data, classes)} vs lungmask ${labelCounts(want, classes)}`);
    assert.equal(countDiffering(out.data, want), 0);
  });
}

test('segmentLungsR231: labels in the input\'s exact geometry, right lung on the patient\'s right', async () => {
  const ct = referenceCt();
  const out = await segment('r231-tiny.pth');
  assert.ok(out.data instanceof Uint8Array);
  assert.deepEqual([out.dims, out.spacingMm, out.origin, out.direction], [ct.dims, ct.spacingMm, ct.origin, ct.direction]);
  // Stored x runs towards the patient's right (direction diag(−1, −1, 1)): label 1 sits at larger x.
  const meanX = [0, 0, 0];
  const n = [0, 0, 0];
  for (let i = 0; i < out.data.length; i++) {
    meanX[out.data[i]!]! += i % ct.dims[0];
    n[out.data[i]!]!++;
  }
  assert.ok(meanX[1]! / n[1]! > ct.dims[0] / 2 && meanX[2]! / n[2]! < ct.dims[0] / 2, `mean x: right ${meanX[1]! / n[1]!}, left ${meanX[2]! / n[2]!}`);
  const want = readUint8('r231-labels.u8.raw.gz');
  const d = [1, 2].map((label) => dice(out.data, want, label));
  console.log(`# Dice against lungmask: right ${d[0]!.toFixed(4)}, left ${d[1]!.toFixed(4)}`);
  assert.deepEqual(d, [1, 1]);
});

test('a CT that is not in HU is refused with what its values look like', async () => {
  const ct = referenceCt();
  const windowed = createVolume(Uint8Array.from(ct.data, (v) => Math.max(0, Math.min(255, (v + 1000) / 8))), ct.dims, ct);
  await assert.rejects(segmentLungsR231(windowed, { weightsPath: fixturePath('r231-tiny.pth') }),
    /lungmask R231 needs a CT in Hounsfield units: values span 0\.\.2\d\d, looks like an 8-bit windowed export/);
});

/** The test network with its head forced to background everywhere: an empty result on any input. */
async function backgroundOnly(): Promise<R231Session> {
  const sd = await readStateDict(fixturePath('r231-tiny.pth'));
  sd.set('last.weight', { dtype: 'float32', shape: [3, 2, 1, 1], data: new Float32Array(6) });
  sd.set('last.bias', { dtype: 'float32', shape: [3], data: Float32Array.from([5, 0, 0]) });
  return R231Session.create(sd);
}

test('huCheck and emptyResult "warn" report through onWarning and return the empty map', async () => {
  const ct = referenceCt();
  const windowed = createVolume(Uint8Array.from(ct.data, (v) => Math.max(0, Math.min(255, (v + 1000) / 8))), ct.dims, ct);
  const warnings: string[] = [];
  const session = await backgroundOnly();
  const out = await segmentLungsR231(windowed, { session, huCheck: 'warn', emptyResult: 'warn', onWarning: (m) => warnings.push(m) });
  await session.release();
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /needs a CT in Hounsfield units/);
  assert.match(warnings[1]!, /no lung found in 3 slices/);
  assert.ok(out.data.every((v) => v === 0));
  assert.deepEqual(out.dims, ct.dims);
});

test('an empty result is an error, not a silent empty mask', async () => {
  const session = await backgroundOnly();
  await assert.rejects(segmentLungsR231(referenceCt(), { session }), /no lung found in 3 slices \(values span -2048\.\.3000.*Likely causes: the scan does not cover the chest/);
  await session.release();
});

test('weights with the wrong class count for the model are named', async () => {
  await assert.rejects(segmentLungsR231(referenceCt(), { weightsPath: fixturePath('lobes-tiny-legacy.pth'), expectedClasses: 3 }),
    /lobes-tiny-legacy\.pth: the weights have 6 classes, this model needs 3/);
});

test('segmentLungsR231 needs weights or a session, and a positive batch size', async () => {
  await assert.rejects(segmentLungsR231(referenceCt()), /pass weightsPath \(the lungmask \.pth file\) or an opened session/);
  await assert.rejects(segmentLungsR231(referenceCt(), { weightsPath: fixturePath('r231-tiny.pth'), batchSize: 0 }), /batchSize must be a positive integer, got 0/);
  await assert.rejects(segmentLungsR231(referenceCt(), { weightsPath: '/missing/unet_r231.pth' }), /\/missing\/unet_r231\.pth: cannot read the weights file/);
});

test('an opened session is reused and left open; progress counts slices', async () => {
  const session = await R231Session.create(await readStateDict(fixturePath('r231-tiny.pth')));
  const ticks: number[][] = [];
  const a = await segmentLungsR231(referenceCt(), { session, onProgress: (d, t) => ticks.push([d, t]) });
  const b = await segmentLungsR231(referenceCt(), { session, postprocess: false });
  await session.release();
  assert.deepEqual(ticks, [[3, 3]]);
  assert.notEqual(countDiffering(a.data, b.data), 0, 'post-processing changes the raw argmax');
});
