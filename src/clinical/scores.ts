/**
 * The semi-quantitative CT scores radiologists give COVID-19 pneumonia, computed from the
 * measured share of each zone or lobe that is affected. A share below MIN_SCORED_PERCENT
 * counts as none, so that a few stray voxels of segmentation noise do not score a clear
 * zone 1.
 *
 * Bins are for a continuous share p (%); the papers give whole percentages ("1–25",
 * "26–50"), read here as 0 < p ≤ 25, 25 < p ≤ 50, …
 */
/**
 * Below this share (%) a zone or lobe scores 0: MosMedData's CT-0 limit, the same number as
 * CT0_MAX_PERCENT in src/segment/severity.ts (a test keeps them equal; segment sits above
 * this stage, so it is not imported from there).
 */
export const MIN_SCORED_PERCENT = 0.1;

/** 0–4 by the share affected: 0 none, 1 up to 25 %, 2 up to 50 %, 3 up to 75 %, 4 above 75 %. */
export function quarterScore(percent: number): 0 | 1 | 2 | 3 | 4 {
  if (percent < MIN_SCORED_PERCENT) return 0;
  if (percent <= 25) return 1;
  if (percent <= 50) return 2;
  if (percent <= 75) return 3;
  return 4;
}

/**
 * Pan et al. (Radiology 2020;295:715–721), per lobe: 0 none, 1 < 5 %, 2 5–25 %, 3 26–49 %,
 * 4 50–75 %, 5 > 75 %.
 */
export function panScore(percent: number): 0 | 1 | 2 | 3 | 4 | 5 {
  if (percent < MIN_SCORED_PERCENT) return 0;
  if (percent < 5) return 1;
  if (percent <= 25) return 2;
  if (percent < 50) return 3;
  if (percent <= 75) return 4;
  return 5;
}

/** What each score is, as the report labels it. */
export const SCORE_LABELS = {
  zone: 'zone score: upper, middle and lower third of each lung (six zones), 0–4 each by the share affected (0 %, 1–25, 26–50, 51–75, 76–100 %); total 0–24',
  lobarTss: 'lobar total severity score (Chung et al., Radiology 2020; Li et al., Invest Radiol 2020): five lobes, 0–4 each by the share affected (0 %, 1–25, 26–50, 51–75, 76–100 %); total 0–20',
  pan: 'CT score of Pan et al. (Radiology 2020): five lobes, 0–5 each (0 %, < 5, 5–25, 26–49, 50–75, > 75 %); total 0–25',
} as const;
