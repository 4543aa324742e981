import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadsFlag } from '../../src/cli/command.js';
import { writeVolume } from '../../src/io/index.js';
import { runCovseg } from '../helpers/run-cli.js';
import { fixturePath, referenceCt } from '../lungs/fixtures.js';

let dir = '';
before(() => { dir = mkdtempSync(join(tmpdir(), 'covseg-threads-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

test('threadsFlag: a value above the cores is lowered to them with a warning naming the bound; the default too, silently', () => {
  const warnings: string[] = [];
  const onWarning = (m: string) => warnings.push(m);
  assert.equal(threadsFlag('300', { fallback: 2, cores: 8, command: 'lungs', onWarning }), 8);
  assert.deepEqual(warnings, ['--threads 300 is more than the 8 core(s) of this machine (os.availableParallelism()); using 8']);
  assert.equal(threadsFlag('8', { fallback: 2, cores: 8, command: 'lungs', onWarning }), 8);
  assert.equal(threadsFlag(undefined, { fallback: 2, cores: 1, command: 'lungs', onWarning }), 1);
  assert.equal(threadsFlag('0', { fallback: 0, allowZero: true, cores: 4, command: 'train', onWarning }), 0);
  assert.equal(warnings.length, 1);
  assert.throws(() => threadsFlag('0', { fallback: 2, cores: 4, command: 'lungs' }), /--threads: invalid value '0'/);
  assert.throws(() => threadsFlag('1.5', { fallback: 2, cores: 4, command: 'lungs' }), /--threads: invalid value '1\.5'/);
});

test('lungs, segment and train bound --threads by the cores and say so', async () => {
  const cores = availableParallelism();
  const warning = new RegExp(`warning: --threads 100000 is more than the ${cores} core\\(s\\) of this machine \\(os\\.availableParallelism\\(\\)\\); using ${cores}`);
  const ct = join(dir, 'ct.nii.gz');
  await writeVolume(ct, referenceCt());
  const lungs = runCovseg(['lungs', ct, join(dir, 'lungs.nii.gz'), '--threads', '100000', '--lung-model', 'r231', '--lung-weights', fixturePath('r231-tiny.pth')]);
  assert.equal(lungs.status, 0, lungs.stderr);
  assert.match(lungs.stderr, new RegExp(`^covseg lungs: ${warning.source}`));
  // segment and train warn before they read anything (here: inputs that do not exist).
  const segment = runCovseg(['segment', join(dir, 'missing.nii.gz'), '--out', join(dir, 'seg'), '--threads', '100000']);
  assert.equal(segment.status, 1);
  assert.match(segment.stderr, new RegExp(`^covseg segment: ${warning.source}`));
  const train = runCovseg(['train', '--db', join(dir, 'no-db'), '--dims', '2', '--out', join(dir, 'run'), '--threads', '100000']);
  assert.equal(train.status, 1);
  assert.match(train.stderr, new RegExp(`^covseg train: ${warning.source}`));
});
