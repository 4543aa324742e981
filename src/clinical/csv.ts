/**
 * The research export: every clinical figure of a scan as one CSV row, with the same
 * columns for every scan (a figure that is not available is an empty cell), so that rows
 * from many scans, a follow-up series or a batch, stack into one table.
 */
import { CovsegError } from '../util/errors.js';
import { BAND_NAMES } from './bands.js';
import { LOBES } from './lobes.js';
import { REGION_NAMES, type Amount, type ClinicalFigures, type LungClinical } from './measure.js';

export type CsvCell = string | number | boolean | null | undefined;

/** Who the row is about; every field is optional and becomes its own column. */
export interface CsvScanInfo {
  /** The scan's name, e.g. its result folder or input file. */
  scan: string;
  /** Study date, YYYY-MM-DD. */
  date?: string;
  patientId?: string;
  /** MosMedData CT-0…CT-4 category (src/segment/severity.ts). */
  severity?: string;
}

/** The scan's figures as [column, value] pairs, in the export's fixed column order. */
export function clinicalColumns(info: CsvScanInfo, f: ClinicalFigures): [string, CsvCell][] {
  const cols: [string, CsvCell][] = [
    ['scan', info.scan], ['date', info.date], ['patient_id', info.patientId], ['severity', info.severity],
    ['density_split', f.density.available], ['assessable', f.scores.assessable],
  ];
  const amount = (prefix: string, a: Amount | null | undefined) => {
    cols.push([`${prefix}_ml`, a?.volumeMl], [`${prefix}_pct`, a?.percentOfLung]);
  };
  for (const side of ['right', 'left', 'total'] as const) {
    const l: LungClinical = f[side];
    cols.push([`${side}_lung_voxels`, l.lung.voxels], [`${side}_lung_ml`, l.lung.volumeMl]);
    amount(`${side}_lesion`, l.lesion);
    amount(`${side}_ggo`, l.groundGlass);
    amount(`${side}_consolidation`, l.consolidation);
    cols.push([`${side}_consolidation_pct_of_lesion`, l.consolidationPercentOfLesion]);
    for (const b of BAND_NAMES) amount(`${side}_band_${b}`, l.bands?.[b]);
    amount(`${side}_functional`, l.composition?.functional);
    amount(`${side}_emphysema_range`, l.composition?.emphysemaRange);
    amount(`${side}_other`, l.composition?.other);
    for (const r of REGION_NAMES) cols.push([`${side}_${r}_pct`, l.regions[r]?.percentAffected]);
    if (side !== 'total') cols.push([`${side}_max_depth_mm`, l.maxDepthMm]);
  }
  for (const lobe of LOBES) {
    const x = f.lobes?.find((l) => l.lobe === lobe.key);
    cols.push([`${lobe.key}_ml`, x?.volumeMl], [`${lobe.key}_lesion_pct`, x?.percentAffected]);
  }
  const zone = f.scores.zone.available ? f.scores.zone : undefined;
  cols.push(['zone_score', zone?.total]);
  for (const side of ['right', 'left'] as const) {
    for (const z of ['upper', 'middle', 'lower'] as const) cols.push([`zone_${side}_${z}`, zone?.zones.find((x) => x.lung === side && x.zone === z)?.score]);
  }
  for (const [key, s] of [['lobar_tss', f.scores.lobarTss], ['pan_score', f.scores.pan]] as const) {
    const score = s.available ? s : undefined;
    cols.push([key, score?.total]);
    for (const lobe of LOBES) cols.push([`${key}_${lobe.key}`, score?.lobes.find((l) => l.lobe === lobe.key)?.score]);
  }
  return cols;
}

/** One CSV table (header + a row per scan, RFC 4180 quoting), newline-terminated. */
export function clinicalCsv(scans: readonly { info: CsvScanInfo; figures: ClinicalFigures }[]): string {
  if (scans.length === 0) throw new CovsegError('clinicalCsv: no scans; pass at least one');
  const rows = scans.map((s) => clinicalColumns(s.info, s.figures));
  const header = rows[0]!.map(([k]) => k);
  return [header, ...rows.map((r) => r.map(([, v]) => v))].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

/** One CSV cell (RFC 4180 quoting; booleans 1/0, absent values empty). */
export function csvCell(v: CsvCell): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
