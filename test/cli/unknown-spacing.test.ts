/**
 * A NIfTI whose pixdim is 0 has no known voxel size: `segment` and `lungs` report voxel
 * counts and say mL is unavailable, instead of volumes computed from an assumed 1 mm.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readImage } from '../../src/io/index.js';
import { createVolume } from '../../src/volume/volume.js';
import { DEFAULT_LUNG_MODEL_PATH } from '../../src/lungs/default-model.js';
import { DEFAULT_LESION_MODEL_PATH } from '../../src/segment/index.js';
import { PROJECT_ROOT } from '../helpers/shared-data.js';
import { unknownPixdim, writePatchedNifti } from '../helpers/synthetic-nifti.js';

const CLI = resolve(PROJECT_ROOT, 'dist/src/cli/main.js');
const DICOM = resolve(PROJECT_ROOT, 'examples/chest-ct-dicom-slice/chest-ct.dcm');
const skip = !(existsSync(DEFAULT_LUNG_MODEL_PATH) && existsSync(DEFAULT_LESION_MODEL_PATH)) && 'shipped models missing in models/';
const covseg = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, COVSEG_QUIET: '1' } });

let dir = '';
let ct = '';
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'covseg-unknown-spacing-'));
  // The real chest slice twice (a 3D volume), written with pixdim 0 and no sform.
  const { volume: slice } = await readImage(DICOM);
  const hu = new Int16Array(slice.data.length * 2);
  hu.set(slice.data as Int16Array, 0);
  hu.set(slice.data as Int16Array, slice.data.length);
  const vol = createVolume(hu, [slice.dims[0], slice.dims[1], 2], { spacingMm: [0.625, 0.625, 5] });
  ct = writePatchedNifti(join(dir, 'no-pixdim.nii.gz'), vol, unknownPixdim([0, 0, 0]));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('covseg segment: unknown voxel size gives voxel counts, volumeMl null and the reader warning in the report', { skip }, () => {
  const out = join(dir, 'seg');
  const r = covseg('segment', ct, '--out', out, '--quiet');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /right lung \d+ voxels \(mL not available: voxel size unknown\)/);
  assert.doesNotMatch(r.stdout, /\d mL/);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  assert.equal(report.input.spacingKnown, false);
  assert.ok(report.lungs.total.voxels > 0);
  for (const part of [report.lungs.right, report.lungs.left, report.lungs.total, report.lesions.total]) assert.equal(part.volumeMl, null);
  assert.ok(report.warnings.some((w: string) => /pixdim\[1\] = 0.*voxel size is unknown/.test(w)), report.warnings.join(' | '));
  // Volumes in, volumes out: no slice PNGs for a 3D input.
  assert.ok(!existsSync(join(out, 'lungs.png')));
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(html, /spacing unknown \(not in the file\): volumes not available/);
  assert.doesNotMatch(html, /\d mL/);
});

test('covseg lungs: unknown voxel size prints voxel counts, says mL is unavailable, and warns', { skip }, () => {
  const r = covseg('lungs', ct, join(dir, 'lungs.nii.gz'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /right lung \d+ voxels, left lung \d+ voxels \(mL not available: the voxel size is unknown\)/);
  assert.match(r.stderr, /covseg lungs: warning: pixdim\[1\] = 0, pixdim\[2\] = 0, pixdim\[3\] = 0: the voxel size is unknown/);
});
