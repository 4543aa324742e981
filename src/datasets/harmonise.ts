/**
 * Label harmonisation: every source's masks become the method's two labels,
 * lesion = ground-glass opacity ∪ consolidation and lung = lung ∪ lesion
 * (the method report, step 5: "only affected (GGO or consolidation) and lung").
 */
import { createVolume, indexToWorld, type LabelMap, type Volume } from '../volume/volume.js';

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
  const src = mask.data;
  const out = new Uint8Array(src.length);
  if (labels === 'ggo-consolidation') {
    for (let i = 0; i < src.length; i++) {
      const v = Math.round(src[i]!);
      out[i] = v === 1 || v === 2 ? 1 : 0;
    }
  } else {
    const threshold = labels === 'grey-0-255' ? 128 : 0.5;
    for (let i = 0; i < src.length; i++) out[i] = src[i]! >= threshold ? 1 : 0;
  }
  return createVolume(out, mask.dims, mask);
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
  const rounded = new Uint8Array(src.length);
  if ((options.encoding ?? 'labels') === 'grey-0-255') {
    for (let i = 0; i < src.length; i++) rounded[i] = src[i]! >= 128 ? 1 : 0;
  } else {
    for (let i = 0; i < src.length; i++) {
      const v = Math.round(src[i]!);
      rounded[i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  const lung = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) lung[i] = rounded[i]! !== 0 || lesion[i]! !== 0 ? 1 : 0;
  const result: HarmonisedLung = { lungMask: createVolume(lung, lesionMask.dims, lesionMask) };
  const sides = lungSidesByPosition(createVolume(rounded, source.dims, source));
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
  const sum = new Map<number, number[]>();
  const d = labels.data;
  let i = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        const v = d[i]!;
        if (v === 0) continue;
        let s = sum.get(v);
        if (!s) sum.set(v, (s = [0, 0, 0, 0]));
        s[0] += x;
        s[1] += y;
        s[2] += z;
        s[3]++;
      }
    }
  }
  if (sum.size !== 2) return undefined;
  const [[la, sa], [lb, sb]] = [...sum.entries()] as [[number, number[]], [number, number[]]];
  const worldX = (s: number[]) => indexToWorld(labels, [s[0]! / s[3]!, s[1]! / s[3]!, s[2]! / s[3]!])[0];
  const rightLabel = worldX(sa) <= worldX(sb) ? la : lb;
  const out = new Uint8Array(d.length);
  for (let k = 0; k < d.length; k++) {
    const v = d[k]!;
    out[k] = v === 0 ? 0 : v === rightLabel ? 1 : 2;
  }
  return createVolume(out, labels.dims, labels);
}

/** Number of non-zero voxels. */
export function countNonzero(data: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) n++;
  return n;
}
