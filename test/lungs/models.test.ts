import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LUNG_MODELS, lungModel, openLungModel } from '../../src/lungs/models.js';
import { fixturePath, referenceCt } from './fixtures.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { readVolume } from '../../src/io/index.js';
import { DEFAULT_LUNG_MODEL_PATH } from '../../src/lungs/default-model.js';
import { PROJECT_ROOT } from '../helpers/shared-data.js';

test('the registry lists covseg\'s bundled model and lungmask\'s three models with their classes and weight files', () => {
  const rows = Object.values(LUNG_MODELS).map((m) => [m.name, m.kind, m.classes.length, m.weightsSource.match(/unet_\w+-\w+\.pth|models\/lung-2d\.onnx/)?.[0]]);
  assert.deepEqual(rows, [
    ['default', 'covseg-unet', 3, 'models/lung-2d.onnx'],
    ['r231', 'lungmask-unet', 3, 'unet_r231-d5d2fc3d.pth'],
    ['ltrclobes', 'lungmask-unet', 6, 'unet_ltrclobes-3a07043d.pth'],
    ['r231covidweb', 'lungmask-unet', 3, 'unet_r231covid-0de78a7e.pth'],
  ]);
  assert.deepEqual(LUNG_MODELS['r231']!.classes, ['background', 'right lung', 'left lung']);
});

test('an unknown model name lists the valid ones', () => {
  assert.throws(() => lungModel('r232'), /unknown lung model 'r232'; choose one of default, r231, ltrclobes, r231covidweb/);
});

test('a lungmask model without weights says where to download them', async () => {
  await assert.rejects(openLungModel('r231'), /model 'r231' needs lungmask's weights file, which covseg cannot bundle: download unet_r231-d5d2fc3d\.pth from https:\/\/github\.com\/JoHof\/lungmask\/releases\/download\/v0\.0\/unet_r231-d5d2fc3d\.pth/);
});

test('weights with another class count are refused by name', async () => {
  await assert.rejects(openLungModel('ltrclobes', { weightsPath: fixturePath('r231-tiny.pth') }),
    /r231-tiny\.pth: the weights have 3 classes but model 'ltrclobes' has 6/);
});

test('an opened model segments on the CT\'s grid and is named after its weights', async () => {
  const model = await openLungModel('r231', { weightsPath: fixturePath('r231-tiny-legacy.pth') });
  const ct = referenceCt();
  const labels = await model.segment(ct);
  await model.release();
  assert.equal(model.name, 'r231:r231-tiny-legacy.pth');
  assert.deepEqual(labels.dims, ct.dims);
  assert.ok(labels.data.some((v) => v === 1) && labels.data.some((v) => v === 2));
});

test("covseg's bundled lung model opens without weights, names its file version, and segments a real slice", { skip: !existsSync(DEFAULT_LUNG_MODEL_PATH) && 'models/lung-2d.onnx missing' }, async () => {
  const model = await openLungModel('default');
  assert.match(model.name, /^default:lung-2d\.onnx@[0-9a-f]{12}$/);
  const ct = await readVolume(resolve(PROJECT_ROOT, 'examples/chest-ct-dicom-slice/chest-ct.dcm'));
  const labels = await model.segment(ct);
  assert.deepEqual(labels.dims, ct.dims);
  assert.deepEqual([...new Set(labels.data)].sort(), [0, 1, 2]);
  await model.release();
});
