/**
 * A hand-built chest for the clinical tests: two box lungs of 6 × 6 × 9 voxels (2 × 2 × 6 mm)
 * with a voxel of background all round, lesions and densities put where the test says.
 *
 * Grid [15, 8, 11], identity direction (x → patient left, y → posterior, z → superior):
 * right lung x 1–6, left lung x 8–13; both y 1–6, z 1–9. Each lung's thirds are z 7–9
 * (upper), 4–6 (middle), 1–3 (lower); its ventral half y 1–3, dorsal half y 4–6; its
 * peripheral part (distance to the surface ≤ a third of the greatest depth, 6 mm) the
 * outer ring of each slice (20 voxels), its central part the 4 × 4 core (16 voxels).
 */
import { createVolume, type LabelMap, type Mat3, type Vec3, type Volume } from '../../src/volume/volume.js';

export const DIMS: Vec3 = [15, 8, 11];
export const SPACING: Vec3 = [2, 2, 6];
export const AERATED_HU = -850;

export interface Phantom {
  ct: Volume<Int16Array>;
  lungs: LabelMap;
  lesions: LabelMap;
  lobes: LabelMap;
}

export const index = (x: number, y: number, z: number) => x + DIMS[0] * (y + DIMS[1] * z);

/** The empty chest: both lungs at normally aerated density, no lesion; lobes RUL/RML/RLL by thirds, LUL z 5–9, LLL z 1–4. */
export function phantom(): Phantom {
  const n = DIMS[0] * DIMS[1] * DIMS[2];
  const ct = new Int16Array(n).fill(40);
  const lungs = new Uint8Array(n);
  const lobes = new Uint8Array(n);
  for (let z = 1; z <= 9; z++) {
    for (let y = 1; y <= 6; y++) {
      for (let x = 1; x <= 13; x++) {
        if (x === 7) continue;
        const i = index(x, y, z);
        const right = x <= 6;
        lungs[i] = right ? 1 : 2;
        ct[i] = AERATED_HU;
        lobes[i] = right ? (z >= 7 ? 3 : z >= 4 ? 4 : 5) : z >= 5 ? 1 : 2;
      }
    }
  }
  const g = { spacingMm: SPACING };
  return { ct: createVolume(ct, DIMS, g), lungs: createVolume(lungs, DIMS, g), lesions: createVolume(new Uint8Array(n), DIMS, g), lobes: createVolume(lobes, DIMS, g) };
}

/** Marks lesion (and sets the density, when given) on every voxel of the box lo..hi (inclusive). */
export function paint(p: Phantom, lo: Vec3, hi: Vec3, hu?: number, lesion = true): void {
  for (let z = lo[2]; z <= hi[2]; z++) for (let y = lo[1]; y <= hi[1]; y++) for (let x = lo[0]; x <= hi[0]; x++) {
    const i = index(x, y, z);
    if (lesion) p.lesions.data[i] = 1;
    if (hu !== undefined) p.ct.data[i] = hu;
  }
}

/**
 * The unilateral case: right lung with ground glass (−600 HU) on the 4 × 4 core of its top
 * slice, consolidation (−100 HU) on the dorsal half of its bottom slice, and outside the
 * lesion 6 emphysema-range voxels, one vessel, one infiltrated voxel; left lung clear.
 */
export function unilateral(): Phantom {
  const p = phantom();
  paint(p, [2, 2, 9], [5, 5, 9], -600);
  paint(p, [1, 4, 1], [6, 6, 1], -100);
  paint(p, [1, 1, 5], [6, 1, 5], -980, false);
  paint(p, [3, 3, 5], [3, 3, 5], 50, false);
  paint(p, [4, 4, 5], [4, 4, 5], -500, false);
  return p;
}

/** The unilateral case plus the left lung's upper third all affected and rows y 1–4 of its middle third. */
export function bilateral(): Phantom {
  const p = unilateral();
  paint(p, [8, 1, 7], [13, 6, 9], -650);
  paint(p, [8, 1, 4], [13, 4, 6], -300);
  return p;
}

/** The same volume on a grid whose axes run the other way or are swapped: the figures must not change. */
export function reoriented(p: Phantom, kind: 'flip-z' | 'swap-xy' | 'z-first'): Phantom {
  const [nx, ny, nz] = DIMS;
  const [sx, sy, sz] = SPACING;
  // Index axis → world: flip-z runs z downwards from the top slice; swap-xy makes index x run
  // along world y; z-first stores world z along index x (then world x, world y).
  const grids = {
    'flip-z': { dims: [nx, ny, nz], spacing: [sx, sy, sz], direction: [1, 0, 0, 0, 1, 0, 0, 0, -1], origin: [0, 0, (nz - 1) * sz], map: (x: number, y: number, z: number) => x + nx * (y + ny * (nz - 1 - z)) },
    'swap-xy': { dims: [ny, nx, nz], spacing: [sy, sx, sz], direction: [0, 1, 0, 1, 0, 0, 0, 0, 1], origin: [0, 0, 0], map: (x: number, y: number, z: number) => y + ny * (x + nx * z) },
    'z-first': { dims: [nz, nx, ny], spacing: [sz, sx, sy], direction: [0, 1, 0, 0, 0, 1, 1, 0, 0], origin: [0, 0, 0], map: (x: number, y: number, z: number) => z + nz * (x + nx * y) },
  } as const;
  const g = grids[kind];
  const move = <T extends Int16Array | Uint8Array>(v: Volume<T>): Volume<T> => {
    const out = new (v.data.constructor as new (n: number) => T)(v.data.length);
    for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) out[g.map(x, y, z)] = v.data[index(x, y, z)]!;
    return createVolume(out, [...g.dims] as Vec3, { spacingMm: [...g.spacing] as Vec3, direction: [...g.direction] as Mat3, origin: [...g.origin] as Vec3 });
  };
  return { ct: move(p.ct), lungs: move(p.lungs), lesions: move(p.lesions), lobes: move(p.lobes) };
}
