/**
 * Hand-patched NIfTI-1 files for reader tests: covseg's own header for a volume, then
 * whatever field a test wants broken (a negative dim, a zero pixdim, no sform).
 */
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { encodeNiftiHeader } from '../../src/io/nifti.js';
import type { Volume } from '../../src/volume/volume.js';

/** Byte offsets of NIfTI-1 header fields (little endian as covseg writes them). */
export const NIFTI1 = { dim: 40, pixdim: 76, qformCode: 252, sformCode: 254, quatern: 256, srow: 280 } as const;

/**
 * Writes `vol` as a single-file NIfTI-1 at `path` (gzipped when the name ends in .gz),
 * its 352-byte header first handed to `patch` as a little-endian DataView.
 */
export function writePatchedNifti(path: string, vol: Volume, patch: (header: DataView) => void = () => {}): string {
  const header = encodeNiftiHeader(vol, path);
  patch(new DataView(header.buffer, header.byteOffset, header.byteLength));
  const bytes = Buffer.concat([header, new Uint8Array(vol.data.buffer, vol.data.byteOffset, vol.data.byteLength)]);
  writeFileSync(path, path.endsWith('.gz') ? gzipSync(bytes) : bytes);
  return path;
}

/** Sets pixdim[1..3] (NaN allowed) and, unless `keepSform`, drops the sform so the qform and pixdim give the geometry. */
export function unknownPixdim(pixdim: [number, number, number], keepSform = false): (v: DataView) => void {
  return (v) => {
    pixdim.forEach((x, i) => v.setFloat32(NIFTI1.pixdim + 4 * (i + 1), x, true));
    if (!keepSform) v.setInt16(NIFTI1.sformCode, 0, true);
  };
}
