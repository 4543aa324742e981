/**
 * Which training samples an epoch draws, and in what order: a pure function of the sample
 * set, the mode and a seeded Rng (so a resumed run replays exactly). The modes are
 * described where they are chosen (TrainOptions.sampling in loop.ts, `covseg train --help`);
 * the run record (run-record.ts) and the CLI take their names from SAMPLING_MODES.
 */
import type { Rng } from '../util/random.js';
import type { SampleSet } from './samples.js';

export type SamplingMode = 'uniform' | 'case-sqrt' | 'ends' | 'lesion' | 'case-sqrt-ends';
export const SAMPLING_MODES: readonly SamplingMode[] = ['uniform', 'case-sqrt', 'ends', 'lesion', 'case-sqrt-ends'];
/** Under 'ends', 'lesion' and 'case-sqrt-ends' sampling, how much more often an emphasised sample is drawn. */
export const ENDS_WEIGHT = 3;
/** Under 'lesion' sampling, a slice whose lesion fills its whole lung is drawn 1 + this × as often as one without lesion. */
export const LESION_SHARE_WEIGHT = 10;

/** The indices of one epoch's training samples, in training order. */
export function epochOrder(set: SampleSet, mode: SamplingMode | undefined, count: number, rng: Rng): number[] {
  const all = Array.from({ length: set.length }, (_, i) => i);
  if ((mode ?? 'uniform') === 'uniform') return rng.shuffle(all).slice(0, count);
  let weight: (i: number) => number;
  if (mode === 'ends') {
    weight = (i) => (set.emphasised?.[i] ? ENDS_WEIGHT : 1);
  } else if (mode === 'lesion') {
    weight = (i) => (set.emphasised?.[i] ? ENDS_WEIGHT : 1) * (1 + LESION_SHARE_WEIGHT * (set.lesionShares?.[i] ?? 0));
  } else {
    const perCase = new Map<string, number>();
    for (const c of set.caseIds) perCase.set(c, (perCase.get(c) ?? 0) + 1);
    const emphasis = mode === 'case-sqrt-ends' ? ENDS_WEIGHT : 1;
    weight = (i) => (set.emphasised?.[i] ? emphasis : 1) / Math.sqrt(perCase.get(set.caseIds[i]!)!);
  }
  // Weighted sampling without replacement (Efraimidis–Spirakis): key u^(1/w), largest first.
  const keyed = all.map((i) => ({ i, key: Math.log(rng.next() || Number.MIN_VALUE) / weight(i) }));
  return keyed.sort((a, b) => b.key - a.key).slice(0, count).map((k) => k.i);
}
