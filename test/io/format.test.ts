import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { detectFormat, sniffFormat } from '../../src/io/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'covseg-format-test-'));

function bytesWith(length: number, at: number, text: string): Uint8Array {
  const b = new Uint8Array(length);
  b.set(Buffer.from(text, 'latin1'), at);
  return b;
}

test('formats are sniffed from content', () => {
  const cases: { name: string; bytes: Uint8Array; format: string | undefined }[] = [
    { name: 'NIfTI-1 single file', bytes: bytesWith(352, 344, 'n+1\0'), format: 'nifti' },
    { name: 'NIfTI-1 header of a pair', bytes: bytesWith(348, 344, 'ni1\0'), format: 'nifti' },
    { name: 'NIfTI-2', bytes: bytesWith(540, 4, 'n+2\0'), format: 'nifti' },
    { name: 'NRRD', bytes: Buffer.from('NRRD0004\ntype: short\n'), format: 'nrrd' },
    { name: 'MetaImage by ITK', bytes: Buffer.from('ObjectType = Image\nNDims = 3\n'), format: 'mha' },
    { name: 'MetaImage, keys in another order', bytes: Buffer.from('NDims = 3\nDimSize = 2 2 2\n'), format: 'mha' },
    { name: 'DICOM', bytes: bytesWith(200, 128, 'DICM'), format: 'dicom' },
    { name: 'PNG', bytes: Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), format: 'png' },
    { name: 'JPEG', bytes: Uint8Array.from([0xff, 0xd8, 0xff, 0xe0]), format: 'jpeg' },
    { name: 'text', bytes: Buffer.from('ObjectType is a word in this sentence'), format: undefined },
    { name: 'DICM at the wrong offset', bytes: bytesWith(200, 0, 'DICM'), format: undefined },
  ];
  for (const c of cases) assert.equal(sniffFormat(c.bytes), c.format, c.name);
});

test('detectFormat: gzip then the magic inside; a folder is DICOM', async () => {
  const niiGz = join(tmp, 'a.bin');
  writeFileSync(niiGz, gzipSync(bytesWith(4096, 344, 'n+1\0')));
  assert.deepEqual(await detectFormat(niiGz), { format: 'nifti', directory: false, gzip: true });
  assert.deepEqual(await detectFormat(tmp), { format: 'dicom', directory: true, gzip: false });
});

test('detectFormat errors name the file and the problem', async () => {
  const cases: { name: string; content: Uint8Array; message: RegExp }[] = [
    { name: 'x.nrrd.gz', content: gzipSync(Buffer.from('NRRD0004\n')), message: /x\.nrrd\.gz: a gzip-compressed NRRD file: decompress it first/ },
    { name: 'y.gz', content: gzipSync(Buffer.alloc(5000, 7)), message: /y\.gz: a gzip file that holds no supported image; covseg reads NIfTI/ },
    { name: 'z.gz', content: Uint8Array.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8]), message: /z\.gz: gzip data is corrupt \(invalid block type\); re-download the file/ },
    { name: 'w.img', content: Buffer.from('plain text'), message: /w\.img: unsupported or unrecognised image format; covseg reads NIfTI \(\.nii, \.nii\.gz\), NRRD/ },
  ];
  for (const c of cases) {
    writeFileSync(join(tmp, c.name), c.content);
    await assert.rejects(detectFormat(join(tmp, c.name)), c.message, c.name);
  }
});
