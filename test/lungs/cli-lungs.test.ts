import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { decodePng } from '../../src/io/raster.js';
import { DEFAULT_LUNG_MODEL_PATH } from '../../src/lungs/default-model.js';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readVolume, writeVolume } from '../../src/io/index.js';
import { segmentLungsR231 } from '../../src/lungs/r231.js';
import { createVolume } from '../../src/volume/volume.js';
import { PROJECT_ROOT } from '../helpers/shared-data.js';
import { fixturePath, referenceCt } from './fixtures.js';

const MAIN = resolve(PROJECT_ROOT, 'dist/src/cli/main.js');
let dir = '';
let ctPath = '';

function covseg(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, 'lungs', ...args], { encoding: 'utf8', env: { ...process.env, COVSEG_QUIET: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'covseg-lungs-'));
  ctPath = join(dir, 'ct.nii.gz');
  await writeVolume(ctPath, referenceCt());
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('covseg lungs writes the label map on the input grid, the same as the library call', async () => {
  const out = join(dir, 'lungs.nii.gz');
  const r = covseg(ctPath, out, '--lung-model', 'r231', '--lung-weights', fixturePath('r231-tiny.pth'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*lungs\.nii\.gz \(r231:r231-tiny\.pth\): right lung \d+\.\d mL, left lung \d+\.\d mL/);
  const written = await readVolume(out);
  const ct = await readVolume(ctPath);
  const direct = await segmentLungsR231(ct, { weightsPath: fixturePath('r231-tiny.pth') });
  assert.deepEqual(written.dims, ct.dims);
  assert.deepEqual(written.spacingMm, ct.spacingMm);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(written.origin[i]! - ct.origin[i]!) < 1e-4);
  assert.deepEqual(written.direction.map((v) => Math.round(v)), ct.direction.map((v) => Math.round(v)));
  assert.deepEqual(Array.from(written.data), Array.from(direct.data));
});

test('covseg lungs refuses to overwrite without --overwrite', () => {
  const out = join(dir, 'lungs.nii.gz');
  const again = covseg(ctPath, out, '--lung-model', 'r231', '--lung-weights', fixturePath('r231-tiny.pth'));
  assert.equal(again.status, 1);
  assert.match(again.stderr, /lungs\.nii\.gz: output exists; pass --overwrite to overwrite it/);
  const forced = covseg(ctPath, out, '--lung-weights', fixturePath('r231-tiny.pth'), '--overwrite', '--lung-model', 'r231covidweb');
  assert.equal(forced.status, 0, forced.stderr);
  assert.match(forced.stdout, /\(r231covidweb:r231-tiny\.pth\)/);
  assert.equal(forced.stderr, '');
});

test('covseg lungs: the old names --model, --weights and --force (= overwrite, as it always meant here) still work, each with a note', () => {
  const out = join(dir, 'lungs.nii.gz');
  const old = covseg(ctPath, out, '--weights', fixturePath('r231-tiny.pth'), '--force', '--model', 'r231');
  assert.equal(old.status, 0, old.stderr);
  assert.match(old.stdout, /wrote .*lungs\.nii\.gz \(r231:r231-tiny\.pth\)/);
  assert.deepEqual(old.stderr.trimEnd().split('\n'), [
    'covseg lungs: --model is now --lung-model; the old name still works',
    'covseg lungs: --weights is now --lung-weights; the old name still works',
    'covseg lungs: --force is now --overwrite; the old name still works',
  ]);
  const both = covseg(ctPath, out, '--model', 'r231', '--lung-model', 'r231');
  assert.equal(both.status, 2);
  assert.match(both.stderr, /--model is the old name of --lung-model; give only --lung-model/);
});

test('covseg lungs refuses to write onto its input, even with --overwrite or through a link, and refuses a label map as input', async () => {
  const out = join(dir, 'lungs.nii.gz');
  const before = readFileSync(out);
  const same = covseg(out, out, '--overwrite', '--lung-model', 'r231', '--lung-weights', fixturePath('r231-tiny.pth'));
  assert.equal(same.status, 1);
  assert.match(same.stderr, /^covseg lungs: error: .*lungs\.nii\.gz: output is the input .*lungs\.nii\.gz; write to another file\n$/);
  symlinkSync(out, join(dir, 'link.nii.gz'));
  const linked = covseg(join(dir, 'link.nii.gz'), join(dir, '.', 'lungs.nii.gz'), '--overwrite', '--lung-model', 'r231', '--lung-weights', fixturePath('r231-tiny.pth'));
  assert.equal(linked.status, 1);
  assert.match(linked.stderr, /output is the input .*link\.nii\.gz/);
  assert.deepEqual(readFileSync(out), before, 'the input is untouched');

  const other = join(dir, 'from-labels.nii.gz');
  const labels = covseg(out, other, '--lung-model', 'r231', '--lung-weights', fixturePath('r231-tiny.pth'));
  assert.equal(labels.status, 1);
  assert.match(labels.stderr, /^covseg lungs: error: .*lungs\.nii\.gz: holds only the values 0, 1, 2: a label map, not a CT; pass --allow-label-map to segment it anyway\n$/);
  assert.ok(!existsSync(other));
  const forced = covseg(out, other, '--allow-label-map', '--allow-non-hu', '--allow-empty', '--lung-model', 'r231', '--lung-weights', fixturePath('r231-tiny.pth'));
  assert.equal(forced.status, 0, forced.stderr);
  assert.match(forced.stderr, /warning: .*lungs\.nii\.gz: holds only the values 0, 1, 2: a label map, not a CT \(--allow-label-map\)/);
});

test('covseg lungs without --lung-weights says where to download them (exit 2)', () => {
  const r = covseg(ctPath, join(dir, 'x.nii.gz'), '--lung-model', 'r231');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--lung-model r231 needs --lung-weights FILE: user-supplied: download unet_r231-d5d2fc3d\.pth .* from https:\/\/github\.com\/JoHof\/lungmask\/releases\/download\/v0\.0\/unet_r231-d5d2fc3d\.pth/);
});

test('covseg lungs usage errors exit 2', () => {
  const cases: [string[], RegExp][] = [
    [[ctPath], /expected INPUT and OUTPUT, got 1 argument/],
    [[ctPath, 'o.nii.gz', '--lung-model', 'r232', '--lung-weights', 'w.pth'], /--lung-model: 'r232' is not one of default, r231, ltrclobes, r231covidweb/],
    [[ctPath, 'o.nii.gz', '--lung-weights', 'w.pth', '--batch', '0'], /--batch: invalid value '0'/],
    [[ctPath, 'o.nii.gz', '--weigths', 'w.pth'], /Unknown option '--weigths'/],
  ];
  for (const [args, message] of cases) {
    const r = covseg(...args);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, message);
  }
});

test('covseg lungs on a CT not in HU fails with the reason (exit 1)', async () => {
  const ct = referenceCt();
  const windowed = join(dir, 'windowed.nii.gz');
  await writeVolume(windowed, createVolume(Uint8Array.from(ct.data, (v) => Math.max(0, Math.min(255, (v + 1000) / 8))), ct.dims, ct));
  const r = covseg(windowed, join(dir, 'w.nii.gz'), '--lung-model', 'r231', '--lung-weights', fixturePath('r231-tiny.pth'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /covseg lungs: error: .*windowed\.nii\.gz: the lung model 'r231' needs a CT in Hounsfield units: values span 0\.\.\d+, looks like an 8-bit windowed export/);
});

test('covseg lungs with the default model on a CT not in HU fails too, and --allow-non-hu goes on with a warning', { skip: !existsSync(DEFAULT_LUNG_MODEL_PATH) && 'models/lung-2d.onnx missing' }, async () => {
  const ct = referenceCt();
  const windowed = join(dir, 'windowed-default.nii.gz');
  await writeVolume(windowed, createVolume(Uint8Array.from(ct.data, (v) => Math.max(0, Math.min(255, (v + 1000) / 8))), ct.dims, ct));
  const out = join(dir, 'w-default.nii.gz');
  const r = covseg(windowed, out);
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stderr, /^covseg lungs: error: .*windowed-default\.nii\.gz: the lung model 'default' needs a CT in Hounsfield units: values span 0\.\.\d+/);
  assert.ok(!existsSync(out), 'nothing written');
  const lenient = covseg(windowed, out, '--allow-non-hu', '--allow-empty');
  assert.equal(lenient.status, 0, lenient.stderr);
  assert.match(lenient.stderr, /warning: .*needs a CT in Hounsfield units/);
});

test('covseg lungs with weights of the wrong model names the mismatch (exit 1)', () => {
  const r = covseg(ctPath, join(dir, 'lobes.nii.gz'), '--lung-model', 'ltrclobes', '--lung-weights', fixturePath('r231-tiny.pth'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /r231-tiny\.pth: the weights have 3 classes but model 'ltrclobes' has 6/);
});

test('covseg lungs with the bundled default model on a real DICOM slice, and the Figure 1 picture', { skip: !existsSync(DEFAULT_LUNG_MODEL_PATH) && 'models/lung-2d.onnx missing' }, async () => {
  const out = join(dir, 'default.nrrd');
  const figure = join(dir, 'figure1.png');
  const r = covseg(resolve(PROJECT_ROOT, 'examples/chest-ct-dicom-slice/chest-ct.dcm'), out, '--figure', figure);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*default\.nrrd \(default:lung-2d\.onnx@[0-9a-f]{12}\): right lung \d+\.\d mL, left lung \d+\.\d mL/);
  const png = decodePng(readFileSync(figure));
  assert.equal(png.channels, 3);
  const labels = await readVolume(out);
  assert.deepEqual(labels.dims, [512, 512, 1]);
});
