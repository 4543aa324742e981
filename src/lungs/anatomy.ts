/**
 * Lung masks that follow the anatomy, for any lung model's output on a CT with geometry
 * (in Hounsfield units). A model that sees one 2D slice at a time takes any dark region
 * for lung: stomach and bowel gas, the trachea, air around the patient. What it marks is
 * kept only where the anatomy agrees:
 *
 * - lungs lie inside the body (lungmask's per-slice body mask);
 * - lung is air-density tissue: the model's mask grows by a few millimetres into the
 *   air-density voxels next to it (a slice model under-segments thin bases and apices),
 *   and what the model marks that is dense (consolidation, ground glass) stays: the
 *   method's lung = lung ∪ lesion;
 * - lung parenchyma is air mixed with tissue and vessels, gas is air only: a piece whose
 *   air is nearly all as dark as the air outside the body is gas (stomach, bowel, or, in
 *   an axial slice, the trachea and main bronchi before they enter the lungs — lungmask's
 *   masks exclude them too) — unless it lies in the lung fields: a severely
 *   emphysematous lung is mostly pure air too, but it is large, wide, has no lung above
 *   it and comes with a lung on the other side, where gas below the diaphragm lies
 *   beneath the lung dome or lower than the lungs (what was kept or dropped is told, for
 *   the quality block);
 * - the lungs lie either side of the mediastinum: a piece's side is the side of the
 *   body's midline it lies on; one piece across the midline is both lungs touching,
 *   split per slice at the emptiest column between them;
 * - per side the lung is the largest 3D component (as lungmask keeps it) with what is
 *   attached to it; anything else (gas below the diaphragm, air in the body wall) is
 *   not attached to the lung and is dropped;
 * - holes are filled per slice and notches closed, so that vessels and dense lesions
 *   at the pleura stay inside; fluid next to the lung (pleural effusion) is neither air
 *   nor marked by the model, so it stays outside.
 *
 * Every rule is about anatomy and density relative to the scan's own air, not about one
 * scanner's numbers; the thresholds below are named and explained.
 */
import { createVolume, type LabelMap, type Vec3, type Volume, type VoxelArray } from '../volume/volume.js';
import { boundingBox, close, componentRuns, connectedComponents, cropToBox, fillHoles, keepLargestPerLabel, orientationCode, pasteBack, reorientToLps, undoReorient, type Connectivity } from '../volume/index.js';
import { bodyMaskR231 } from './r231-preprocess.js';
import { checkHu } from '../volume/index.js';

/** Below this a voxel is air-density (lung, gas); above, tissue. lungmask's body threshold, and the optimal lung threshold Hu et al. (IEEE TMI 2001) found (about −500 HU). */
export const AIR_DENSITY_HU = -500;
/** A voxel within this many HU of the scan's outside air is pure air: what gas holds and lung parenchyma (air mixed with tissue, about 150 HU above air) mostly does not. */
export const PURE_AIR_MARGIN_HU = 50;
/**
 * A piece whose voxels (those the model marked) are at least this share pure air is gas.
 * Emphysema rarely reaches it: the share of lung below −950 HU is under 10 % in healthy
 * lungs and about 20–35 % in severe COPD; a consolidated lung's air bronchograms are a
 * small share of it. (On the real CTs here: lungs ≤ 0.1 %, stomach and colon gas 65–87 %.)
 */
export const GAS_PURE_AIR_SHARE = 0.5;
/**
 * A 3D piece that is air only (see GAS_PURE_AIR_SHARE) is still lung — a severely
 * emphysematous lung, a giant bulla, mostly below −950 HU — when it lies in the lung
 * fields: at least this large (mL; bowel gas pockets, the trachea and the main bronchi
 * are smaller: the adult trachea holds about 30 mL), not beneath other lung (see
 * OVERLAIN_MAX_SHARE), not below the lungs' base, wide (AIR_LUNG_MIN_BODY_SHARE), and
 * with a lung on the other side of the midline (one with parenchyma, or another such
 * piece): lungs come in pairs, gas below the diaphragm lies beneath the lung dome or lower
 * than the lungs, and is narrower. A lone emphysematous lung (after pneumonectomy) is
 * dropped as gas, and the quality block says how much.
 */
export const AIR_LUNG_MIN_ML = 100;
/**
 * …and its widest axial section covers at least this share of the body's section there:
 * a lung fills much of its hemithorax (about a fifth to a quarter of the chest's section,
 * more when hyperinflated), a gastric bubble or a bowel loop a small part of the abdomen.
 */
export const AIR_LUNG_MIN_BODY_SHARE = 0.1;
/**
 * An air-only piece with more than this share of its footprint (its voxel columns along
 * the body's axis) lying under another piece the model marked is beneath a lung: gas
 * below the diaphragm (the gastric bubble under the left dome). A lung has no lung above it.
 */
export const OVERLAIN_MAX_SHARE = 0.2;
/** A piece the model marked counts as lying over another only when at least this share of the other's size (specks do not count). */
const OVERLYING_MIN_SHARE = 0.05;
/** A piece of one axial slice at most this large (mm²) and gas is airway or bowel: the adult trachea is at most about 25 mm across (≈ 490 mm²). */
export const AIRWAY_MAX_AREA_MM2 = 800;
/** From the airway pieces found, pure air is followed this far (mm) into the lung: the main bronchi up to the hilum. */
export const AIRWAY_FOLLOW_MM = 20;
/** A piece with at least this share of its voxels on each side of the body's midline is both lungs touching. */
export const BOTH_SIDES_MIN_SHARE = 0.15;
/** The growth reaches this far (mm) above and below the slices the model marks. */
export const GROW_BEYOND_MM = 10;
/** Notches of lung narrower than about twice this (mm, per slice) are closed. */
export const CLOSE_MM = 2;
/** The scan's air when none lies outside the body (a field of view inside the body). */
const DEFAULT_AIR_HU = -1000;

export interface AnatomicalLungsOptions {
  /** Let the mask grow into the air-density tissue joined to it; false keeps the model's boundary (lungmask's models, whose masks follow the pleura already). Defaults to true. */
  grow?: boolean;
}

/** What the rules removed, in mL. */
export interface AnatomyRemoved {
  /** Marked by the model outside the body. */
  outsideBodyMl: number;
  /** Gas (stomach, bowel) and airways (trachea, main bronchi). */
  gasMl: number;
  /** Not attached to either lung. */
  detachedMl: number;
  /** The largest gas piece dropped, mL. */
  largestGasMl: number;
  /** Gas pieces (3D, air only) dropped: what lies beneath the lungs or is too small to be lung (airways not counted). */
  droppedGasMl: number;
  /** Not removed: pieces that are air only but lie in the lung fields, kept as lung (emphysema, bullae; see {@link AIR_LUNG_MIN_ML}). */
  pureAirLungMl: number;
}

export interface AnatomicalLungs {
  /** 1 = right lung, 2 = left lung, on the CT's grid. */
  lungs: LabelMap;
  removed: AnatomyRemoved;
  /** The scan's air (median HU of the air outside the body), the reference for "pure air". */
  airHu: number;
}

/**
 * `mask` (nonzero = lung, as a model gave it, on `ct`'s grid) kept where the anatomy
 * agrees, as right (1) and left (2) lung. `ct` must be in Hounsfield units.
 */
export function anatomicalLungs(ct: Volume, mask: LabelMap, options: AnatomicalLungsOptions = {}): AnatomicalLungs {
  const grow = options.grow ?? true;
  const { volume: hu, back } = readLps(ct);
  const model = readLps(mask).volume;
  const dims = hu.dims;
  const [nx, ny, nz] = dims;
  const plane = nx * ny;
  const voxelMl = (hu.spacingMm[0] * hu.spacingMm[1] * hu.spacingMm[2]) / 1000;
  const removed: AnatomyRemoved = { outsideBodyMl: 0, gasMl: 0, detachedMl: 0, largestGasMl: 0, droppedGasMl: 0, pureAirLungMl: 0 };

  // The slices the model marks, and a few beyond (a slice model misses the tips of apex and base).
  let z0 = nz, z1 = -1;
  for (let z = 0; z < nz; z++) {
    const o = z * plane;
    for (let i = o; i < o + plane; i++) {
      if (model.data[i]) {
        z0 = Math.min(z0, z);
        z1 = z;
        break;
      }
    }
  }
  const empty = (): AnatomicalLungs => ({ lungs: back(createVolume(new Uint8Array(hu.data.length), dims, hu)), removed, airHu: DEFAULT_AIR_HU });
  if (z1 < 0) return empty();
  const beyond = grow ? Math.ceil(GROW_BEYOND_MM / hu.spacingMm[2]) : 0;
  z0 = Math.max(0, z0 - beyond);
  z1 = Math.min(nz - 1, z1 + beyond);

  // 1. Inside the body, per slice; the air outside it is the scan's own air.
  const m = new Uint8Array(hu.data.length);
  const body = new Uint8Array(hu.data.length);
  /** Body centre x per slice (the midline between the lungs). */
  const midline = new Float64Array(nz).fill((nx - 1) / 2);
  const outsideAir: number[] = [];
  let outside = 0;
  for (let z = z0; z <= z1; z++) {
    const o = z * plane;
    const b = bodyMaskR231(hu.data.subarray(o, o + plane), nx, ny);
    body.set(b, o);
    outside += bodyStats(b, model.data.subarray(o, o + plane), hu.data.subarray(o, o + plane), m.subarray(o, o + plane), nx, ny, midline, z, outsideAir);
  }
  removed.outsideBodyMl = outside * voxelMl;
  const airHu = outsideAir.length >= 50 ? median(outsideAir) : DEFAULT_AIR_HU;
  const pureAirBelow = airHu + PURE_AIR_MARGIN_HU;
  const single = nz === 1;
  const connectivity = single ? 8 : 26;

  // 2. The air-density tissue joined to what the model marks: lung parenchyma it missed.
  // Pure air is left out, so that the growth does not run into the trachea, a gas-filled
  // bowel or a pneumothorax through a partial-volume voxel.
  const grown = grow ? reachedFrom(m, allowedVoxels(m, body, hu.data, pureAirBelow), dims, connectivity) : m;
  const bbox = boundingBox(grown, dims);
  if (bbox.empty) return { ...empty(), airHu };

  // The rest works on the box around the lungs, with room to close.
  const inPlaneMm = Math.min(hu.spacingMm[0], hu.spacingMm[1]);
  const closeIt = Math.max(1, Math.round(CLOSE_MM / inPlaneMm));
  const pad = closeIt + 1;
  const lo: Vec3 = [Math.max(0, bbox.lo[0] - pad), Math.max(0, bbox.lo[1] - pad), bbox.lo[2]];
  const hi: Vec3 = [Math.min(nx, bbox.hi[0] + pad), Math.min(ny, bbox.hi[1] + pad), bbox.hi[2]];
  // A row length that is a multiple of 4 lets the morphology combine 4 voxels per word.
  while ((hi[0] - lo[0]) % 4 !== 0 && (hi[0] < nx || lo[0] > 0)) {
    if (hi[0] < nx) hi[0]++;
    else lo[0]--;
  }
  const crop = cropToBox(createVolume(grown, dims, hu), lo, hi);
  const lung = crop.volume.data;
  // Gas or lung is judged on what the model marked: the growth adds partial-volume rims to gas.
  const marked = cropToBox(createVolume(m, dims, hu), lo, hi).volume.data;
  const cHu = cropToBox(hu, lo, hi).volume.data;
  const cBody = cropToBox(createVolume(body, dims, hu), lo, hi).volume.data;
  const cd = crop.volume.dims;
  const [cx, cy, cz] = cd;
  const isGas = (stats: DensityStats, k: number) => stats.marked[k]! > 0 && stats.pure[k]! >= GAS_PURE_AIR_SHARE * stats.marked[k]!;

  // 3. 3D components: gas (air only) goes, unless it lies in the lung fields (an
  // emphysematous lung, a bulla); the rest gets its side of the midline.
  const comps = connectedComponents(lung, cd, { connectivity });
  const K = comps.sizes.length;
  const stats = densityStats(comps.labels, K, cHu, pureAirBelow, cd, midline, lo, marked);
  const gas = Uint8Array.from({ length: K }, (_, k) => (k > 0 && isGas(stats, k) ? 1 : 0));
  const bodyArea = new Int32Array(cz);
  for (let z = 0; z < cz; z++) bodyArea[z] = countNonzero(body.subarray((z + lo[2]) * plane, (z + lo[2] + 1) * plane));
  const airLung = airInLungFields(comps.labels, comps.sizes, gas, stats.right, bodyArea, cd, voxelMl);
  const side = new Uint8Array(K);
  const both = new Uint8Array(K);
  let gasVoxels = 0;
  for (let k = 1; k < K; k++) {
    const size = comps.sizes[k]!;
    if (gas[k] && !airLung[k]) {
      gasVoxels += size;
      removed.droppedGasMl += size * voxelMl;
      removed.largestGasMl = Math.max(removed.largestGasMl, size * voxelMl);
      continue;
    }
    if (airLung[k]) removed.pureAirLungMl += size * voxelMl;
    const share = stats.right[k]! / size;
    if (Math.min(share, 1 - share) >= BOTH_SIDES_MIN_SHARE) both[k] = 1;
    else side[k] = share >= 0.5 ? 1 : 2;
  }
  const sides = mapLabels(comps.labels, side);
  if (both.some((b) => b)) splitTouchingLungs(comps.labels, both, cx, cy, cz, sides);

  // 4. Airways: the trachea and main bronchi are joined to the lungs in 3D, but in an
  // axial slice they are small pieces of their own that hold only air.
  const pieces = connectedComponents(sides, cd, { connectivity: 8 });
  const pieceStats = densityStats(pieces.labels, pieces.sizes.length, cHu, pureAirBelow, cd, midline, lo, marked);
  const maxPieceVoxels = AIRWAY_MAX_AREA_MM2 / (hu.spacingMm[0] * hu.spacingMm[1]);
  const airway = new Uint8Array(pieces.sizes.length);
  for (let k = 1; k < airway.length; k++) airway[k] = pieces.sizes[k]! <= maxPieceVoxels && isGas(pieceStats, k) ? 1 : 0;
  const airwayVoxels = clearLabels(sides, pieces.labels, airway);
  // Where a bronchus meets the lung in a slice, it is followed on through pure air.
  const followed = followAirway(sides, pieces.labels, airway, cHu, pureAirBelow, cd, Math.round(AIRWAY_FOLLOW_MM / inPlaneMm));
  removed.gasMl = (gasVoxels + airwayVoxels + followed) * voxelMl;

  // 5. Per side the lung and what is attached to it.
  const kept = keepLargestPerLabel(sides, cd, { connectivity });
  removed.detachedMl = (countNonzero(sides) - countNonzero(kept)) * voxelMl;

  // 6. Holes per slice and narrow notches closed, each side on its own (closing both would bridge them).
  const out = new Uint8Array(kept.length);
  for (const label of [1, 2]) {
    const one = new Uint8Array(kept.length);
    if (!selectValue(kept, label, one)) continue;
    const closed = close(one, cd, { plane: '2d', iterations: closeIt });
    // Closing erodes at the grid border (scipy's semantics): it may only add, and only
    // tissue (a notch of pure air is an airway where it enters the lung).
    keepAddedTissue(closed, one, cHu, pureAirBelow);
    mergeLabel(out, fillHoles(closed, cd, { plane: '2d' }), cBody, one, label);
  }
  const full = pasteBack(createVolume(out, cd, crop.volume), crop.box);
  return { lungs: back(full), removed, airHu };
}

/**
 * A lungmask model's labels (both lungs, or the five lobes) kept where the anatomy agrees:
 * its own labels and boundary (no growth, no filling), minus what the rules drop (gas,
 * airways, what is outside the body or not attached to a lung).
 */
export function keepAnatomicalLabels(ct: Volume, labels: LabelMap): LabelMap {
  const { lungs } = anatomicalLungs(ct, labels, { grow: false });
  return createVolume(Uint8Array.from(labels.data, (v, i) => (lungs.data[i] ? v : 0)), labels.dims, labels);
}

/** lungmask's labels kept where the anatomy agrees, on CTs in HU; input forced through in other units stays as it came. */
export function lungmaskInAnatomy(ct: Volume, labels: LabelMap, isHu = checkHu(ct).isHu): LabelMap {
  return isHu ? keepAnatomicalLabels(ct, labels) : labels;
}

/**
 * `vol` in LPS index order, to read: `vol` itself when its axes already run that way (no
 * copy of a large CT), else a reoriented copy. `back` puts a label map on that grid onto `vol`'s.
 */
export function readLps<T extends VoxelArray>(vol: Volume<T>): { volume: Volume<T>; back: (labels: LabelMap) => LabelMap } {
  if (orientationCode(vol.direction) === 'LPS') return { volume: vol, back: (labels) => createVolume(labels.data, vol.dims, vol) };
  const { volume, transform } = reorientToLps(vol);
  return { volume, back: (labels) => undoReorient(labels, transform) };
}

// Small loops of their own: the engine optimises each for its array types (one big function's loops run slower).

/** Lungmask's body mask of one slice: adds the body centre x to `midline`, copies the model's voxels inside the body into `m`, samples the outside air; returns the model's voxels outside the body. */
function bodyStats(body: Uint8Array, model: VoxelArray, hu: VoxelArray, m: Uint8Array, nx: number, ny: number, midline: Float64Array, z: number, outsideAir: number[]): number {
  let sx = 0, n = 0, outside = 0;
  for (let y = 0, i = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++, i++) {
      if (body[i]) {
        sx += x;
        n++;
        if (model[i]) m[i] = 1;
      } else if (model[i]) {
        outside++;
      }
    }
  }
  // Every 7th voxel outside the body is plenty for a median; > −1100 keeps out-of-field padding (−2048, −3024) away.
  for (let i = 0; i < body.length; i += 7) {
    const v = hu[i]!;
    if (!body[i] && v < AIR_DENSITY_HU && v > -1100) outsideAir.push(v);
  }
  if (n) midline[z] = sx / n;
  return outside;
}

/** Where lung may extend: the model's voxels, and air-density voxels inside the body that are not pure air. */
function allowedVoxels(lung: Uint8Array, body: Uint8Array, hu: VoxelArray, pureBelow: number): Uint8Array {
  const out = new Uint8Array(lung.length);
  for (let i = 0; i < lung.length; i++) {
    const v = hu[i]!;
    out[i] = lung[i] || (body[i] && v < AIR_DENSITY_HU && v >= pureBelow) ? 1 : 0;
  }
  return out;
}

/** The components of `allowed` that hold a voxel of `seed`. */
function reachedFrom(seed: Uint8Array, allowed: Uint8Array, dims: Vec3, connectivity: Connectivity): Uint8Array {
  const runs = componentRuns(allowed, dims, { connectivity });
  const hit = new Uint8Array(runs.sizes.length);
  const nx = dims[0];
  for (let r = 0; r < runs.count; r++) {
    const k = runs.label[r]!;
    if (hit[k]) continue;
    const base = runs.row[r]! * nx;
    for (let j = base + runs.start[r]!, e = base + runs.end[r]!; j <= e; j++) {
      if (seed[j]) {
        hit[k] = 1;
        break;
      }
    }
  }
  const out = new Uint8Array(seed.length);
  for (let r = 0; r < runs.count; r++) {
    if (!hit[runs.label[r]!]) continue;
    const base = runs.row[r]! * nx;
    out.fill(1, base + runs.start[r]!, base + runs.end[r]! + 1);
  }
  return out;
}

/** `closed` = `own` ∪ the voxels closing added that are not pure air. */
function keepAddedTissue(closed: Uint8Array, own: Uint8Array, hu: VoxelArray, pureBelow: number): void {
  for (let i = 0; i < closed.length; i++) closed[i] = own[i] || (closed[i] && hu[i]! >= pureBelow) ? 1 : 0;
}

interface DensityStats {
  /** Per component: voxels the model marked, those of them that are pure air, and voxels on the patient's right of the midline. */
  marked: Int32Array;
  pure: Int32Array;
  right: Int32Array;
}

function densityStats(labels: Int32Array, count: number, hu: VoxelArray, pureBelow: number, dims: Vec3, midline: Float64Array, lo: Vec3, within: Uint8Array): DensityStats {
  const [nx, ny, nz] = dims;
  const marked = new Int32Array(count), pure = new Int32Array(count), right = new Int32Array(count);
  for (let z = 0, i = 0; z < nz; z++) {
    // LPS: x grows towards the patient's left, so the right lung lies at smaller x.
    const mid = midline[z + lo[2]]! - lo[0];
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        const k = labels[i]!;
        if (!k) continue;
        if (x < mid) right[k]!++;
        if (!within[i]) continue;
        marked[k]!++;
        if (hu[i]! < pureBelow) pure[k]!++;
      }
    }
  }
  return { marked, pure, right };
}

/**
 * Of the components flagged `gas` (air only), those in the lung fields (1), see
 * {@link AIR_LUNG_MIN_ML}: large, not lying beneath another component, and with their
 * centre not below the lowest slice of the largest component that is not gas (the lung
 * base, when a lung with parenchyma is in view). z grows towards the head (LPS).
 */
function airInLungFields(labels: Int32Array, sizes: number[], gas: Uint8Array, right: Int32Array, bodyArea: Int32Array, dims: Vec3, voxelMl: number): Uint8Array {
  const [nx, ny, nz] = dims;
  const plane = nx * ny;
  const K = sizes.length;
  const out = new Uint8Array(K);
  const candidates: number[] = [];
  for (let k = 1; k < K; k++) if (gas[k] && sizes[k]! * voxelMl >= AIR_LUNG_MIN_ML) candidates.push(k);
  if (!candidates.length) return out;
  // Lowest slice of each component, the centre slice and the widest section's share of the body of each.
  const bottom = new Int32Array(K).fill(nz), sumZ = new Float64Array(K), widest = new Float64Array(K);
  const area = new Int32Array(K);
  for (let z = 0, i = 0; z < nz; z++) {
    area.fill(0);
    for (let e = i + plane; i < e; i++) {
      const k = labels[i]!;
      if (!k) continue;
      if (z < bottom[k]!) bottom[k] = z;
      sumZ[k] += z;
      area[k]!++;
    }
    for (let k = 1; k < K; k++) if (area[k] && bodyArea[z]) widest[k] = Math.max(widest[k]!, area[k]! / bodyArea[z]!);
  }
  let lung = 0;
  for (let k = 1; k < K; k++) if (!gas[k] && sizes[k]! > (sizes[lung] ?? 0)) lung = k;
  /** Share of a component right of the midline: lungs on both sides, or one each side, make a pair. */
  const rightShare = (k: number) => right[k]! / sizes[k]!;
  const top = new Int32Array(plane);
  for (const k of candidates) {
    if (lung && sumZ[k]! / sizes[k]! < bottom[lung]!) continue;
    if (widest[k]! < AIR_LUNG_MIN_BODY_SHARE) continue;
    // The candidate's highest voxel per column, then the columns with another component above it.
    top.fill(-1);
    for (let z = 0, i = 0; z < nz; z++) for (let c = 0; c < plane; c++, i++) if (labels[i] === k) top[c] = z;
    let footprint = 0, overlain = 0;
    const overlying = (l: number) => l !== 0 && l !== k && sizes[l]! >= OVERLYING_MIN_SHARE * sizes[k]!;
    for (let c = 0; c < plane; c++) {
      if (top[c]! < 0) continue;
      footprint++;
      for (let z = top[c]! + 1; z < nz; z++) {
        if (overlying(labels[z * plane + c]!)) {
          overlain++;
          break;
        }
      }
    }
    if (overlain <= OVERLAIN_MAX_SHARE * footprint) out[k] = 1;
  }
  // A pair: each such piece needs lung on the other side of the midline (or spans both sides).
  const sideOf = (k: number) => (Math.min(rightShare(k), 1 - rightShare(k)) >= BOTH_SIDES_MIN_SHARE ? 3 : rightShare(k) >= 0.5 ? 1 : 2);
  let lungSides = 0;
  for (let k = 1; k < K; k++) if ((out[k] || (!gas[k] && sizes[k]! * voxelMl >= AIR_LUNG_MIN_ML))) lungSides |= sideOf(k);
  for (let k = 1; k < K; k++) if (out[k] && lungSides !== 3) out[k] = 0;
  return out;
}

/** Sets `mask` to 0 where `drop[labels]`; returns how many voxels were cleared. */
function clearLabels(mask: Uint8Array, labels: Int32Array, drop: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) {
    if (drop[labels[i]!]) {
      mask[i] = 0;
      n++;
    }
  }
  return n;
}

/**
 * Removes from `mask` the pure-air voxels reached from the voxels of the dropped labels
 * within `layers` face-neighbour steps; returns how many.
 */
function followAirway(mask: Uint8Array, labels: Int32Array, drop: Uint8Array, hu: VoxelArray, pureBelow: number, dims: Vec3, layers: number): number {
  const [nx, ny, nz] = dims;
  const plane = nx * ny;
  let frontier: number[] = [];
  for (let i = 0; i < labels.length; i++) if (drop[labels[i]!]) frontier.push(i);
  let removed = 0;
  for (let layer = 0; layer < layers && frontier.length; layer++) {
    const next: number[] = [];
    for (const i of frontier) {
      const x = i % nx, y = Math.floor(i / nx) % ny, z = Math.floor(i / plane);
      const visit = (j: number) => {
        if (mask[j] && hu[j]! < pureBelow) {
          mask[j] = 0;
          removed++;
          next.push(j);
        }
      };
      if (x > 0) visit(i - 1);
      if (x < nx - 1) visit(i + 1);
      if (y > 0) visit(i - nx);
      if (y < ny - 1) visit(i + nx);
      if (z > 0) visit(i - plane);
      if (z < nz - 1) visit(i + plane);
    }
    frontier = next;
  }
  return removed;
}

function mapLabels(labels: Int32Array, table: Uint8Array): Uint8Array {
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = table[labels[i]!]!;
  return out;
}

function countNonzero(a: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i]) n++;
  return n;
}

function selectValue(labels: Uint8Array, value: number, out: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === value) {
      out[i] = 1;
      n++;
    }
  }
  return n;
}

/** `out` gets `label` where `filled` and still free, inside the body (or where the side's own mask was). */
function mergeLabel(out: Uint8Array, filled: Uint8Array, body: Uint8Array, own: Uint8Array, label: number): void {
  for (let i = 0; i < out.length; i++) if (filled[i] && !out[i] && (body[i] || own[i])) out[i] = label;
}

function median(values: number[]): number {
  const s = Float64Array.from(values).sort();
  return s[s.length >> 1]!;
}

/**
 * One component holding both lungs (`keep[label]` nonzero) → each axial slice split at the
 * emptiest column of the middle part of its extent: `out` gets 1 (right, smaller x) or 2.
 */
export function splitTouchingLungs(labels: Int32Array, keep: Uint8Array, nx: number, ny: number, nz: number, out: Uint8Array): void {
  const plane = nx * ny;
  const columns = new Int32Array(nx);
  for (let z = 0; z < nz; z++) {
    columns.fill(0);
    let lo = nx, hi = -1;
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        if (keep[labels[z * plane + y * nx + x]!]) {
          columns[x]!++;
          lo = Math.min(lo, x);
          hi = Math.max(hi, x);
        }
      }
    }
    if (hi < 0) continue;
    // Emptiest column in the middle 40% of the lung's extent (ties: nearest the centre).
    const mid = (lo + hi) / 2, half = 0.2 * (hi - lo);
    let split = Math.round(mid);
    for (let x = Math.ceil(mid - half); x <= Math.floor(mid + half); x++) {
      if (columns[x]! < columns[split]! || (columns[x] === columns[split] && Math.abs(x - mid) < Math.abs(split - mid))) split = x;
    }
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const i = z * plane + y * nx + x;
        if (keep[labels[i]!]) out[i] = x < split ? 1 : 2;
      }
    }
  }
}
