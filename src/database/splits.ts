/**
 * `DB/splits.json`: a deterministic patient-level train/validation/test split, shared by
 * the 2D and 3D databases. The unit is the patientGroup: all cases (and so all 2D slices)
 * of one group sit in one subset. Groups are stratified by source, so each source is split
 * 80/10/10 on its own, and each stratum is shuffled with its own seed (seed, source): adding
 * a source never moves another source's groups. A train-only source's cases (pseudo-labels:
 * a teacher model's masks; DatasetAdapter.trainOnly) go to train and never to validation or
 * test — they would score a model against another model — and never move a group either:
 * they are set aside, the other cases split, and then they join train, except those of a
 * patient group already in validation or test, which are left out of every subset (`leftOut`):
 * in train they would be a held-out patient trained on (withTrainOnly).
 */
import { Type } from '@sinclair/typebox';
import { CovsegError } from '../util/errors.js';
import { loadJsonFile } from '../util/json-file.js';
import type { Static, TSchema } from '../util/schema.js';
import { naturalCompare, overlapFamily, splitStratum, trainOnlyReason, type SourceName } from '../datasets/index.js';
import { databaseFile } from './db-file.js';
import { Rng } from '../util/random.js';

export const SPLITS_FILE = 'splits.json';
export const SPLITS_FORMAT = 'covseg-splits';
export const SPLIT_NAMES = ['train', 'validation', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];
const SplitNameSchema = Type.Union(SPLIT_NAMES.map((name) => Type.Literal(name)));
const OverlapSchema = Type.Union([Type.Literal('warn'), Type.Literal('merge')]);
/** One value per subset. */
const PerSplit = <T extends TSchema>(each: T) => Type.Object({ train: each, validation: each, test: each });

/**
 * What happens to patient groups whose source overlaps another included source in a way
 * covseg cannot match patient by patient:
 * - `warn`: split them like any group and warn (the default; the leak is reported, not fixed);
 * - `merge`: put every such group of one overlap family (e.g. all Radiopaedia material of
 *   zenodo, zenodo-slices and medseg9) into one split unit, which removes the leak; a family
 *   is its own stratum of one unit, so it lands in train and never inflates test scores.
 */
export type OverlapPolicy = 'warn' | 'merge';

export interface SplitCase {
  caseId: string;
  source: SourceName;
  patientGroup: string;
}

export interface MakeSplitsOptions {
  /** Seed of the shuffles. Defaults to 42. */
  seed?: number;
  /** Fractions of split units per subset, summing to 1. Defaults to { train: 0.8, validation: 0.1, test: 0.1 }. */
  fractions?: Record<SplitName, number>;
  /** Handling of unmatched cross-source overlaps. Defaults to 'warn'. */
  overlap?: OverlapPolicy;
}

/** What says a file is a splits file, checked before the rest. */
const SplitsFormatSchema = Type.Object({ format: Type.Literal(SPLITS_FORMAT) });

export const SplitsSchema = Type.Object({
  format: SplitsFormatSchema.properties.format,
  version: Type.Number(),
  seed: Type.Number(),
  fractions: PerSplit(Type.Number()),
  overlap: OverlapSchema,
  /** Split units per subset (patientGroups, or overlap families under `merge`). */
  units: PerSplit(Type.Array(Type.String())),
  /** Case ids per subset, in case-id order. */
  cases: PerSplit(Type.Array(Type.String())),
  /** The subset of every case id. */
  caseSplit: Type.Record(Type.String(), SplitNameSchema),
  /** Units per subset for each source stratum. */
  strata: Type.Record(Type.String(), PerSplit(Type.Number())),
  /** Cases of a train-only source in no subset, and why (their patient group is in validation or test). */
  leftOut: Type.Optional(Type.Record(Type.String(), Type.String())),
});
export type Splits = Static<typeof SplitsSchema>;

/** FNV-1a, 32 bit: a stable string hash for per-stratum seeds. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Fisher–Yates shuffle of a copy of `items` with the project's seeded PRNG. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  return new Rng(seed).shuffle([...items]);
}

/**
 * Number of units per subset for `n` units: validation and test get round(n · fraction)
 * each, train the rest, so a tiny source (n < 5) stays in train rather than losing its
 * only cases to evaluation.
 */
export function splitCounts(n: number, fractions: Record<SplitName, number>): Record<SplitName, number> {
  const test = Math.round(n * fractions.test);
  const validation = Math.min(n - test, Math.round(n * fractions.validation));
  return { train: n - test - validation, validation, test };
}

/** Splits cases at the patient level; see the file comment. `cases` in case-id order. */
export function makeSplits(cases: readonly SplitCase[], options: MakeSplitsOptions = {}): Splits {
  return withTrainOnly(cases, (expert) => splitExpertCases(expert, options));
}

/**
 * `split` run on the cases of expert-labelled sources only, then the train-only sources'
 * cases put in train (their patient groups new train units, stratum = their source), or
 * left out where `split` put their patient group in validation or test. The one rule for
 * splits.json and the validation folds (folds.ts) alike.
 */
export function withTrainOnly(cases: readonly SplitCase[], split: (expert: SplitCase[]) => Splits): Splits {
  const trainOnly = (c: SplitCase) => trainOnlyReason(c.source) !== undefined;
  if (!cases.some(trainOnly)) return split([...cases]);
  const base = split(cases.filter((c) => !trainOnly(c)));
  const groupSplit = new Map<string, { split: SplitName; source: SourceName }>();
  for (const c of cases) if (!trainOnly(c) && !groupSplit.has(c.patientGroup)) groupSplit.set(c.patientGroup, { split: base.caseSplit[c.caseId]!, source: c.source });
  const caseSplit: Record<string, SplitName> = { ...base.caseSplit };
  const leftOut: Record<string, string> = { ...base.leftOut };
  const units = { ...base.units, train: [...base.units.train] };
  const strata = { ...base.strata };
  const newUnits = new Set<string>();
  for (const c of cases.filter(trainOnly)) {
    const held = groupSplit.get(c.patientGroup);
    if (held && held.split !== 'train') {
      leftOut[c.caseId] = `patient group '${c.patientGroup}' is in the ${held.split} split (source ${held.source}): a ${c.source} case may only train, and in train it would be that held-out patient trained on`;
      continue;
    }
    caseSplit[c.caseId] = 'train';
    if (!held && !newUnits.has(c.patientGroup)) {
      newUnits.add(c.patientGroup);
      const row = (strata[c.source] ??= { train: 0, validation: 0, test: 0 });
      row.train++;
    }
  }
  units.train = [...units.train, ...newUnits].sort(naturalCompare);
  const lists: Record<SplitName, string[]> = { train: [], validation: [], test: [] };
  for (const c of cases) {
    const s = caseSplit[c.caseId];
    if (s) lists[s].push(c.caseId);
  }
  return { ...base, units, cases: lists, caseSplit, strata, ...(Object.keys(leftOut).length ? { leftOut } : {}) };
}

function splitExpertCases(cases: readonly SplitCase[], options: MakeSplitsOptions): Splits {
  const seed = options.seed ?? 42;
  const fractions = options.fractions ?? { train: 0.8, validation: 0.1, test: 0.1 };
  const overlap = options.overlap ?? 'warn';
  const total = fractions.train + fractions.validation + fractions.test;
  if (Math.abs(total - 1) > 1e-9 || SPLIT_NAMES.some((s) => !(fractions[s] >= 0))) {
    throw new CovsegError(`makeSplits: fractions must be ≥ 0 and sum to 1, got train ${fractions.train}, validation ${fractions.validation}, test ${fractions.test}`);
  }
  if (!Number.isInteger(seed)) throw new CovsegError(`makeSplits: seed must be an integer, got ${seed}`);
  const sources = [...new Set(cases.map((c) => c.source))];
  const unitOf = (c: SplitCase) => (overlap === 'merge' ? overlapFamily(c.source, c.patientGroup, sources) ?? c.patientGroup : c.patientGroup);
  // A unit's stratum is the source of its first case (a patient in Zenodo and zenodo-slices
  // is stratified with Zenodo), a stacks source's being the source it stacks (splitStratum).
  const stratumOf = new Map<string, string>();
  for (const c of cases) {
    const u = unitOf(c);
    if (!stratumOf.has(u)) stratumOf.set(u, u.startsWith('overlap:') ? u : splitStratum(c.source));
  }
  const byStratum = new Map<string, string[]>();
  for (const [unit, stratum] of stratumOf) {
    let list = byStratum.get(stratum);
    if (!list) byStratum.set(stratum, (list = []));
    list.push(unit);
  }
  const unitSplit = new Map<string, SplitName>();
  const units: Record<SplitName, string[]> = { train: [], validation: [], test: [] };
  const strata: Record<string, Record<SplitName, number>> = {};
  for (const stratum of [...byStratum.keys()].sort()) {
    const list = byStratum.get(stratum)!.sort(naturalCompare);
    const shuffled = seededShuffle(list, (hash32(`${seed}:${stratum}`) ^ seed) >>> 0);
    const counts = splitCounts(shuffled.length, fractions);
    strata[stratum] = counts;
    shuffled.forEach((u, i) => {
      const split: SplitName = i < counts.test ? 'test' : i < counts.test + counts.validation ? 'validation' : 'train';
      unitSplit.set(u, split);
    });
  }
  for (const s of SPLIT_NAMES) units[s] = [...unitSplit].filter(([, split]) => split === s).map(([u]) => u).sort(naturalCompare);
  const caseLists: Record<SplitName, string[]> = { train: [], validation: [], test: [] };
  const caseSplit: Record<string, SplitName> = {};
  for (const c of cases) {
    const split = unitSplit.get(unitOf(c))!;
    caseLists[split].push(c.caseId);
    caseSplit[c.caseId] = split;
  }
  return { format: SPLITS_FORMAT, version: 1, seed, fractions, overlap, units, cases: caseLists, caseSplit, strata };
}

const FIX = "rebuild the database with 'covseg build-db' (splits are rewritten at the end of every build)";

/**
 * Reads `DB/splits.json` (`db` is the database folder or the file). Errors name the file
 * and the missing key; a case whose subset the lists and `caseSplit` disagree on is an error too.
 */
export async function loadSplits(db: string): Promise<Splits> {
  const file = await databaseFile(db, SPLITS_FILE);
  const splits = await loadJsonFile(SplitsSchema, file, 'database splits', FIX, SplitsFormatSchema);
  // The lists and the map say the same, both ways, so whichever a reader asks answers alike.
  for (const s of SPLIT_NAMES) {
    for (const id of splits.cases[s]) {
      if (splits.caseSplit[id] !== s) throw new CovsegError(`key 'cases.${s}' lists ${id}, which caseSplit puts in '${splits.caseSplit[id] ?? 'no split'}'; ${FIX}`, { file });
    }
  }
  const lists = { train: new Set(splits.cases.train), validation: new Set(splits.cases.validation), test: new Set(splits.cases.test) };
  for (const [id, s] of Object.entries(splits.caseSplit)) {
    if (!lists[s].has(id)) throw new CovsegError(`key 'caseSplit.${id}' is '${s}', but cases.${s} does not list ${id}; ${FIX}`, { file });
  }
  return splits;
}
