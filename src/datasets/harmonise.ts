/**
 * Label harmonisation: every source's masks become the method's two labels,
 * lesion = ground-glass opacity ∪ consolidation and lung = lung ∪ lesion
 * (the method report, step 5: "only affected (GGO or consolidation) and lung").
 */
import { createVolume, indexToWorld, type LabelMap, type Volume, type VoxelArray } from '../volume/volume.js';

/**
 * How a source encodes its lesion mask:
 * - `nonzero`: any value ≥ 0.5 is lesion (MosMed's {0,1}; Zenodo infection masks, whose
 *   Kaggle copy holds non-integer values near 1);
 * - `ggo-consolidation`: 1 ground-glass opacity and 2 consolidation are lesion, 3 pleural
 *   effusion and anything else is not (MedSeg masks; COVID-SemiSeg's palette masks, which
 *   have no 3);
 * - `grey-0-255`: 8-bit masks stored as 0/255 grey pictures; ≥ 128 is lesion (zenodo-slices
 *   `covid/`, COVID-SemiSeg's binary `GT/`).
 */
export type LesionLabels = 'nonzero' | 'ggo-consolidation' | 'grey-0-255';

/**
 * How a source encodes its lung mask:
 * - `labels`: integer labels, each lung its own label or both one label (values are
 *   rounded, so float-stored labels work);
 * - `grey-0-255`: 0/255 grey picture, ≥ 128 is lung.
 */
export type LungLabels = 'labels' | 'grey-0-255';

export interface HarmoniseLesionOptions {
  /** The source's encoding. Defaults to 'nonzero'. */
  labels?: LesionLabels;
}

/** The binary lesion mask (1 = GGO ∪ consolidation) of a source mask, on the same grid. */
export function harmoniseLesion(mask: Volume, options: HarmoniseLesionOptions = {}): LabelMap {
  const labels = options.labels ?? 'nonzero';
  const threshold = labels === 'grey-0-255' ? 128 : 0.5;
  const isLesion = labels === 'ggo-consolidation' ? (v: number) => { const r = Math.round(v); return r === 1 || r === 2; } : (v: number) => v >= threshold;
  return createVolume(mapLabels(mask.data, isLesion), mask.dims, mask);
}

/**
 * `out[i] = f(src[i]) ? 1 : 0`. Masks are mostly stored as 8- or 16-bit integers: for those
 * `f` is evaluated once per possible value into a table, which makes a 512×512×300 mask
 * a plain table lookup per voxel.
 */
function mapLabels(src: VoxelArray, f: (v: number) => boolean): Uint8Array {
  const out = new Uint8Array(src.length);
  const offset = src instanceof Int16Array ? 32768 : src instanceof Int8Array ? 128 : 0;
  if (src instanceof Uint8Array || src instanceof Int8Array || src instanceof Int16Array || src instanceof Uint16Array) {
    const lut = new Uint8Array(src instanceof Uint8Array || src instanceof Int8Array ? 256 : 65536);
    for (let k = 0; k < lut.length; k++) lut[k] = f(k - offset) ? 1 : 0;
    for (let i = 0; i < src.length; i++) out[i] = lut[src[i]! + offset]!;
  } else {
    for (let i = 0; i < src.length; i++) out[i] = f(src[i]!) ? 1 : 0;
  }
  return out;
}

export interface HarmoniseLungOptions {
  /** The source's lung mask on the lesion mask's grid; without it there is no lung mask. */
  lungLabels?: Volume;
  /** The lung mask's encoding. Defaults to 'labels'. */
  encoding?: LungLabels;
}

export interface HarmonisedLung {
  /** 1 = lung ∪ lesion. */
  lungMask: LabelMap;
  /** 1 = right, 2 = left; only when the source mask has exactly two labels. */
  lungSides?: LabelMap;
}

/**
 * lung = lung ∪ lesion: lesions at the lung border are often left out of lung masks
 * (consolidation looks like soft tissue), and the method's loss is computed inside the
 * lungs, so a lesion outside the lung mask would never be learnt.
 */
export function harmoniseLung(lesionMask: LabelMap, options: HarmoniseLungOptions = {}): HarmonisedLung | undefined {
  const source = options.lungLabels;
  if (!source) return undefined;
  const src = source.data;
  const lesion = lesionMask.data;
  let labels: Uint8Array;
  if (src instanceof Uint8Array && (options.encoding ?? 'labels') === 'labels') {
    labels = src;
  } else if ((options.encoding ?? 'labels') === 'grey-0-255') {
    labels = mapLabels(src, (v) => v >= 128);
  } else {
    labels = new Uint8Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const v = Math.round(src[i]!);
      labels[i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  const lung = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) lung[i] = (labels[i]! | lesion[i]!) !== 0 ? 1 : 0;
  const result: HarmonisedLung = { lungMask: createVolume(lung, lesionMask.dims, lesionMask) };
  const sides = lungSidesByPosition(createVolume(labels, source.dims, source));
  if (sides) result.lungSides = sides;
  return result;
}

/**
 * Relabels a two-label lung mask as 1 = right, 2 = left by where each label's centroid
 * lies (LPS world x: the right lung has the smaller x). Position is used instead of the
 * sources' label numbers because those are documented inconsistently (Zenodo describes
 * 1 left / 2 right, MedSeg does not say) and a flipped header would silently swap them.
 * Returns undefined unless exactly two non-zero labels are present.
 */
export function lungSidesByPosition(labels: LabelMap): LabelMap | undefined {
  const [nx, ny, nz] = labels.dims;
  const d = labels.data;
  // Per label value: voxel count and index sums (a label map has at most 256 values).
  const count = new Float64Array(256);
  const sum = new Float64Array(256 * 3);
  let i = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        const v = d[i]!;
        if (v === 0) continue;
        count[v]!++;
        sum[3 * v]! += x;
        sum[3 * v + 1]! += y;
        sum[3 * v + 2]! += z;
      }
    }
  }
  const present: number[] = [];
  for (let v = 1; v < 256; v++) if (count[v]! > 0) present.push(v);
  if (present.length !== 2) return undefined;
  const worldX = (v: number) => indexToWorld(labels, [sum[3 * v]! / count[v]!, sum[3 * v + 1]! / count[v]!, sum[3 * v + 2]! / count[v]!])[0];
  const [a, b] = present as [number, number];
  const right = worldX(a) <= worldX(b) ? a : b;
  const lut = new Uint8Array(256);
  lut[a] = a === right ? 1 : 2;
  lut[b] = b === right ? 1 : 2;
  const out = new Uint8Array(d.length);
  for (let k = 0; k < d.length; k++) out[k] = lut[d[k]!]!;
  return createVolume(out, labels.dims, labels);
}

/** Number of non-zero voxels. */
export function countNonzero(data: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) n++;
  return n;
}
