/**
 * Severity by extent of lung involvement, as MosMedData grades its studies
 * (CT-0 … CT-4 by the share of lung parenchyma affected).
 */
export type SeverityCategory = 'CT-0' | 'CT-1' | 'CT-2' | 'CT-3' | 'CT-4';

export interface Severity {
  category: SeverityCategory;
  /** Lesion volume as a percentage of both lungs' volume. */
  percentAffected: number;
  description: string;
}

/**
 * Below this involvement (in %) a study counts as CT-0: a handful of stray positive voxels
 * (segmentation noise) must not turn a clear scan into CT-1.
 */
export const CT0_MAX_PERCENT = 0.1;

const SCALE: { category: SeverityCategory; upTo: number; description: string }[] = [
  { category: 'CT-0', upTo: CT0_MAX_PERCENT, description: 'no signs of viral pneumonia' },
  { category: 'CT-1', upTo: 25, description: 'mild: less than 25% of the lungs affected' },
  { category: 'CT-2', upTo: 50, description: 'moderate: 25–50% of the lungs affected' },
  { category: 'CT-3', upTo: 75, description: 'severe: 50–75% of the lungs affected' },
  { category: 'CT-4', upTo: Infinity, description: 'critical: 75% or more of the lungs affected' },
];

export function severityFromPercent(percentAffected: number): Severity {
  if (!(percentAffected >= 0 && percentAffected <= 100)) throw new Error(`percentAffected must be in [0, 100], got ${percentAffected}`);
  const row = SCALE.find((s) => percentAffected < s.upTo)!;
  return { category: row.category, percentAffected, description: row.description };
}
