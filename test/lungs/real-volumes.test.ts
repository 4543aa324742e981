/**
 * The default lung model with the anatomy's rules on the real CT volumes of
 * ../shared/data/small-ct-volume (TotalSegmentator's test data; lung lobes = labels 10–14)
 * and the bundled real DICOM chest slice against lungmask R231's published counts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { readVolume } from '../../src/io/index.js';
import { reorientToLps } from '../../src/volume/index.js';
import { voxelVolumeMl } from '../../src/volume/volume.js';
import { confusion, diceFromCounts } from '../../src/metrics/index.js';
import { DEFAULT_LUNG_MODEL_PATH, loadDefaultLungModel, segmentLungsDefault } from '../../src/lungs/default-model.js';
import { lungQuality } from '../../src/lungs/quality.js';
import { needsShared, PROJECT_ROOT, sharedPath } from '../helpers/shared-data.js';

const noModel = !existsSync(DEFAULT_LUNG_MODEL_PATH) && 'models/lung-2d.onnx missing';
const VOLUME = 'small-ct-volume';

test('example_ct_sm (lower chest and abdomen, 3 mm): lung Dice ≥ 0.90 against TotalSegmentator\'s lobes, ≤ 1 mL of lung in slices without lung; partial coverage', { skip: noModel || needsShared(VOLUME) }, async () => {
  const model = await loadDefaultLungModel();
  const ct = await readVolume(sharedPath(`${VOLUME}/example_ct_sm.nii.gz`));
  const seg = await readVolume(sharedPath(`${VOLUME}/example_seg.nii.gz`));
  const lungs = await segmentLungsDefault(ct, { model });
  await model.onnx.release();
  const ref = Uint8Array.from(seg.data, (v) => +(v >= 10 && v <= 14));
  const dice = diceFromCounts(confusion(Uint8Array.from(lungs.data, (v) => +(v > 0)), ref));
  assert.ok(dice >= 0.9, `Dice ${dice.toFixed(4)}`);
  // False lung in the slices where the reference has none (stomach, colon; 0.48 Dice and 3,900 such voxels before).
  const l = reorientToLps(lungs).volume, r = reorientToLps({ ...seg, data: ref }).volume;
  const plane = l.dims[0] * l.dims[1];
  let falseVoxels = 0;
  for (let z = 0; z < l.dims[2]; z++) {
    if (r.data.subarray(z * plane, (z + 1) * plane).some((v) => v !== 0)) continue;
    for (let i = z * plane; i < (z + 1) * plane; i++) if (l.data[i]) falseVoxels++;
  }
  assert.ok(falseVoxels * voxelVolumeMl(l) <= 1, `${(falseVoxels * voxelVolumeMl(l)).toFixed(2)} mL of lung where there is none`);
  const q = lungQuality(ct, lungs);
  assert.deepEqual([q.lungCoverage, q.assessable], ['partial', true]);
  assert.ok(q.warnings.some((w) => /apices are cut off/.test(w)), q.warnings.join('; '));
});

test('example_ct_dicom (20 abdominal slices): no lungs in view (≤ 1 mL), not assessable', { skip: noModel || needsShared(VOLUME) }, async () => {
  const model = await loadDefaultLungModel();
  const ct = await readVolume(sharedPath(`${VOLUME}/example_ct_dicom`));
  const lungs = await segmentLungsDefault(ct, { model });
  await model.onnx.release();
  const ml = lungs.data.reduce((n, v) => n + +(v > 0), 0) * voxelVolumeMl(lungs);
  assert.ok(ml <= 1, `${ml.toFixed(2)} mL of "lung" (stomach and bowel gas: 15.6 mL before)`);
  const q = lungQuality(ct, lungs);
  assert.equal(q.assessable, false);
  if (ml === 0) assert.equal(q.lungCoverage, 'none');
});

test('the real DICOM chest slice: within 2 % of lungmask R231\'s 32,376 right / 18,268 left lung pixels', { skip: noModel }, async () => {
  const model = await loadDefaultLungModel();
  const ct = await readVolume(resolve(PROJECT_ROOT, 'examples/chest-ct-dicom-slice/chest-ct.dcm'));
  const lungs = await segmentLungsDefault(ct, { model });
  await model.onnx.release();
  let right = 0, left = 0;
  for (const v of lungs.data) v === 1 ? right++ : v === 2 ? left++ : 0;
  assert.ok(Math.abs(right - 32376) / 32376 <= 0.02, `right ${right} px`);
  assert.ok(Math.abs(left - 18268) / 18268 <= 0.02, `left ${left} px`);
});
