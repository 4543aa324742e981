import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { needsShared, sharedPath } from '../helpers/shared-data.js';
import { readVolume } from '../../src/io/index.js';
import { checkHu, huVerdict, type HuStats } from '../../src/volume/hu.js';
import { createVolume } from '../../src/volume/volume.js';

test('HU verdicts from intensity statistics', () => {
  const cases: { name: string; stats: HuStats; isHu: boolean; reason: RegExp }[] = [
    { name: 'CT with −1024 padding', stats: { min: -1024, max: 3071, p1: -1024, p99: 400 }, isHu: true, reason: /values span -1024\.\.3071 .*consistent with Hounsfield units/ },
    { name: 'CT with −3024 outside the field of view', stats: { min: -3024, max: 2000, p1: -3024, p99: 300 }, isHu: true, reason: /consistent with Hounsfield units/ },
    { name: 'air clipped at −1000 exactly', stats: { min: -1000, max: 1500, p1: -1000, p99: 200 }, isHu: true, reason: /consistent with Hounsfield units/ },
    { name: 'a body-only crop: min −950, p1 −880', stats: { min: -950, max: 1200, p1: -880, p99: 200 }, isHu: false, reason: /no air near -1000/ },
    { name: 'lungs inside the body: p1 −950', stats: { min: -990, max: 1200, p1: -950, p99: 200 }, isHu: true, reason: /consistent with Hounsfield units/ },
    { name: '8-bit windowed export', stats: { min: 0, max: 255, p1: 0, p99: 250 }, isHu: false, reason: /values span 0\.\.255, looks like an 8-bit windowed export, not Hounsfield units/ },
    { name: '[0, 1] normalised', stats: { min: 0, max: 1, p1: 0, p99: 0.9 }, isHu: false, reason: /values span 0\.\.1, looks like an intensity-normalised \[0, 1\] image/ },
    { name: 'stored values without intercept', stats: { min: 0, max: 4095, p1: 0, p99: 1400 }, isHu: false, reason: /values span 0\.\.4095 with no negative values: .*without the rescale intercept/ },
    { name: 'scaled beyond CT range', stats: { min: -10000, max: 30000, p1: -10000, p99: 4000 }, isHu: false, reason: /maximum is above the ~4000 HU/ },
    { name: 'a [−1, 1] normalised image', stats: { min: -1, max: 1, p1: -1, p99: 0.8 }, isHu: false, reason: /values span -1\.\.1 \(1st percentile -1\): no air/ },
  ];
  for (const c of cases) {
    const v = huVerdict(c.stats);
    assert.equal(v.isHu, c.isHu, c.name);
    assert.match(v.reason, c.reason, c.name);
    assert.deepEqual(v.stats, c.stats);
  }
});

test('checkHu computes min, p1, p99 and max of the voxels', () => {
  // 0..255 ramp repeated: min 0, max 255; p1 of 0..255 (n = 256) at rank 2.55 → 2.55, p99 at 252.45.
  const ramp = createVolume(Uint8Array.from({ length: 256 }, (_, i) => i), [16, 16, 1]);
  const check = checkHu(ramp);
  assert.equal(check.isHu, false);
  assert.match(check.reason, /values span 0\.\.255, looks like an 8-bit windowed export/);
  assert.deepEqual([check.stats.min, check.stats.max], [0, 255]);
  assert.ok(Math.abs(check.stats.p1 - 2.55) < 1e-12 && Math.abs(check.stats.p99 - 252.45) < 1e-12, JSON.stringify(check.stats));
  // Given stats are used as they are.
  const given = { min: -1024, max: 100, p1: -1000, p99: 50 };
  assert.equal(checkHu(ramp, { stats: given }).isHu, true);
});

test('real data: DICOM slice and NIfTI CT are HU, a Zenodo PNG slice is not', { skip: needsShared('zenodo20-slices') || needsShared('small-ct-volume') || needsShared('chest-ct-dicom-slice') }, async () => {
  const png = sharedPath(`zenodo20-slices/ct/${readdirSync(sharedPath('zenodo20-slices/ct')).sort()[0]}`);
  const cases = [
    { file: sharedPath('chest-ct-dicom-slice/0.dcm'), isHu: true, min: -2048 },
    { file: sharedPath('small-ct-volume/example_ct_sm.nii.gz'), isHu: true, min: -1100 },
    { file: png, isHu: false, min: 1 },
  ];
  for (const c of cases) {
    const check = checkHu(await readVolume(c.file));
    assert.equal(check.isHu, c.isHu, `${c.file}: ${check.reason}`);
    assert.equal(check.stats.min, c.min, c.file);
  }
});
