/**
 * Follow-up: the change of every clinical figure between scans of one patient, and a
 * verdict per step by one documented rule.
 *
 * The rule: the change Δ of the share of both lungs affected (percentage points, later
 * minus earlier) decides: worse when Δ > +X, better when Δ < −X, stable otherwise, with
 * X = {@link DEFAULT_STABLE_WITHIN_POINTS} unless the user sets it. Why the share and not
 * the lesion volume: the lungs' volume changes with inspiration between scans, the share
 * much less. Why 5 points: it must be well above what re-slicing and repositioning alone
 * do to the figure (the same real scan shifted and re-sliced moves it by 0.3 points,
 * test/clinical/compare.test.ts), and above the disagreement of repeated lesion
 * segmentations, which reaches a few points of lung volume (segmentation Dice ~0.8 on
 * lesions of 10–30 % of the lung); it is a fifth of one MosMedData CT category (25
 * points). Each step also reports every other change, so a reader can judge a small
 * change in a small lesion load (2 % → 6 %) that the rule calls stable.
 */
import { CovsegError } from '../util/errors.js';
import { LOBES } from './lobes.js';
import { REGION_NAMES, type ClinicalFigures, type LungClinical, type RegionName } from './measure.js';

export const DEFAULT_STABLE_WITHIN_POINTS = 5;

export type Verdict = 'better' | 'stable' | 'worse';

export interface ScanForComparison {
  /** How the scan is named in tables and pictures (its result folder). */
  name: string;
  /** Study date, YYYY-MM-DD. */
  date?: string;
  patientId?: string;
  figures: ClinicalFigures;
}

/** A figure in the earlier and the later scan, and later − earlier; null where either is not available. */
export interface Change {
  from: number | null;
  to: number | null;
  change: number | null;
}

export interface LungChanges {
  lungMl: Change;
  lesionMl: Change;
  percentAffected: Change;
  consolidationPercentOfLesion: Change;
  /** % affected per region (the thirds are the zones of the zone score). */
  regions: Record<RegionName, Change>;
}

export interface ComparisonStep {
  from: string;
  to: string;
  /** Days between the two scans; null without both dates. */
  days: number | null;
  verdict: Verdict;
  /** The rule applied to this step, in words with its numbers. */
  reason: string;
  right: LungChanges;
  left: LungChanges;
  total: LungChanges;
  scores: { zone: Change; lobarTss: Change; pan: Change; zones: Record<string, Change>; lobes: Record<string, { tss: Change; pan: Change }> };
}

export interface Comparison {
  format: 'covseg-comparison';
  version: 1;
  rule: { stableWithinPoints: number; text: string };
  /** In the order compared (by date when every scan has one, else as given). */
  scans: {
    name: string;
    date: string | null;
    patientId: string | null;
    /** % of each lung and of both affected. */
    right: number;
    left: number;
    percentAffected: number;
    consolidationPercentOfLesion: number | null;
    zoneScore: number | null;
    lobarTss: number | null;
    pan: number | null;
  }[];
  /** Each scan against the one before it. */
  steps: ComparisonStep[];
  /** The last scan against the first. */
  overall: ComparisonStep;
}

export interface CompareOptions {
  /** Change of % affected (points) within which a step is stable. Defaults to {@link DEFAULT_STABLE_WITHIN_POINTS}. */
  stableWithinPoints?: number;
}

/** Puts scans in date order when all have dates (else keeps the given order) and compares each with the one before. */
export function compareScans(scans: readonly ScanForComparison[], options: CompareOptions = {}): Comparison {
  if (scans.length < 2) throw new CovsegError(`compare needs two or more scans, got ${scans.length}`);
  const x = options.stableWithinPoints ?? DEFAULT_STABLE_WITHIN_POINTS;
  if (!(Number.isFinite(x) && x >= 0)) throw new CovsegError(`the stable range must be ≥ 0 percentage points, got ${x}`);
  const ordered = scans.every((s) => s.date) ? [...scans].sort((a, b) => a.date!.localeCompare(b.date!)) : [...scans];
  const steps = ordered.slice(1).map((s, k) => compareTwo(ordered[k]!, s, x));
  return {
    format: 'covseg-comparison',
    version: 1,
    rule: {
      stableWithinPoints: x,
      text: `worse when the share of both lungs affected rises by more than ${x} percentage points, better when it falls by more than ${x}, stable otherwise`,
    },
    scans: ordered.map((s) => ({
      name: s.name,
      date: s.date ?? null,
      patientId: s.patientId ?? null,
      right: s.figures.right.lesion.percentOfLung,
      left: s.figures.left.lesion.percentOfLung,
      percentAffected: s.figures.total.lesion.percentOfLung,
      consolidationPercentOfLesion: s.figures.total.consolidationPercentOfLesion,
      zoneScore: scoreTotal(s.figures.scores.zone),
      lobarTss: scoreTotal(s.figures.scores.lobarTss),
      pan: scoreTotal(s.figures.scores.pan),
    })),
    steps,
    overall: ordered.length === 2 ? steps[0]! : compareTwo(ordered[0]!, ordered[ordered.length - 1]!, x),
  };
}

/**
 * Throws unless every scan that names its patient names the same one; `force` lets
 * different patients through (e.g. an ID changed between hospital systems); `forceHint`
 * names how the user forces it (the CLI's `--force`, the web API's parameter).
 */
export function checkSamePatient(scans: readonly Pick<ScanForComparison, 'name' | 'patientId'>[], force = false, forceHint = '--force'): string[] {
  const ids = [...new Set(scans.map((s) => s.patientId).filter((id): id is string => !!id))];
  if (ids.length <= 1 || force) return ids.length > 1 ? [`the scans name different patients (${ids.join(', ')}); compared anyway (${forceHint})`] : [];
  const who = scans.filter((s) => s.patientId).map((s) => `${s.name}: ${s.patientId}`).join(', ');
  throw new CovsegError(`these scans are of different patients (PatientID ${who}); pass ${forceHint} to compare them anyway`);
}

const change = (from: number | null | undefined, to: number | null | undefined): Change => {
  const a = from ?? null;
  const b = to ?? null;
  return { from: a, to: b, change: a === null || b === null ? null : +(b - a).toFixed(2) };
};

function lungChanges(a: LungClinical, b: LungClinical): LungChanges {
  return {
    lungMl: change(a.lung.volumeMl, b.lung.volumeMl),
    lesionMl: change(a.lesion.volumeMl, b.lesion.volumeMl),
    percentAffected: change(a.lesion.percentOfLung, b.lesion.percentOfLung),
    consolidationPercentOfLesion: change(a.consolidationPercentOfLesion, b.consolidationPercentOfLesion),
    regions: Object.fromEntries(REGION_NAMES.map((r) => [r, change(a.regions[r]?.percentAffected, b.regions[r]?.percentAffected)])) as Record<RegionName, Change>,
  };
}

function scoreTotal(s: ClinicalFigures['scores']['zone' | 'lobarTss' | 'pan']): number | null {
  return s.available ? s.total : null;
}

function daysBetween(a?: string, b?: string): number | null {
  if (!a || !b) return null;
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}

function compareTwo(a: ScanForComparison, b: ScanForComparison, x: number): ComparisonStep {
  const fa = a.figures;
  const fb = b.figures;
  const total = lungChanges(fa.total, fb.total);
  const delta = total.percentAffected.change!;
  const verdict: Verdict = delta > x ? 'worse' : delta < -x ? 'better' : 'stable';
  const sign = (v: number) => (v > 0 ? `+${v.toFixed(2)}` : v.toFixed(2));
  const reason = `both lungs ${fa.total.lesion.percentOfLung.toFixed(2)}% → ${fb.total.lesion.percentOfLung.toFixed(2)}% affected (${sign(delta)} points; ${verdict === 'stable' ? `within ±${x}` : `beyond ±${x}`})`;
  const zoneOf = (f: ClinicalFigures, lung: string, zone: string) => (f.scores.zone.available ? f.scores.zone.zones.find((z) => z.lung === lung && z.zone === zone)?.score : undefined);
  const lobeOf = (s: ClinicalFigures['scores']['lobarTss'], key: string) => (s.available ? s.lobes.find((l) => l.lobe === key)?.score : undefined);
  const zones: Record<string, Change> = {};
  for (const lung of ['right', 'left']) for (const zone of ['upper', 'middle', 'lower']) zones[`${lung} ${zone}`] = change(zoneOf(fa, lung, zone), zoneOf(fb, lung, zone));
  const lobes = Object.fromEntries(LOBES.map((l) => [l.key, { tss: change(lobeOf(fa.scores.lobarTss, l.key), lobeOf(fb.scores.lobarTss, l.key)), pan: change(lobeOf(fa.scores.pan, l.key), lobeOf(fb.scores.pan, l.key)) }]));
  return {
    from: a.name,
    to: b.name,
    days: daysBetween(a.date, b.date),
    verdict,
    reason,
    right: lungChanges(fa.right, fb.right),
    left: lungChanges(fa.left, fb.left),
    total,
    scores: {
      zone: change(scoreTotal(fa.scores.zone), scoreTotal(fb.scores.zone)),
      lobarTss: change(scoreTotal(fa.scores.lobarTss), scoreTotal(fb.scores.lobarTss)),
      pan: change(scoreTotal(fa.scores.pan), scoreTotal(fb.scores.pan)),
      zones,
      lobes,
    },
  };
}
