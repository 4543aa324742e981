/**
 * Validation folds other than DB/splits.json, made from the same cases on the fly, so that
 * a recipe is judged on data it never saw the way the held-out world will be unlike it:
 * - `out=NAME`: leave NAME out — every patient group with a case of source NAME, or whose
 *   patientGroup starts with `NAME:` (`out=coronacases`: the 10 coronacases patients in every
 *   rendering), is the test set; validation is 10 % of the other groups (per source,
 *   seeded), train the rest. `out=semiseg` tests on the 50 COVID-SemiSeg slices with
 *   nothing of them in training, `out=coronacases` on Zenodo's coronacases.org scans.
 * - `kK/I` (e.g. `k5/1`): K-fold by patient group, stratified by source: fold I is the
 *   test set, fold I+1 (mod K) the validation set, the rest train.
 * Train-only sources (pseudo-labels) are only ever train, or left out (splits.ts withTrainOnly).
 * A patient group is never split; a group shared by two sources (a patient in two
 * renderings) moves as one. The result has the form of splits.json, so training and
 * evaluation read it as they read the database's own.
 */
import { CovsegError } from '../util/errors.js';
import { naturalCompare, SOURCE_NAMES, trainOnlyReason, type SourceName } from '../datasets/index.js';
import { makeSplits, seededShuffle, withTrainOnly, SPLIT_NAMES, SPLITS_FORMAT, type SplitCase, type SplitName, type Splits } from './splits.js';

export type FoldSpec = { kind: 'out'; name: string } | { kind: 'k-fold'; k: number; fold: number };

/** Parses `out=NAME` or `kK/I`; the error says what is accepted. */
export function parseFold(text: string): FoldSpec {
  const out = text.match(/^out=([\w-]+)$/);
  if (out) return { kind: 'out', name: out[1]! };
  const k = text.match(/^k(\d+)\/(\d+)$/);
  if (k) {
    const spec = { kind: 'k-fold' as const, k: Number(k[1]), fold: Number(k[2]) };
    if (spec.k < 3 || spec.fold < 1 || spec.fold > spec.k) throw new CovsegError(`fold '${text}': K must be ≥ 3 and 1 ≤ I ≤ K`);
    return spec;
  }
  throw new CovsegError(`fold '${text}' is neither out=NAME (a source or patient-group prefix to leave out) nor kK/I (fold I of K, e.g. k5/1)`);
}

export function foldName(spec: FoldSpec): string {
  return spec.kind === 'out' ? `out=${spec.name}` : `k${spec.k}/${spec.fold}`;
}

/** Patient groups by the source of their first case (the stratum, as in splits.ts). */
function strataOf(cases: readonly SplitCase[]): Map<string, string[]> {
  const stratumOf = new Map<string, string>();
  for (const c of cases) if (!stratumOf.has(c.patientGroup)) stratumOf.set(c.patientGroup, c.source);
  const by = new Map<string, string[]>();
  for (const [unit, s] of stratumOf) by.set(s, [...(by.get(s) ?? []), unit]);
  return by;
}

function assemble(cases: readonly SplitCase[], unitSplit: Map<string, SplitName>, seed: number): Splits {
  const units: Record<SplitName, string[]> = { train: [], validation: [], test: [] };
  for (const [u, s] of unitSplit) units[s].push(u);
  for (const s of SPLIT_NAMES) units[s].sort(naturalCompare);
  const lists: Record<SplitName, string[]> = { train: [], validation: [], test: [] };
  const caseSplit: Record<string, SplitName> = {};
  const strata: Record<string, Record<SplitName, number>> = {};
  for (const c of cases) {
    const s = unitSplit.get(c.patientGroup)!;
    lists[s].push(c.caseId);
    caseSplit[c.caseId] = s;
  }
  for (const [stratum, list] of strataOf(cases)) {
    strata[stratum] = { train: 0, validation: 0, test: 0 };
    for (const u of list) strata[stratum][unitSplit.get(u)!]++;
  }
  const n = unitSplit.size || 1;
  const fractions = { train: units.train.length / n, validation: units.validation.length / n, test: units.test.length / n };
  return { format: SPLITS_FORMAT, version: 1, seed, fractions, overlap: 'warn', units, cases: lists, caseSplit, strata };
}

/** The splits of fold `spec` over `cases` (case-id order); see the file comment. Train-only sources' cases only train (splits.ts withTrainOnly). */
export function makeFoldSplits(cases: readonly SplitCase[], spec: FoldSpec, seed = 42): Splits {
  if (spec.kind === 'out' && (SOURCE_NAMES as readonly string[]).includes(spec.name)) {
    const trainOnly = trainOnlyReason(spec.name as SourceName);
    if (trainOnly) throw new CovsegError(`fold out=${spec.name}: the source only trains (${trainOnly}), so it cannot be the test set`);
  }
  return withTrainOnly(cases, (expert) => expertFoldSplits(expert, spec, seed));
}

function expertFoldSplits(cases: readonly SplitCase[], spec: FoldSpec, seed: number): Splits {
  if (spec.kind === 'out') {
    const held = new Set(cases.filter((c) => c.source === spec.name || c.patientGroup.startsWith(`${spec.name}:`)).map((c) => c.patientGroup));
    if (held.size === 0) throw new CovsegError(`fold out=${spec.name}: no case of source '${spec.name}' and no patient group '${spec.name}:…' in the database`);
    const rest = cases.filter((c) => !held.has(c.patientGroup));
    if (rest.length === 0) throw new CovsegError(`fold out=${spec.name} leaves nothing to train on`);
    // The others: 10 % validation per source, as splits.json does, none for test.
    const inner = makeSplits(rest, { seed, fractions: { train: 0.9, validation: 0.1, test: 0 } });
    const unitSplit = new Map<string, SplitName>();
    for (const c of cases) unitSplit.set(c.patientGroup, held.has(c.patientGroup) ? 'test' : inner.caseSplit[c.caseId]!);
    return assemble(cases, unitSplit, seed);
  }
  const unitSplit = new Map<string, SplitName>();
  for (const [stratum, list] of [...strataOf(cases)].sort(([a], [b]) => naturalCompare(a, b))) {
    // Round-robin over a seeded order: fold sizes within one unit per source.
    seededShuffle([...list].sort(naturalCompare), seed + stratum.length).forEach((u, i) => {
      const f = (i % spec.k) + 1;
      unitSplit.set(u, f === spec.fold ? 'test' : f === (spec.fold % spec.k) + 1 ? 'validation' : 'train');
    });
  }
  return assemble(cases, unitSplit, seed);
}
