/**
 * A synthetic whole-chest CT in Hounsfield units, for what no real file here shows: a
 * body (soft tissue) with two lungs (−850 HU, a little noise), a trachea and main
 * bronchi (air), ribs, and below the diaphragm a gastric bubble and bowel gas. Built in
 * LPS (x → patient's left, y → posterior, z → superior) with 3 mm voxels, with a mask of
 * every structure, so tests can hand the lung post-processing any "model output".
 */
import { createVolume, type LabelMap, type Vec3, type Volume } from '../../src/volume/volume.js';
import { confusion, diceFromCounts } from '../../src/metrics/index.js';

export interface ChestPhantomOptions {
  /** The lungs reach the midline and touch in front of the heart. Defaults to false. */
  touching?: boolean;
  /** Include the trachea and main bronchi. Defaults to true. */
  trachea?: boolean;
  /** Include the ribs (bone ring segments in the chest wall). Defaults to true. */
  ribs?: boolean;
  /** Include a ~150 mL gastric bubble under the left lung and bowel gas lower down. Defaults to true. */
  abdominalGas?: boolean;
  /** Include the lungs. Defaults to true. */
  lungs?: boolean;
  /** HU of the left lung's consolidated part (e.g. +30), from its base up to `consolidatedUpTo`. Defaults to none. */
  consolidatedHu?: number;
  /** Fraction (0–1) of the left lung's height that is consolidated, from the base. Defaults to 1 (the whole lung). */
  consolidatedUpTo?: number;
  /** Severe emphysema: the lower 80 % of the left lung (or of both) almost pure air, −980 HU. Defaults to none. */
  emphysema?: 'left' | 'both';
  /** A right pleural effusion (fluid, +10 HU) in the posterior part of the right pleural space. Defaults to false. */
  effusion?: boolean;
  /** Slices; the lungs fill the upper part, the abdomen the lower. Defaults to 64. */
  slices?: number;
}

export interface ChestPhantom {
  ct: Volume<Int16Array>;
  /** 1 = right lung, 2 = left lung (consolidated parts included, effusion excluded). */
  lungs: LabelMap;
  trachea: LabelMap;
  stomach: LabelMap;
  bowel: LabelMap;
  effusion: LabelMap;
}

export const PHANTOM_SPACING: Vec3 = [3, 3, 3];
/** Bowel gas: small pockets in the lower abdomen, [x, y, z, radius] in mm. */
const BOWEL_GAS: readonly (readonly [number, number, number, number])[] = [[-60, -40, 25, 14], [30, -60, 15, 12], [70, 0, 35, 10], [-20, -10, 40, 11]];
const built = new Map<string, ChestPhantom>();

/** The phantom for `options`, built once per process (tests must not change it). */
export function chestPhantom(options: ChestPhantomOptions = {}): ChestPhantom {
  const key = JSON.stringify(options);
  let p = built.get(key);
  if (!p) built.set(key, (p = buildChestPhantom(options)));
  return p;
}

function buildChestPhantom(options: ChestPhantomOptions): ChestPhantom {
  const nx = 128, ny = 96, nz = options.slices ?? 64;
  const [sx, sy, sz] = PHANTOM_SPACING;
  const n = nx * ny * nz;
  const hu = new Int16Array(n).fill(-1000);
  const lungs = new Uint8Array(n), trachea = new Uint8Array(n), stomach = new Uint8Array(n), bowel = new Uint8Array(n), effusion = new Uint8Array(n);
  // World mm of voxel centres, centred on the grid.
  const X = (x: number) => (x - (nx - 1) / 2) * sx;
  const Y = (y: number) => (y - (ny - 1) / 2) * sy;
  const Z = (z: number) => z * sz;
  const top = Z(nz - 1);
  /** Lung apices 12 mm below the top slice, bases ~45 % of the way up: the abdomen below. */
  const apex = top - 12, base = 0.42 * top;
  const lungHalfZ = (apex - base) / 2, lungMidZ = (apex + base) / 2;
  const lungCx = options.touching ? 62 : 75, lungRx = options.touching ? 62 : 55;
  const carinaZ = lungMidZ + 0.35 * lungHalfZ;
  let seed = 12345;
  const noise = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return (seed / 0x7fffffff - 0.5) * 60; // ±30 HU
  };
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const i = x + nx * (y + ny * z);
        const wx = X(x), wy = Y(y), wz = Z(z);
        const body = (wx / 175) ** 2 + (wy / 125) ** 2 <= 1;
        if (!body) continue;
        hu[i] = 40;
        if (options.ribs ?? true) {
          const r = (wx / 175) ** 2 + (wy / 125) ** 2;
          // Rib segments in the chest wall, 20 mm apart in z, over the lungs' height and a little below.
          if (r > 0.8 && r < 0.86 && wz > base - 40 && Math.abs(((wz % 20) + 20) % 20 - 10) < 4 && Math.abs(Math.sin(Math.atan2(wy, wx) * 6)) > 0.3) hu[i] = 700;
        }
        if (options.lungs ?? true) {
          for (let side = 1; side <= 2; side++) {
            const cx = side === 1 ? -lungCx : lungCx;
            const inLung = ((wx - cx) / lungRx) ** 2 + ((wy - 5) / 85) ** 2 + ((wz - lungMidZ) / lungHalfZ) ** 2 <= 1;
            // Touching lungs meet at the midline only in front (the heart keeps them apart behind).
            if (inLung && !(options.touching && Math.abs(wx) < 8 && wy > -20)) {
              const inEffusion = options.effusion && side === 1 && wy > 55 && wz < lungMidZ;
              if (inEffusion) {
                hu[i] = 10;
                effusion[i] = 1;
                continue;
              }
              lungs[i] = side;
              hu[i] = Math.round(-850 + noise());
              const upTo = base + (options.consolidatedUpTo ?? 1) * (apex - base);
              if (side === 2 && options.consolidatedHu !== undefined && wz <= upTo) hu[i] = Math.round(options.consolidatedHu + noise() / 3);
              const emphysematous = options.emphysema === 'both' || (options.emphysema === 'left' && side === 2);
              if (emphysematous && wz <= base + 0.8 * (apex - base)) hu[i] = Math.round(-980 + noise() / 3);
            }
          }
        }
        if (options.trachea ?? true) {
          const inTrachea = (wx * wx + (wy + 30) ** 2) <= 81 && wz >= carinaZ;
          // Main bronchi: from the carina down and out to each lung's medial surface.
          let inBronchus = false;
          for (const dir of [-1, 1]) {
            const t = (carinaZ - wz) / 40;
            if (t >= 0 && t <= 1) inBronchus ||= (wx - dir * 40 * t) ** 2 + (wy + 30 - 25 * t) ** 2 <= 36;
          }
          if (inTrachea || inBronchus) {
            hu[i] = -1000;
            if (!lungs[i]) trachea[i] = 1;
          }
        }
        if (options.abdominalGas ?? true) {
          // Gastric bubble (~150 mL) under the left hemidiaphragm, 10 mm below the lung base.
          if (((wx - 60) / 35) ** 2 + ((wy + 30) / 35) ** 2 + ((wz - (base - 40)) / 30) ** 2 <= 1) {
            hu[i] = -1000;
            stomach[i] = 1;
          }
          for (const [bx, by, bz, r] of BOWEL_GAS) {
            if ((wx - bx) ** 2 + (wy - by) ** 2 + (wz - bz) ** 2 <= r * r) {
              hu[i] = -1000;
              bowel[i] = 1;
            }
          }
        }
      }
    }
  }
  const geometry = { spacingMm: PHANTOM_SPACING, origin: [X(0), Y(0), Z(0)] as Vec3 };
  const label = (d: Uint8Array) => createVolume(d, [nx, ny, nz], geometry);
  return { ct: createVolume(hu, [nx, ny, nz], geometry), lungs: label(lungs), trachea: label(trachea), stomach: label(stomach), bowel: label(bowel), effusion: label(effusion) };
}

/** What a slice model that takes every dark region for lung would mark: every voxel below −400 HU inside the body. */
export function everythingDark(p: ChestPhantom): LabelMap {
  const body = (i: number) => p.ct.data[i]! > -1000 || p.trachea.data[i] || p.stomach.data[i] || p.bowel.data[i] || p.lungs.data[i];
  return createVolume(Uint8Array.from(p.ct.data, (v, i) => (v < -400 && body(i) ? 1 : 0)), p.ct.dims, p.ct);
}

/** Voxel counts of `a` (nonzero) inside `b` (nonzero, or equal to `value`). */
export function overlap(a: LabelMap, b: LabelMap, value?: number): number {
  let n = 0;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] && (value === undefined ? b.data[i] : b.data[i] === value)) n++;
  return n;
}

export function count(a: LabelMap, value?: number): number {
  let n = 0;
  for (const v of a.data) if (value === undefined ? v : v === value) n++;
  return n;
}

/** Dice of label `value` of `a` against label `value` of `b` (any nonzero when omitted). */
export function dice(a: LabelMap, b: LabelMap, value?: number): number {
  const pick = (m: LabelMap) => (value === undefined ? m.data : Uint8Array.from(m.data, (v) => +(v === value)));
  return diceFromCounts(confusion(pick(a), pick(b)));
}
