import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readVolume } from '../../src/io/index.js';
import { checkHu } from '../../src/volume/hu.js';
import { reorientToLps } from '../../src/volume/index.js';
import { createVolume } from '../../src/volume/volume.js';
import { preprocessR231 } from '../../src/lungs/r231-preprocess.js';
import { segmentLungsR231 } from '../../src/lungs/r231.js';
import { needsShared, sharedPath } from '../helpers/shared-data.js';
import { fixturePath, labelCounts } from './fixtures.js';

const SLICE = 'chest-ct-dicom-slice/0.dcm';
const skip = needsShared(SLICE);
/** lungmask's body box for this slice [y0, x0, y1, x1], from scipy (preprocess() of scripts/make-lungmask-fixtures.py). */
const LUNGMASK_BOX = [95, 3, 509, 509];

test('real DICOM slice: in HU, and its body box equals lungmask\'s', { skip }, async () => {
  const ct = await readVolume(sharedPath(SLICE));
  assert.ok(checkHu(ct).isHu);
  const [b] = preprocessR231(reorientToLps(ct).volume).boxes;
  assert.deepEqual([b!.y0, b!.x0, b!.y1, b!.x1], LUNGMASK_BOX);
});

test('real DICOM slice, single-slice path: labels on the slice\'s grid', { skip }, async () => {
  const ct = await readVolume(sharedPath(SLICE));
  const out = await segmentLungsR231(ct, { weightsPath: fixturePath('r231-tiny.pth'), emptyResult: 'warn', onWarning: () => {} });
  assert.deepEqual([out.dims, out.spacingMm, out.origin, out.direction], [ct.dims, ct.spacingMm, ct.origin, ct.direction]);
});

// lungmask's own test: this slice stacked twice gives these voxel counts with the released
// R231 weights. Runs when COVSEG_R231_WEIGHTS names unet_r231-d5d2fc3d.pth.
const weights = process.env['COVSEG_R231_WEIGHTS'];
test('official R231 weights: the slice stacked twice gives lungmask\'s counts [423000, 64752, 36536]', {
  skip: skip || (!weights && 'set COVSEG_R231_WEIGHTS to unet_r231-d5d2fc3d.pth'),
}, async () => {
  const ct = await readVolume(sharedPath(SLICE));
  const twice = createVolume(Int16Array.from([...ct.data, ...ct.data]), [ct.dims[0], ct.dims[1], 2], ct);
  const out = await segmentLungsR231(twice, { weightsPath: weights! });
  assert.deepEqual(labelCounts(out.data, 3), [423000, 64752, 36536]);
});
