/** Uploads become pipeline inputs by content: sniffed formats, zips of DICOM series, refusals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { prepareInput } from '../../src/web/ingest.js';
import { HttpError } from '../../src/web/http-error.js';
import { writeVolume } from '../../src/io/index.js';
import { createVolume } from '../../src/volume/volume.js';
import { PROJECT_ROOT } from '../helpers/shared-data.js';

const DICOM = join(PROJECT_ROOT, 'examples/chest-ct-dicom-slice/chest-ct.dcm');
const PNG = join(PROJECT_ROOT, 'examples/zenodo20-slices/ct/1316.png');

async function withJobDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'covseg-ingest-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes `bytes` as the job's raw upload and prepares it. */
async function prepare(dir: string, bytes: Uint8Array | string, options: Parameters<typeof prepareInput>[2] = {}) {
  await writeFile(join(dir, 'upload'), bytes);
  return prepareInput(join(dir, 'upload'), dir, options);
}

const tinyCt = () => createVolume(new Int16Array(8 * 8 * 2).map((_, i) => -1000 + i), [8, 8, 2], { spacingMm: [0.7, 0.7, 5] });

test('single files: the sniffed format names the input, whatever the upload was called', async () => {
  const nifti = join(tmpdir(), `covseg-ingest-${process.pid}.nii.gz`);
  const nrrd = join(tmpdir(), `covseg-ingest-${process.pid}.nrrd`);
  await writeVolume(nifti, tinyCt());
  await writeVolume(nrrd, tinyCt());
  try {
    const cases: [string, string, string][] = [
      [DICOM, 'input.dcm', 'dicom'],
      [PNG, 'input.png', 'png'],
      [nifti, 'input.nii.gz', 'nifti'],
      [nrrd, 'input.nrrd', 'nrrd'],
    ];
    for (const [source, name, format] of cases) {
      await withJobDir(async (dir) => {
        const prepared = await prepare(dir, await readFile(source), { displayName: 'scan.zip' });
        assert.deepEqual(prepared, { input: join(dir, name), format, fromZip: false }, source);
        assert.deepEqual(await readdir(dir), [name]);
      });
    }
  } finally {
    await rm(nifti, { force: true });
    await rm(nrrd, { force: true });
  }
});

test('a zip of a DICOM series becomes its folder; a zip of one image becomes that image', async () => {
  const dcm = new Uint8Array(await readFile(DICOM));
  await withJobDir(async (dir) => {
    const zip = zipSync({ 'series/': {}, 'series/IM0001': dcm, 'series/IM0002': dcm, 'series/README.txt': new TextEncoder().encode('notes') });
    assert.deepEqual(await prepare(dir, zip), { input: join(dir, 'input'), format: 'dicom', fromZip: true });
    assert.deepEqual((await readdir(join(dir, 'input/series'))).sort(), ['IM0001', 'IM0002', 'README.txt']);
    assert.equal(existsSync(join(dir, 'upload')), false, 'the zip itself is removed');
  });
  await withJobDir(async (dir) => {
    const zip = zipSync({ 'slice.png': new Uint8Array(await readFile(PNG)) });
    assert.deepEqual(await prepare(dir, zip), { input: join(dir, 'input/slice.png'), format: 'png', fromZip: true });
  });
});

/** [what, upload bytes, status, code, message] */
const REFUSALS: [string, () => Promise<Uint8Array | string>, number, string, RegExp][] = [
  ['text named scan.nii.gz', async () => 'patient: Doe\nthis is not an image\n', 415, 'unsupported-type', /^scan\.nii\.gz: unsupported or unrecognised image format; covseg reads NIfTI .*, or a \.zip of a DICOM series$/],
  ['gzip of text named scan.nii.gz', async () => gzipSync('just text, gzipped, long enough to pass the header check '.repeat(20)), 415, 'unsupported-type', /^scan\.nii\.gz: a gzip file that holds no supported image/],
  ['empty file', async () => new Uint8Array(0), 400, 'bad-request', /^scan\.nii\.gz: the file is empty/],
  ['zip without images', async () => zipSync({ 'a.txt': new TextEncoder().encode('a'), 'b.txt': new TextEncoder().encode('b') }), 415, 'unsupported-type', /^scan\.nii\.gz: the zip holds 2 file\(s\) but no DICOM slice/],
  ['zip-slip', async () => zipSync({ '../../evil.sh': new TextEncoder().encode('rm -rf /') }), 400, 'unsafe-archive', /^scan\.nii\.gz: entry '\.\.\/\.\.\/evil\.sh' climbs out of the archive/],
  ['zip bomb', async () => zipSync({ 'zeros.dcm': [new Uint8Array(2_000_000), { level: 9 }] }), 413, 'too-large', /^scan\.nii\.gz: the entries inflate to more than 1000000 bytes/],
  ['zip with too many entries', async () => zipSync(Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`IM${i}`, new Uint8Array(1)]))), 413, 'too-large', /^scan\.nii\.gz: 6 entries, more than the server's limit of 5/],
];

for (const [what, bytes, status, code, message] of REFUSALS) {
  test(`refused: ${what} → ${status} ${code}`, async () => {
    await withJobDir(async (dir) => {
      await assert.rejects(prepare(dir, await bytes(), { displayName: 'scan.nii.gz', maxEntries: 5, maxUncompressedBytes: 1_000_000 }), (err: unknown) => {
        assert.ok(err instanceof HttpError, String(err));
        assert.equal(err.statusCode, status);
        assert.equal(err.code, code);
        assert.match(err.message, message);
        assert.ok(!err.message.includes(dir), `the server path stays out of the message: ${err.message}`);
        return true;
      });
      assert.equal(existsSync(join(dir, '..', 'evil.sh')), false);
    });
  });
}
