/**
 * Hostile and careless input to the readers: corrupt NIfTI headers, unknown voxel
 * sizes, non-finite voxels, lying PNG/JPEG headers and images too large to decode.
 * Every file is synthetic, written here into a temporary folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readImage } from '../../src/io/index.js';
import { encodeNiftiHeader } from '../../src/io/nifti.js';
import { createVolume, type Volume } from '../../src/volume/volume.js';

const tmp = mkdtempSync(join(tmpdir(), 'covseg-hostile-'));

/** A 2×2×2 int16 CT-like volume at 0.8 × 0.8 × 2.5 mm. */
function smallCt(): Volume {
  return createVolume(Int16Array.from([-1000, -900, -800, 40, 60, 300, -1024, 500]), [2, 2, 2], { spacingMm: [0.8, 0.8, 2.5] });
}

/** A NIfTI-1 file of `vol`, its header patched by `patch` (a DataView over the 352 header bytes, little endian). */
function niftiFile(name: string, vol: Volume, patch: (v: DataView) => void = () => {}, gzip = false): string {
  const header = encodeNiftiHeader(vol, name);
  patch(new DataView(header.buffer, header.byteOffset, header.byteLength));
  const data = new Uint8Array(vol.data.buffer, vol.data.byteOffset, vol.data.byteLength);
  const bytes = Buffer.concat([header, data]);
  const path = join(tmp, name);
  writeFileSync(path, gzip ? gzipSync(bytes) : bytes);
  return path;
}

/** NIfTI-1 field offsets used below. */
const DIM = 40;
const PIXDIM = 76;

test('NIfTI: a dim below 1 or a dim[0] outside 1–7 is refused with the header field named', async () => {
  const cases: { name: string; patch: (v: DataView) => void; message: RegExp }[] = [
    { name: 'dim1-negative.nii', patch: (v) => v.setInt16(DIM + 2, -5, true), message: /dim1-negative\.nii: NIfTI header dim\[1\] = -5; each image dimension must be ≥ 1/ },
    { name: 'dim1-zero.nii', patch: (v) => v.setInt16(DIM + 2, 0, true), message: /dim1-zero\.nii: NIfTI header dim\[1\] = 0; each image dimension must be ≥ 1/ },
    { name: 'dim3-zero.nii.gz', patch: (v) => v.setInt16(DIM + 6, 0, true), message: /dim3-zero\.nii\.gz: NIfTI header dim\[3\] = 0; each image dimension/ },
    { name: 'dim0-zero.nii', patch: (v) => v.setInt16(DIM, 0, true), message: /dim0-zero\.nii: NIfTI header dim\[0\] = 0; the number of dimensions must be 1–7/ },
    { name: 'dim0-eight.nii', patch: (v) => v.setInt16(DIM, 8, true), message: /dim0-eight\.nii: NIfTI header dim\[0\] = 8; the number of dimensions must be 1–7/ },
  ];
  for (const c of cases) {
    const path = niftiFile(c.name, smallCt(), c.patch, c.name.endsWith('.gz'));
    await assert.rejects(readImage(path), c.message, c.name);
  }
  // dim[4..7] beyond dim[0] are not image dimensions: whatever they hold is ignored.
  const path = niftiFile('dim5-beyond.nii', smallCt(), (v) => v.setInt16(DIM + 10, -3, true));
  assert.deepEqual((await readImage(path)).volume.dims, [2, 2, 2]);
});
