/**
 * Is this CT in Hounsfield units? Several public COVID CT sets are not: the Radiopaedia
 * scans of Zenodo 3757476 were exported windowed to 0–255, others are min-max scaled to
 * [0, 1]. Feeding them to a model trained on HU (clipped to [-1024, 600]) gives garbage,
 * so covseg checks before it segments.
 */
import { percentiles } from './intensity.js';
import type { Volume } from './volume.js';

/** Intensity summary the verdict is based on. */
export interface HuStats {
  min: number;
  max: number;
  /** 1st percentile. */
  p1: number;
  /** 99th percentile. */
  p99: number;
}

export interface HuCheck {
  /** The values look like Hounsfield units. */
  isHu: boolean;
  /** What was seen, in words, e.g. "values span 0..255, looks like an 8-bit windowed export, not Hounsfield units". */
  reason: string;
  stats: HuStats;
}

export interface CheckHuOptions {
  /** Precomputed statistics of the volume (saves a pass when the caller has them). Defaults to computing them. */
  stats?: HuStats;
}

/** Air is −1000 HU; the 1st percentile of a chest CT sits in air (inside or around the body). */
export const AIR_HU = -1000;
/** p1 below this, or min at or below AIR_HU, counts as "air present". */
const AIR_P1_BELOW = -900;
/** Dense bone and contrast stay under ~3000 HU; scanner ranges end at 3071 (12-bit) or a little above. */
export const MAX_PLAUSIBLE_HU = 4000;

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Math.round(x * 1000) / 1000);
}

/** The HU verdict for given statistics (pure; see `checkHu`). */
export function huVerdict(stats: HuStats): HuCheck {
  const { min, max, p1 } = stats;
  const span = `values span ${fmt(min)}..${fmt(max)}`;
  const no = (reason: string): HuCheck => ({ isHu: false, reason, stats });
  if (min >= 0 && max <= 1) return no(`${span}, looks like an intensity-normalised [0, 1] image, not Hounsfield units`);
  if (min >= 0 && max <= 255) return no(`${span}, looks like an 8-bit windowed export, not Hounsfield units`);
  if (min >= 0) {
    return no(`${span} with no negative values: looks like stored scanner values without the rescale intercept (often −1024), not Hounsfield units`);
  }
  if (!(p1 < AIR_P1_BELOW || min <= AIR_HU)) {
    return no(`${span} (1st percentile ${fmt(p1)}): no air near ${AIR_HU}, so not Hounsfield units (a windowed or rescaled export?)`);
  }
  if (max > MAX_PLAUSIBLE_HU) {
    return no(`${span}: the maximum is above the ~${MAX_PLAUSIBLE_HU} HU of dense bone and metal, so not Hounsfield units (a rescaled export?)`);
  }
  return {
    isHu: true,
    reason: `${span} (1st percentile ${fmt(p1)}, 99th ${fmt(stats.p99)}): air near ${AIR_HU}, maximum below ${MAX_PLAUSIBLE_HU}, consistent with Hounsfield units`,
    stats,
  };
}

/**
 * min, max, 1st and 99th percentile of the voxels (the project's one percentile routine;
 * p0 = min, p100 = max); only those where `mask` is non-zero when it is given.
 */
export function huStats(vol: Volume, mask?: ArrayLike<number>): HuStats {
  const [min, p1, p99, max] = percentiles(vol.data, [0, 1, 99, 100], mask ? { mask } : {}) as [number, number, number, number];
  return { min, max, p1, p99 };
}

/**
 * Whether `vol` holds Hounsfield units: air near −1000 (1st percentile below −900, or a
 * minimum at or below −1000, as with −1024 padding or −2048/−3024 outside the field of
 * view) and a maximum below ~4000. 8-bit windowed exports (0..255), [0, 1] images and raw
 * stored values without the rescale intercept are recognised and named in `reason`.
 */
export function checkHu(vol: Volume, options: CheckHuOptions = {}): HuCheck {
  return huVerdict(options.stats ?? huStats(vol));
}
