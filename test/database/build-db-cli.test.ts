import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { command, parseSources } from '../../src/cli/commands/build-db.js';
import { loadManifest } from '../../src/database/index.js';
import { writeMedseg100Layout, writeMedseg9Layout } from '../helpers/synthetic-datasets.js';

test('parseSources: NAME=PATH, paths may contain "="', () => {
  assert.deepEqual(parseSources(['zenodo-slices=../a', 'semiseg=/x=y']), [
    { name: 'zenodo-slices', root: '../a' },
    { name: 'semiseg', root: '/x=y' },
  ]);
});

test('build-db usage errors name the flag and what is expected', async () => {
  const table: [string[], RegExp][] = [
    [['--out', 'db'], /no --source given/],
    [['--source', 'semiseg=x'], /--out DB is required/],
    [['--source', 'kaggle=x', '--out', 'db'], /--source 'kaggle=x': unknown source 'kaggle'; valid sources: mosmed, medseg100, medseg9, zenodo, zenodo-slices, zenodo-slice-stacks, semiseg, semiseg-pseudo, pseudo-labels/],
    [['--source', '=x', '--out', 'db'], /--source '=x': unknown source ''; valid sources: mosmed,/],
    [['--source', 'semiseg', '--out', 'db'], /--source 'semiseg': expected NAME=PATH/],
    [['--source', 'semiseg=x', '--out', 'db', '--lung-model', 'r232'], /--lung-model 'r232' is not a lung model; available: default, r231/],
    [['--source', 'semiseg=x', '--out', 'db', '--lung-weights', 'w.pth'], /--lung-weights needs --lung-model/],
    [['--source', 'semiseg=x', '--out', 'db', '--seed', '1.5'], /--seed: invalid value '1.5'/],
    [['--source', 'semiseg=x', '--out', 'db', '--overlap', 'ignore'], /--overlap: 'ignore' is not one of warn, merge/],
    [['--source', 'semiseg=x', '--out', 'db', 'extra'], /unexpected argument 'extra'/],
    [['--source', 'semiseg=x', '--out', 'db', '--bogus'], /Unknown option '--bogus'/],
  ];
  for (const [argv, message] of table) await assert.rejects(command.run(argv), (err: Error) => err.name === 'UsageError' && message.test(err.message), argv.join(' '));
});

test('covseg build-db runs end to end from flags', async () => {
  const root = await mkdtemp(join(tmpdir(), 'covseg-cli-'));
  const write = process.stdout.write;
  let printed = '';
  try {
    await writeMedseg100Layout(join(root, 'm'), { size: 24, slices: 2 });
    process.stdout.write = ((chunk: string) => ((printed += chunk), true)) as typeof process.stdout.write;
    await command.run(['--source', `medseg100=${join(root, 'm')}`, '--out', join(root, 'db'), '--workers', '0', '--quiet', '--no-overview', '--seed', '7', '--json']);
    process.stdout.write = write;
    const summary = JSON.parse(printed) as { totals: { built: number } };
    assert.equal(summary.totals.built, 2);
    const manifest = await loadManifest(join(root, 'db'));
    assert.equal(manifest.options.seed, 7);
  } finally {
    process.stdout.write = write;
    await rm(root, { recursive: true, force: true });
  }
});

test('build-db --out that is a file, under a file or read-only: one-line error before any case', async () => {
  const root = await mkdtemp(join(tmpdir(), 'covseg-cli-out-'));
  try {
    await writeMedseg100Layout(join(root, 'm'), { size: 24, slices: 2 });
    const file = join(root, 'db.txt');
    await writeFile(file, 'not a folder');
    const run = (out: string) => command.run(['--source', `medseg100=${join(root, 'm')}`, '--out', out, '--workers', '0', '--quiet']);
    const oneLine = (pattern: RegExp) => (err: Error) => err.name === 'CovsegError' && pattern.test(err.message) && !err.message.includes('\n');
    await assert.rejects(run(file), oneLine(new RegExp(`^${file}: --out is a file, not a folder$`)));
    await assert.rejects(run(join(file, 'db')), oneLine(new RegExp(`^${file}/db: a part of the path is a file, not a folder \\(ENOTDIR`)));
    assert.equal(await readFile(file, 'utf8'), 'not a folder', 'untouched');
    if (process.getuid?.() !== 0) {
      const ro = join(root, 'ro');
      await mkdir(ro);
      await chmod(ro, 0o555);
      await assert.rejects(run(ro), oneLine(new RegExp(`^${ro}: permission denied \\(EACCES`)));
      assert.deepEqual(await readdir(ro), []);
      await chmod(ro, 0o755);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('build-db exits non-zero when every case to build failed; each failure names the file it could not write', async () => {
  const root = await mkdtemp(join(tmpdir(), 'covseg-cli-fail-'));
  const write = process.stdout.write;
  let printed = '';
  try {
    await writeMedseg9Layout(join(root, 'm'), [1, 2]);
    const db = join(root, 'db');
    // A folder where each case's image goes: the write fails on every case, as on a full disk.
    for (const id of ['Case-0000', 'Case-0001']) await mkdir(join(db, '3d', id, 'image.nrrd'), { recursive: true });
    process.stdout.write = ((chunk: string) => ((printed += chunk), true)) as typeof process.stdout.write;
    const run = command.run(['--source', `medseg9=${join(root, 'm')}`, '--out', db, '--workers', '0', '--quiet', '--no-overview']);
    await assert.rejects(run, (err: Error) => err.name === 'CovsegError' && /^no case was built: all 2 cases to build failed \(first, Case-0000: .*Case-0000\/image\.nrrd: it is a folder, not a file \(EISDIR, rename\)\)$/.test(err.message));
    process.stdout.write = write;
    for (const [id, original] of [['Case-0000', '1'], ['Case-0001', '2']]) {
      assert.ok(printed.includes(`FAILED ${id} (medseg9 ${original}): ${join(db, '3d', id!, 'image.nrrd')}: it is a folder, not a file`), printed);
    }
  } finally {
    process.stdout.write = write;
    await rm(root, { recursive: true, force: true });
  }
});
