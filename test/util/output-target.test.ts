import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkOutputDir, checkOutputFile, describeIoError, writeFilesAtomic, type PendingFile } from '../../src/util/output-target.js';
import { CovsegError } from '../../src/util/errors.js';

async function withScratch(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'covseg-out-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('checkOutputFile: a folder, an existing file, a file standing in for a folder, a wrong extension', async () => {
  await withScratch(async (dir) => {
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'a.nii.gz'), 'x');
    await writeFile(join(dir, 'plain'), 'x');
    await assert.rejects(checkOutputFile(join(dir, 'sub')), /sub: is a folder; give a file name$/);
    await assert.rejects(checkOutputFile(join(dir, 'a.nii.gz')), /a\.nii\.gz: exists; pass --overwrite to overwrite it$/);
    await checkOutputFile(join(dir, 'a.nii.gz'), { force: true });
    await assert.rejects(checkOutputFile(join(dir, 'plain', 'x.png')), (err: Error) => err instanceof CovsegError && /plain(\/x\.png)?: /.test(err.message) && /(ENOTDIR|is a file, not a folder)/.test(err.message));
    await assert.rejects(checkOutputFile(join(dir, 'f.jpg'), { extensions: ['.png'], what: '--figure' }), /f\.jpg: --figure must end with \.png$/);
    await checkOutputFile(join(dir, 'new', 'deeper', 'm.nii.gz'));
    assert.deepEqual(await readdir(join(dir, 'new', 'deeper')), [], 'the probe file is removed');
  });
});

test('checkOutputFile: an output that is one of the inputs is refused, by its real path, whether it exists or not', async () => {
  await withScratch(async (dir) => {
    await writeFile(join(dir, 'ct.nii.gz'), 'x');
    await symlink(join(dir, 'ct.nii.gz'), join(dir, 'link.nii.gz'));
    await assert.rejects(checkOutputFile(join(dir, 'ct.nii.gz'), { force: true, inputs: [join(dir, 'link.nii.gz')], what: 'output' }), /ct\.nii\.gz: output is the input .*link\.nii\.gz; write to another file$/);
    await assert.rejects(checkOutputFile(join(dir, 'sub', '..', 'ct.nii.gz'), { force: true, inputs: ['x', join(dir, 'ct.nii.gz')] }), /is the input/);
    await assert.rejects(checkOutputFile(join(dir, 'new.nii.gz'), { inputs: [join(dir, 'new.nii.gz')] }), /is the input/, 'neither exists yet');
    await symlink(dir, join(dir, 'here'));
    await assert.rejects(checkOutputFile(join(dir, 'here', 'new.nii.gz'), { inputs: [join(dir, 'new.nii.gz')] }), /is the input/, 'the folder is a link');
    await checkOutputFile(join(dir, 'other.nii.gz'), { inputs: [join(dir, 'ct.nii.gz')] });
  });
});

test('checkOutputDir: a file where the folder should be is refused, a missing folder is made', async () => {
  await withScratch(async (dir) => {
    await writeFile(join(dir, 'file'), 'x');
    await assert.rejects(checkOutputDir(join(dir, 'file'), '--out'), /file: --out is a file, not a folder$/);
    await checkOutputDir(join(dir, 'made'));
    assert.deepEqual(await readdir(join(dir, 'made')), []);
  });
});

test('describeIoError: errno codes become one line naming the path and the cause', () => {
  const rofs = Object.assign(new Error('EROFS: read-only file system, open \'/ro/x\''), { code: 'EROFS', syscall: 'open', path: '/ro/x' });
  assert.equal(describeIoError(rofs)?.message, '/ro/x: the file system is read-only (EROFS, open)');
  const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
  assert.equal(describeIoError(full, '/out/image.nrrd')?.message, '/out/image.nrrd: no space left on the device (ENOSPC, write)');
  assert.equal(describeIoError(new Error('plain')), undefined);
});

const text = (path: string, content: string): PendingFile => ({ path, write: (tmp) => writeFile(tmp, content) });

test('writeFilesAtomic: all files are written, each under its own name first (writers that pick the format by extension see it)', async () => {
  await withScratch(async (dir) => {
    const seen: string[] = [];
    await writeFilesAtomic([
      { path: join(dir, 'mask.nii.gz'), write: (tmp) => { seen.push(tmp); return writeFile(tmp, 'mask'); } },
      text(join(dir, 'sub', 'figure.png'), 'png'),
    ]);
    assert.ok(seen[0]!.endsWith('/mask.nii.gz') && seen[0] !== join(dir, 'mask.nii.gz'));
    assert.equal(await readFile(join(dir, 'mask.nii.gz'), 'utf8'), 'mask');
    assert.equal(await readFile(join(dir, 'sub', 'figure.png'), 'utf8'), 'png');
    assert.deepEqual((await readdir(dir)).sort(), ['mask.nii.gz', 'sub'], 'no temporaries left');
  });
});

test('writeFilesAtomic: when a later write fails, the earlier file is not written either and old files stay; the error names the file', async () => {
  await withScratch(async (dir) => {
    await writeFile(join(dir, 'mask.nii.gz'), 'old mask');
    await assert.rejects(writeFilesAtomic([
      text(join(dir, 'mask.nii.gz'), 'new mask'),
      text(join(dir, 'new.json'), '{}'),
      { path: join(dir, 'figure.png'), write: () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })) },
    ]), /figure\.png: no space left on the device \(ENOSPC\)$/);
    assert.equal(await readFile(join(dir, 'mask.nii.gz'), 'utf8'), 'old mask');
    assert.deepEqual(await readdir(dir), ['mask.nii.gz'], 'nothing new, no temporaries');
  });
});

test('writeFilesAtomic: when a rename fails, the files already renamed are taken back and the old ones restored', async () => {
  await withScratch(async (dir) => {
    await writeFile(join(dir, 'a.txt'), 'old a');
    // The second "write" leaves no file, so its rename fails after the first has been placed.
    await assert.rejects(writeFilesAtomic([text(join(dir, 'a.txt'), 'new a'), { path: join(dir, 'b.txt'), write: async () => undefined }]), /b\.txt: no such file or folder \(ENOENT, rename\)$/);
    assert.equal(await readFile(join(dir, 'a.txt'), 'utf8'), 'old a');
    assert.deepEqual(await readdir(dir), ['a.txt']);
  });
});
