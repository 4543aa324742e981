import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LUNG_MODELS, lungModel, openLungModel } from '../../src/lungs/models.js';
import { fixturePath, referenceCt } from './fixtures.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { readVolume } from '../../src/io/index.js';
import { DEFAULT_LUNG_MODEL_PATH } from '../../src/lungs/default-model.js';
import { PROJECT_ROOT } from '../helpers/shared-data.js';
import { createVolume } from '../../src/volume/volume.js';

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

test('every model of the registry refuses a CT not in Hounsfield units, naming the file, and only warns when told to', async () => {
  const ct = referenceCt();
  const windowed = createVolume(Uint8Array.from(ct.data, (v) => Math.max(0, Math.min(255, (v + 1000) / 8))), ct.dims, ct);
  const weights: Record<string, string | undefined> = { ltrclobes: fixturePath('lobes-tiny-legacy.pth'), r231: fixturePath('r231-tiny.pth'), r231covidweb: fixturePath('r231-tiny.pth') };
  for (const name of Object.keys(LUNG_MODELS)) {
    if (name === 'default' && !existsSync(DEFAULT_LUNG_MODEL_PATH)) continue;
    const model = await openLungModel(name, { weightsPath: weights[name] });
    await assert.rejects(model.segment(windowed, { file: 'windowed.nii.gz' }),
      new RegExp(`^CovsegError: windowed\\.nii\\.gz: the lung model '${name}' needs a CT in Hounsfield units: values span 0\\.\\.\\d+, looks like an 8-bit windowed export`), name);
    await model.release();
    const warnings: string[] = [];
    const lenient = await openLungModel(name, { weightsPath: weights[name], run: { huCheck: 'warn', emptyResult: 'warn', onWarning: (m) => warnings.push(m) } });
    await lenient.segment(windowed);
    await lenient.release();
    assert.equal(warnings.filter((w) => w.includes('needs a CT in Hounsfield units')).length, 1, `${name}: ${warnings.join(' | ')}`);
  }
});

test("covseg's model segments an 8-bit image file (no geometry, never HU) as covseg segment does; lungmask's models refuse it", { skip: !existsSync(DEFAULT_LUNG_MODEL_PATH) && 'models/lung-2d.onnx missing' }, async () => {
  const slice = await readVolume(resolve(PROJECT_ROOT, 'examples/zenodo20-slices/ct/1397.png'));
  const model = await openLungModel('default');
  const labels = await model.segment(slice);
  await model.release();
  assert.ok(labels.data.some((v) => v !== 0));
  const r231 = await openLungModel('r231', { weightsPath: fixturePath('r231-tiny.pth') });
  await assert.rejects(r231.segment(slice), /the lung model 'r231' needs a CT in Hounsfield units/);
  await r231.release();
});
