/**
 * Small real scans for the batch tests: cropped copies of the small CT volume (NIfTI),
 * the chest CT DICOM slice, and Zenodo PNG slices, so that each case takes seconds.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readVolume, writeVolume } from '../../src/io/index.js';
import { cropToBox } from '../../src/volume/crop-pad.js';
import type { Vec3 } from '../../src/volume/volume.js';
import { needsShared, sharedPath } from '../helpers/shared-data.js';

const SMALL_CT = sharedPath('small-ct-volume/example_ct_sm.nii.gz');
const DICOM_SLICE = sharedPath('chest-ct-dicom-slice/0.dcm');
const PNG_DIR = sharedPath('zenodo20-slices/ct');

/** `skip` value for the tests that need the shared data: false when it is there, else why not. */
export function needsScans(): false | string {
  return needsShared('small-ct-volume/example_ct_sm.nii.gz') || needsShared('chest-ct-dicom-slice/0.dcm') || needsShared('zenodo20-slices/ct');
}

/** Writes `n` small scans into `dir` (volumes: crops of the small CT at shifting slabs; a DICOM slice; PNG slices); returns their paths. */
export async function makeScans(dir: string, n: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const ct = await readVolume(SMALL_CT);
  const [nx, ny, nz] = ct.dims;
  const paths: string[] = [];
  const volumes = Math.ceil(n / 2);
  for (let i = 0; i < volumes; i++) {
    // Slabs of 20 slices through the lungs (the top of the small CT) shifted by one, and a margin that moves in x: each a different scan.
    const lo: Vec3 = [i % 3, 0, Math.max(0, nz - 20 - (i % 6))];
    const hi: Vec3 = [nx - ((i + 1) % 3), ny, lo[2] + 20];
    const p = join(dir, `ct-${String(i).padStart(2, '0')}.nii.gz`);
    await writeVolume(p, cropToBox(ct, lo, hi).volume);
    paths.push(p);
  }
  if (paths.length < n) {
    const p = join(dir, 'chest-slice.dcm');
    await copyFile(DICOM_SLICE, p);
    paths.push(p);
  }
  for (let i = 0; paths.length < n; i++) {
    const p = join(dir, `slice-${String(i).padStart(4, '0')}.png`);
    await copyFile(join(PNG_DIR, `${String(100 + 37 * i).padStart(4, '0')}.png`), p);
    paths.push(p);
  }
  return paths;
}
