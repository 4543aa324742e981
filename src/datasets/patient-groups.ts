/**
 * Patient identity across sources. The same patients were re-published several times:
 * - Zenodo 3757476's `coronacases_org_001` … `_010` are the zenodo-slices groups
 *   `coronacases_001` … `_010` (known: same numbering);
 * - Zenodo's 10 Radiopaedia scans were cut into zenodo-slices groups `radiopaedia_A` … `_H`
 *   (which group is which scan is not known);
 * - MedSeg's 9 Radiopaedia volumes are Radiopaedia cases that Zenodo also took (which
 *   `rp_im/N` is which Zenodo scan is not known);
 * - COVID-SemiSeg's 50 training slices are cropped from the MedSeg 100 slices (which
 *   slice is which is not known; neither set names its patients).
 * Where identity is known both sources get the same `patientGroup`; where it is not,
 * `overlapWarnings` says so, because a patient in two splits inflates test scores.
 */
import type { SourceName } from './types.js';

/** `coronacases:NNN`, shared by Zenodo and zenodo-slices. */
export function coronacasesGroup(number: number): string {
  return `coronacases:${String(number).padStart(3, '0')}`;
}

/**
 * Radiopaedia publishes one patient as one "case" number, with several studies and
 * series: `radiopaedia_org_covid-19-pneumonia-10_85902_3-dcm` is case 10, study 85902,
 * series 3. Zenodo holds two scans each of cases 10 and 29; grouping by case number
 * keeps them together.
 */
export function radiopaediaGroup(caseNumber: string): string {
  return `radiopaedia-case:${caseNumber}`;
}

/**
 * The source stratum a patient group is split in. zenodo-slice-stacks is split with
 * zenodo-slices, whose slices it stacks and whose groups it shares: built together, the
 * stacks move no group of the 2D database to another split.
 */
export function splitStratum(source: SourceName): SourceName {
  return source === 'zenodo-slice-stacks' ? 'zenodo-slices' : source;
}

export interface SourceOverlap {
  sources: [SourceName, SourceName];
  /** What is shared and what is known about the identity. */
  description: string;
  /** Whether covseg matches every shared patient (true) or only some / none (false). */
  fullyMatched: boolean;
}

/** Every known re-publication between the sources covseg reads. */
export const SOURCE_OVERLAPS: readonly SourceOverlap[] = [
  {
    sources: ['zenodo', 'zenodo-slices'],
    description: "zenodo-slices was cut from the Zenodo volumes: its coronacases_001…010 groups are matched to Zenodo's coronacases_org_001…010, but its radiopaedia_A…H groups cannot be matched to Zenodo's 10 Radiopaedia scans",
    fullyMatched: false,
  },
  {
    sources: ['medseg9', 'zenodo'],
    description: "MedSeg's 9 Radiopaedia volumes are Radiopaedia cases that Zenodo 3757476 also holds; which rp_im/N is which Zenodo scan is not known",
    fullyMatched: false,
  },
  {
    sources: ['medseg9', 'zenodo-slices'],
    description: "MedSeg's 9 Radiopaedia volumes overlap the Zenodo Radiopaedia scans that zenodo-slices' radiopaedia_A…H groups were cut from; the mapping is not known",
    fullyMatched: false,
  },
  {
    sources: ['medseg100', 'semiseg'],
    description: 'COVID-SemiSeg\'s 50 training slices are cropped copies of half of the MedSeg 100 slices; which slice is which is not known, so the same slice can land in two splits',
    fullyMatched: false,
  },
  {
    sources: ['zenodo', 'semiseg-pseudo'],
    description: "semiseg-pseudo's renderings take zenodo-slices' patient groups: coronacases are matched to Zenodo's, its Radiopaedia groups (radiopaedia_A…H) are not matched to Zenodo's 10 Radiopaedia scans",
    fullyMatched: false,
  },
  {
    sources: ['medseg9', 'semiseg-pseudo'],
    description: "semiseg-pseudo's Radiopaedia renderings are of Zenodo scans that MedSeg's 9 Radiopaedia volumes overlap; the mapping is not known",
    fullyMatched: false,
  },
];

/**
 * One line per pair of combined sources that share patients who cannot all be matched.
 * `sources` are the sources being combined.
 */
export function overlapWarnings(sources: readonly SourceName[]): string[] {
  const present = new Set(sources);
  return SOURCE_OVERLAPS.filter((o) => !o.fullyMatched && present.has(o.sources[0]) && present.has(o.sources[1])).map(
    (o) => `${o.sources[0]} + ${o.sources[1]}: ${o.description}. A patient in two splits inflates test scores: build these sources into separate databases, or use --overlap merge to keep each pair's unmatched groups in one split.`,
  );
}

/**
 * For `--overlap merge`: the family a patient group belongs to when its source overlaps
 * another included source in an unknown way. All groups of one family go to the same
 * split, which removes the leak at the cost of a coarser split. Returns undefined for
 * groups whose identity is known or whose source overlaps nothing included.
 */
export function overlapFamily(source: SourceName, patientGroup: string, included: readonly SourceName[]): string | undefined {
  const present = new Set(included);
  const radiopaedia = (s: SourceName) =>
    (s === 'zenodo' && patientGroup.startsWith('radiopaedia-case:')) ||
    ((s === 'zenodo-slices' || s === 'semiseg-pseudo') && patientGroup.startsWith('zenodo-slices:radiopaedia')) ||
    s === 'medseg9';
  const radiopaediaSources: SourceName[] = ['zenodo', 'zenodo-slices', 'semiseg-pseudo', 'medseg9'];
  if (radiopaedia(source) && radiopaediaSources.filter((s) => s !== source && present.has(s)).length > 0) {
    // zenodo + zenodo-slices overlap only in their Radiopaedia parts, and medseg9 is all Radiopaedia.
    return 'overlap:radiopaedia';
  }
  if ((source === 'medseg100' && present.has('semiseg')) || (source === 'semiseg' && present.has('medseg100'))) {
    return 'overlap:medseg-slices';
  }
  return undefined;
}
