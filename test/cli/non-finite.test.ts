/**
 * A float NIfTI with NaN and infinite voxels: `covseg info` describes it with the counts;
 * `segment` and `lungs` refuse it, naming the file and the counts, before any model runs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createVolume } from '../../src/volume/volume.js';
import { PROJECT_ROOT } from '../helpers/shared-data.js';
import { writePatchedNifti } from '../helpers/synthetic-nifti.js';

const CLI = resolve(PROJECT_ROOT, 'dist/src/cli/main.js');
const covseg = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, COVSEG_QUIET: '1' } });

let dir = '';
let ct = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'covseg-non-finite-'));
  const data = new Float32Array(64 * 64 * 2).map((_, i) => (i % 3 ? -1000 : 40));
  for (let i = 0; i < 12; i++) data[100 + i] = NaN;
  for (let i = 0; i < 3; i++) data[5000 + i] = i ? -Infinity : Infinity;
  ct = writePatchedNifti(join(dir, 'x.nii.gz'), createVolume(data, [64, 64, 2], { spacingMm: [0.8, 0.8, 2.5] }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('covseg info describes a file with NaN and infinite voxels, text and --json', () => {
  const text = covseg('info', ct);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^non-finite +12 NaN, 3 ±Infinity voxel\(s\)/m);
  assert.match(text.stdout, /^intensity +min -1000, .*max 40$/m);
  const json = covseg('info', ct, '--json');
  assert.equal(json.status, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout).nonFinite, { nan: 12, infinite: 3 });
});

test('covseg segment and lungs refuse it with the file and the counts, and write nothing', () => {
  const message = /x\.nii\.gz: 12 voxels are NaN and 3 are infinite; covseg needs finite values/;
  const seg = covseg('segment', ct, '--out', join(dir, 'seg'), '--quiet');
  assert.equal(seg.status, 1);
  assert.match(seg.stderr, message);
  assert.doesNotMatch(seg.stderr, /percentiles|\n\s+at /);
  assert.ok(!existsSync(join(dir, 'seg', 'report.json')));
  const lungs = covseg('lungs', ct, join(dir, 'lungs.nii.gz'));
  assert.equal(lungs.status, 1);
  assert.match(lungs.stderr, message);
  assert.ok(!existsSync(join(dir, 'lungs.nii.gz')));
});
