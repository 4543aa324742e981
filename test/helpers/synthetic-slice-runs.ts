/**
 * Synthetic zenodo-slices folders (ct/, lungs/, covid/ 8-bit PNGs and slices.csv) whose
 * groups are runs of slices of a phantom chest at chosen heights, so a test knows where
 * the gaps are.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writePng } from '../../src/io/raster.js';

export const SIZE = 64;

/**
 * One synthetic axial slice at height `z` (mm) of a phantom chest: a body ellipse, two lung
 * ellipses whose size changes slowly with z, a spine that moves with z, and a lesion blob.
 * `gamma` bends the grey values as the export's per-slice scaling and CLAHE do.
 */
export function phantomSlice(z: number, gamma = 1): { ct: Uint8Array; lung: Uint8Array; lesion: Uint8Array } {
  const ct = new Uint8Array(SIZE * SIZE);
  const lung = new Uint8Array(SIZE * SIZE);
  const lesion = new Uint8Array(SIZE * SIZE);
  const r = 10 + 4 * Math.sin(z / 40);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const i = y * SIZE + x;
      const body = ((x - 32) / 28) ** 2 + ((y - 32) / 22) ** 2 < 1;
      const inLung = ((Math.abs(x - 32) - 13) / (r * 0.6)) ** 2 + ((y - 30) / r) ** 2 < 1;
      const spine = (x - 32) ** 2 + (y - 48 + 6 * Math.sin(z / 25)) ** 2 < 16;
      let v = body ? 140 : 10;
      if (inLung) v = 40;
      if (spine) v = 240;
      const blob = inLung && (x - 22) ** 2 + (y - 30 - 3 * Math.sin(z / 30)) ** 2 < 9;
      if (blob) v = 110;
      ct[i] = Math.round(255 * (v / 255) ** gamma);
      lung[i] = inLung ? 255 : 0;
      lesion[i] = blob ? 255 : 0;
    }
  }
  return { ct, lung, lesion };
}

/** A zenodo-slices folder of synthetic groups: group → slice heights (mm). */
export async function writeSliceSet(root: string, groups: Record<string, number[]>): Promise<void> {
  for (const dir of ['ct', 'lungs', 'covid']) await mkdir(join(root, dir), { recursive: true });
  const rows = ['file,patient_group,source'];
  let n = 0;
  for (const [group, zs] of Object.entries(groups)) {
    for (const z of zs) {
      const name = `${String(n++).padStart(4, '0')}.png`;
      const s = phantomSlice(z);
      const png = (dir: string, data: Uint8Array) => writePng(join(root, dir, name), { width: SIZE, height: SIZE, channels: 1, data });
      await png('ct', s.ct);
      await png('lungs', s.lung);
      await png('covid', s.lesion);
      rows.push(`${name},${group},${group.split('_')[0]}`);
    }
  }
  await writeFile(join(root, 'slices.csv'), rows.join('\n') + '\n');
}

