/**
 * Every output of lungs, segment and evaluate is checked before the work: a file where a
 * folder should be (ENOTDIR), a folder where a file should be (EISDIR), a wrong
 * extension, a name too long once the temporary suffix is added (ENAMETOOLONG). The
 * inputs here do not exist, so an error about the output proves it came first. (Read-only
 * and full disks cannot be made as root in CI; describeIoError's tests cover their words.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeVolume } from '../../src/io/index.js';
import { writeEvaluation, type Evaluation } from '../../src/eval/index.js';
import { runCovseg } from '../helpers/run-cli.js';
import { fixturePath, referenceCt } from '../lungs/fixtures.js';

let dir = '';
let file = '';
let folder = '';
let missing = '';
/** A name that fits the file system (255 bytes) but not with '.tmp-PID-xxxxxxxx' after it. */
const LONG = 'a'.repeat(240);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'covseg-outputs-'));
  file = join(dir, 'file');
  folder = join(dir, 'folder');
  missing = join(dir, 'missing-input.nii.gz');
  writeFileSync(file, 'x');
  mkdirSync(folder);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Exit 1 with exactly one line on stderr matching `message`. */
function assertOneLineError(r: { status: number | null; stderr: string }, message: RegExp): void {
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, message);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /unexpected error|    at /);
}

test('segment --out: a file, a path under a file, a name too long, all refused before the input is read', () => {
  const seg = (out: string) => runCovseg(['segment', missing, '--out', out]);
  assertOneLineError(seg(file), /^covseg segment: error: .*file: --out is a file, not a folder$/m);
  assertOneLineError(seg(join(file, 'sub')), /^covseg segment: error: .*file(\/sub)?: .*(ENOTDIR|is a file, not a folder)/m);
  assertOneLineError(seg(join(dir, LONG)), new RegExp(`^covseg segment: error: .*${LONG}: the name is too long \\(ENAMETOOLONG`, 'm'));
  assert.deepEqual(readdirSync(dir).sort(), ['file', 'folder'], 'nothing left behind');
});

test('lungs OUTPUT and --figure: a folder, a path under a file, a wrong extension, a name too long, refused before the input is read', () => {
  const lungs = (...args: string[]) => runCovseg(['lungs', missing, ...args]);
  assertOneLineError(lungs(folder), /^covseg lungs: error: .*folder: output is a folder; give a file name$/m);
  assertOneLineError(lungs(join(file, 'm.nii.gz')), /^covseg lungs: error: .*file(\/m\.nii\.gz)?: .*(ENOTDIR|is a file, not a folder)/m);
  assertOneLineError(lungs(join(dir, 'm.tiff')), /m\.tiff: output must end with \.nrrd, \.seg\.nrrd, \.nii, \.nii\.gz, \.mha or \.png$/m);
  assertOneLineError(lungs(join(dir, `${LONG}.nrrd`)), /\.nrrd: the name is too long \(ENAMETOOLONG/);
  assertOneLineError(lungs(join(dir, 'm.nii.gz'), '--figure', folder), /folder: --figure is a folder; give a file name$/m);
  assertOneLineError(lungs(join(dir, 'm.nii.gz'), '--figure', join(dir, 'f.jpg')), /f\.jpg: --figure must end with \.png$/m);
  assertOneLineError(lungs(join(dir, 'm.nii.gz'), '--figure', join(file, 'f.png')), /(ENOTDIR|is a file, not a folder)/);
  assert.deepEqual(readdirSync(dir).sort(), ['file', 'folder'], 'nothing left behind');
});

test('lungs --figure with the five-lobe model is bad usage, not silently skipped', async () => {
  const ct = join(dir, 'ct-lobes.nii.gz');
  await writeVolume(ct, referenceCt());
  const r = runCovseg(['lungs', ct, join(dir, 'lobes.nii.gz'), '--lung-model', 'ltrclobes', '--lung-weights', fixturePath('lobes-tiny-legacy.pth'), '--figure', join(dir, 'f.png')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--figure draws the right and left lung; model 'ltrclobes' labels 5 lobes/);
  rmSync(ct);
});

test('evaluate --json, --markdown and --figures are checked before the model is loaded', () => {
  const evaluate = (...args: string[]) => runCovseg(['evaluate', '--model', join(dir, 'missing.onnx'), '--db', join(dir, 'no-db'), ...args]);
  assertOneLineError(evaluate('--json', folder), /folder: --json is a folder; give a file name$/m);
  assertOneLineError(evaluate('--json', join(dir, 'e.txt')), /e\.txt: --json must end with \.json$/m);
  assertOneLineError(evaluate('--json', join(file, 'e.json')), /(ENOTDIR|is a file, not a folder)/);
  assertOneLineError(evaluate('--markdown', join(dir, 'e.json')), /e\.json: --markdown must end with \.md$/m);
  assertOneLineError(evaluate('--figures', file), /file: --figures is a file, not a folder$/m);
  assertOneLineError(evaluate('--json', join(dir, 'missing.json'), '--model', join(dir, 'missing.json')), /--json is the input/);
  assert.deepEqual(readdirSync(dir).sort(), ['file', 'folder'], 'nothing left behind');
});

test('writeEvaluation: a file-system error while writing is one line naming the output and the cause', async () => {
  const evaluation = { splits: {}, cases: [], slices: [], summary: {} } as unknown as Evaluation;
  await assert.rejects(writeEvaluation({ evaluation, figureSlices: new Map() }, { json: join(file, 'e.json') }),
    (err: Error) => err.name === 'CovsegError' && /file\/e\.json: .*\((ENOTDIR|EEXIST)/.test(err.message));
  assert.ok(!existsSync(join(dir, 'e.json')));
});
