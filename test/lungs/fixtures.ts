/** Loaders for test/fixtures/lungmask/ (written by scripts/make-lungmask-fixtures.py). */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PROJECT_ROOT } from '../helpers/shared-data.js';
import { createVolume, type Mat3, type Vec3, type Volume } from '../../src/volume/volume.js';

export const FIXTURES = resolve(PROJECT_ROOT, 'test/fixtures/lungmask');

export function fixturePath(name: string): string {
  return resolve(FIXTURES, name);
}

export interface ModelReference {
  files: string[];
  classes: number;
  widths: number[];
  keys: number;
  minTop2LogProbGap: number;
  argmaxCounts: number[];
  postprocessedCounts: number[];
  labelCounts: number[];
}

export interface Reference {
  ct: { file: string; dims: Vec3; spacingMm: Vec3; origin: Vec3; direction: Mat3 };
  /** [y0, x0, y1, x1] per slice of the LPS-oriented volume, end exclusive. */
  bodyBoxes: [number, number, number, number][];
  probabilitySubset: { start: number; step: number };
  models: { r231: ModelReference; lobes: ModelReference };
}

export const reference = JSON.parse(readFileSync(fixturePath('reference.json'), 'utf8')) as Reference;

function gz(name: string): Buffer {
  return gunzipSync(readFileSync(fixturePath(name)));
}

/** A copy with its own aligned buffer. */
export function readInt16(name: string): Int16Array {
  const b = gz(name);
  return new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function readFloat32(name: string): Float32Array {
  const b = gz(name);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function readUint8(name: string): Uint8Array {
  return new Uint8Array(gz(name));
}

/** The synthetic CT in its stored geometry (NIfTI-like direction diag(−1, −1, 1)). */
export function referenceCt(): Volume<Int16Array> {
  const { dims, spacingMm, origin, direction } = reference.ct;
  return createVolume(readInt16(reference.ct.file), dims, { spacingMm, origin, direction });
}

/**
 * The lungmask fixture CT with a slice of air above and below (so the lungs are wholly in
 * view) and voxels large enough for adult lungs (the fixture's are a child's 60 mL): a scan
 * the report grades and scores. The networks work per slice at 256 × 256, so neither
 * change alters what they see of the lungs.
 */
export function scoredCt(): Volume<Int16Array> {
  const ct = referenceCt();
  const [nx, ny, nz] = ct.dims;
  const slice = nx * ny;
  const data = new Int16Array(slice * (nz + 2)).fill(-1000);
  data.set(ct.data, slice);
  const spacingMm: [number, number, number] = [ct.spacingMm[0] * 4, ct.spacingMm[1] * 4, ct.spacingMm[2] * 3.5];
  return createVolume(data, [nx, ny, nz + 2], { spacingMm, direction: ct.direction, origin: [ct.origin[0], ct.origin[1], ct.origin[2] - spacingMm[2]] });
}

/** The reference's network input: the resized int16 slices, normalised as lungmask does. */
export function referenceNetworkInput(): { input: Float32Array; count: number } {
  const hu = readInt16('preprocessed.i16.raw.gz');
  const input = new Float32Array(hu.length);
  for (let i = 0; i < hu.length; i++) input[i] = (hu[i]! + 1024) / 1624;
  return { input, count: hu.length / (256 * 256) };
}

/**
 * Picks the probability subset the fixture stores ([slice][class][y][x] on the grid
 * start, start + step, …) from full log-probabilities [slice][class][256][256].
 */
export function probabilitySubset(logProbabilities: Float32Array, count: number, classes: number): Float32Array {
  const { start, step } = reference.probabilitySubset;
  const side = Math.ceil((256 - start) / step);
  const out = new Float32Array(count * classes * side * side);
  let o = 0;
  for (let s = 0; s < count * classes; s++) {
    for (let y = start; y < 256; y += step) {
      for (let x = start; x < 256; x += step) out[o++] = Math.exp(logProbabilities[s * 65536 + y * 256 + x]!);
    }
  }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Number of positions where the arrays differ. */
export function countDiffering(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

export function labelCounts(labels: ArrayLike<number>, classes: number): number[] {
  const c = new Array<number>(classes).fill(0);
  for (let i = 0; i < labels.length; i++) c[labels[i]!]!++;
  return c;
}
