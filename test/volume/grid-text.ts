/** Masks drawn as text for the volume tests. */
import type { Vec3 } from '../../src/volume/index.js';

/** A mask from rows of text: one string per row, slices separated by '|'; digits are values, '.' is 0. */
export function grid(text: string): { mask: Uint8Array; dims: Vec3 } {
  const slices = text.split('|').map((s) => s.trim().split(/\s+/));
  const ny = slices[0]!.length;
  const nx = slices[0]![0]!.length;
  const mask = new Uint8Array(nx * ny * slices.length);
  let i = 0;
  for (const rows of slices) for (const row of rows) for (const ch of row) mask[i++] = ch === '.' ? 0 : Number(ch);
  return { mask, dims: [nx, ny, slices.length] };
}

/** The inverse of {@link grid} for 0/1 masks: '1' foreground, '.' background. */
export function gridText(mask: Uint8Array, dims: Vec3): string {
  const rows: string[] = [];
  for (let z = 0; z < dims[2]; z++) {
    for (let y = 0; y < dims[1]; y++) rows.push(Array.from(mask.subarray((z * dims[1] + y) * dims[0], (z * dims[1] + y + 1) * dims[0]), (v) => (v ? '1' : '.')).join(''));
    if (z < dims[2] - 1) rows.push('|');
  }
  return rows.join(' ');
}
