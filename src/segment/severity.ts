/**
 * Severity by extent of lung involvement, as MosMedData grades its studies
 * (CT-0 … CT-4 by the share of lung parenchyma affected). The grade is of both lungs
 * whole: it is given only when the lung mask is plausible and both lungs are in view from
 * apex to base (the quality block, src/lungs/quality.ts); otherwise the percentage is of
 * the lung in view and there is no grade.
 */
import { Type } from '@sinclair/typebox';
import type { LungQuality } from '../lungs/quality.js';
import { literals, orNull, type Static } from '../util/schema.js';

export const SEVERITY_CATEGORIES = ['CT-0', 'CT-1', 'CT-2', 'CT-3', 'CT-4'] as const;
export type SeverityCategory = (typeof SEVERITY_CATEGORIES)[number];

/** The severity block of report.json. */
export const SeveritySchema = Type.Object({
  /** CT-0…CT-4, or null when no grade can be given (`reason` says why). */
  category: orNull(literals(SEVERITY_CATEGORIES)),
  /** Lesion volume as a percentage of the lung volume (see `percentOf`). */
  percentAffected: Type.Number({ minimum: 0, maximum: 100 }),
  /** What the percentage is of: both lungs (a graded scan), or the lung in view. */
  percentOf: literals(['both lungs', 'the lung in view']),
  description: Type.String(),
  /** Why there is no grade; only when `category` is null. */
  reason: Type.Optional(Type.String()),
});
export type Severity = Static<typeof SeveritySchema>;

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
  return { category: row.category, percentAffected, percentOf: 'both lungs', description: row.description };
}

/** The grade where `quality` allows one (assessable, complete coverage); else no grade, with the reason, and the percentage of the lung in view. */
export function gradeSeverity(percentAffected: number, quality: LungQuality): Severity {
  if (quality.lungCoverage === 'none') return { category: null, percentAffected: 0, percentOf: 'the lung in view', description: 'no lungs in view', reason: 'no lungs in view' };
  if (quality.assessable && quality.lungCoverage === 'complete') return severityFromPercent(percentAffected);
  const why = quality.warnings.join('; ');
  const reason = quality.assessable ? `the lungs are not wholly in view (${why})` : `the lung mask is not plausible (${why})`;
  return { category: null, percentAffected, percentOf: 'the lung in view', description: `no severity grade: ${reason}`, reason };
}

/** The severity in one short phrase, for headlines: the category, 'no lungs in view', or 'no grade'. */
export function severityHeadline(severity: Severity): string {
  return severity.category ?? (severity.reason === 'no lungs in view' ? 'no lungs in view' : 'no grade');
}
