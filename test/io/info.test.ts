import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT, needsShared, sharedPath } from '../helpers/shared-data.js';
import { imageInfo, orientationOf } from '../../src/io/index.js';
import { formatInfo } from '../../src/cli/commands/info.js';
import type { Mat3 } from '../../src/volume/volume.js';

const CLI = resolve(PROJECT_ROOT, 'dist/src/cli/main.js');
const covseg = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

test('orientation codes name where each index axis points', () => {
  const c = Math.cos(Math.PI / 6), s = Math.sin(Math.PI / 6);
  const cases: { direction: Mat3; code: string; obliqueDeg: number }[] = [
    { direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], code: 'LPS', obliqueDeg: 0 },
    { direction: [-1, 0, 0, 0, -1, 0, 0, 0, 1], code: 'RAS', obliqueDeg: 0 },
    // Sagittal slices: x along −y (anterior), y along −z (inferior), z along +x (left).
    { direction: [0, 0, 1, -1, 0, 0, 0, -1, 0], code: 'AIL', obliqueDeg: 0 },
    // 30° gantry tilt about x.
    { direction: [1, 0, 0, 0, c, -s, 0, s, c], code: 'LPS', obliqueDeg: 30 },
  ];
  for (const k of cases) assert.deepEqual(orientationOf(k.direction), { code: k.code, obliqueDeg: k.obliqueDeg }, k.code);
});

test('imageInfo and its text form for a real DICOM slice', { skip: needsShared('chest-ct-dicom-slice') }, async () => {
  const info = await imageInfo(sharedPath('chest-ct-dicom-slice/0.dcm'));
  assert.equal(info.format, 'dicom');
  assert.deepEqual(info.dims, [512, 512, 1]);
  assert.equal(info.orientation, 'LPS');
  assert.equal(info.hu.isHu, true);
  assert.equal(info.dicom?.files, 1);
  const text = formatInfo(info);
  assert.match(text, /^dims +512 × 512 × 1$/m);
  assert.match(text, /^spacing +0\.625 × 0\.625 × 1 mm$/m);
  assert.match(text, /^HU +yes: values span -2048\.\./m);
  assert.match(text, /^series +1\.2\.826\.0\.1\.3680043\.8\.498\.22032370629701851459946006816247576553: 1 slice file\(s\)$/m);
});

test('covseg info: text, --json, and exit codes', { skip: needsShared('zenodo20-slices') }, () => {
  const png = sharedPath('zenodo20-slices/ct/0000.png');
  const text = covseg('info', png);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^format +png$/m);
  assert.match(text.stdout, /^HU +no: values span 1\.\.255, looks like an 8-bit windowed export/m);
  assert.match(text.stdout, /^warning +pixel size unknown/m);
  const json = covseg('info', png, '--json');
  assert.equal(json.status, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { dims: number[]; hu: { isHu: boolean } };
  assert.deepEqual(parsed.dims, [256, 256, 1]);
  assert.equal(parsed.hu.isHu, false);
});

test('covseg info errors: unreadable input exits 1 naming the file, bad usage exits 2', () => {
  const bad = join(mkdtempSync(join(tmpdir(), 'covseg-info-')), 'scan.nii');
  writeFileSync(bad, 'not an image at all');
  const unreadable = covseg('info', bad);
  assert.equal(unreadable.status, 1);
  assert.match(unreadable.stderr, /covseg info: error: .*scan\.nii: unsupported or unrecognised image format; covseg reads NIfTI/);
  const usage = covseg('info');
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /covseg info: expected one INPUT, got 0/);
});
