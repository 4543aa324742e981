/**
 * The report of a segmentation: lung and lesion volumes per side, the share of each lung
 * affected, the severity category, and what was read and run. Pure: label maps in,
 * report out; `buildReport` is the one place a report is put together.
 */
import { voxelVolumeMl, type LabelMap, type Volume } from '../volume/volume.js';
import type { ImageMeta } from '../io/types.js';
import { dicomDateToIso } from '../io/dicom-date.js';
import { Type } from '@sinclair/typebox';
import { ClinicalFiguresSchema } from '../clinical/schema.js';
import { LungQualitySchema, type LungQuality } from '../lungs/quality.js';
import { orNull, type Static } from '../util/schema.js';
import { gradeSeverity, SeveritySchema } from './severity.js';

const SideSchema = Type.Object({
  voxels: Type.Integer({ minimum: 0 }),
  /** null when the voxel size is unknown (PNG/JPEG slices). */
  volumeMl: orNull(Type.Number({ minimum: 0 })),
});
export type LungSideNumbers = Static<typeof SideSchema>;

const LesionSideSchema = Type.Object({
  ...SideSchema.properties,
  /** Lesion voxels as a percentage of that side's lung voxels (0 when the side is empty). */
  percentOfLung: Type.Number({ minimum: 0, maximum: 100 }),
});
export type LesionSideNumbers = Static<typeof LesionSideSchema>;

/** [lowest, highest] of one figure over the test-time mirrors. */
const IntervalSchema = Type.Tuple([Type.Number(), Type.Number()]);
export type Interval = Static<typeof IntervalSchema>;

const SpreadSideSchema = Type.Object({ volumeMl: orNull(IntervalSchema), percentOfLung: IntervalSchema });
const LesionSpreadSchema = Type.Object({
  method: Type.Literal('test-time flips'),
  /** How many predictions the interval spans (the model on each mirror of every slice). */
  members: Type.Integer({ minimum: 1 }),
  right: SpreadSideSchema,
  left: SpreadSideSchema,
  total: SpreadSideSchema,
});
export type LesionSpread = Static<typeof LesionSpreadSchema>;

const vec3 = Type.Tuple([Type.Number(), Type.Number(), Type.Number()]);

/**
 * report.json, as `covseg segment`, the service and the browser mode write it, and as
 * `covseg compare` and the web page read it back (readSegmentReport checks it).
 */
export const SegmentReportSchema = Type.Object({
  format: Type.Literal('covseg-report'),
  version: Type.Literal(1),
  createdAt: Type.String(),
  input: Type.Object({
    path: Type.String(),
    format: Type.String(),
    dims: vec3,
    spacingMm: vec3,
    /** Whether the voxel size is known (false for PNG/JPEG slices). */
    spacingKnown: Type.Boolean(),
    isHu: Type.Boolean(),
    huReason: Type.String(),
    modality: Type.Optional(Type.String()),
    seriesDescription: Type.Optional(Type.String()),
    /** DICOM PatientID, StudyDate (YYYY-MM-DD): `covseg compare` orders and checks follow-ups by them. */
    patientId: Type.Optional(Type.String()),
    studyDate: Type.Optional(Type.String()),
  }),
  lungs: Type.Object({ right: SideSchema, left: SideSchema, total: SideSchema }),
  lesions: Type.Object({ right: LesionSideSchema, left: LesionSideSchema, total: LesionSideSchema }),
  severity: SeveritySchema,
  /** With test-time flips (`segment --tta`): the lowest and highest figures over the mirrors; absent otherwise. */
  lesionSpread: Type.Optional(LesionSpreadSchema),
  /** Ground glass vs consolidation, regions, zone and lobe scores (src/clinical); absent in reports of older versions. */
  clinical: Type.Optional(ClinicalFiguresSchema),
  /** Can the lung mask carry a grade: coverage and plausibility (src/lungs/quality.ts). */
  quality: LungQualitySchema,
  /** The models as named in reports; `lobes` only when a lobe model ran (`--lobe-weights`). */
  models: Type.Object({ lung: Type.String(), lesion: Type.String(), lobes: Type.Optional(Type.String()) }),
  /** Output kind → file name in the result folder (lungs, lesions, reportHtml, dicomSeg, …). */
  outputs: Type.Record(Type.String(), Type.String()),
  timingsMs: Type.Record(Type.String(), Type.Number()),
  warnings: Type.Array(Type.String()),
});
export type SegmentReport = Static<typeof SegmentReportSchema>;

/**
 * Counts lung (1 right, 2 left) and lesion voxels per side. Lesion voxels outside the
 * lungs are not counted (the caller already restricts lesions to the lungs). The severity
 * is graded only where `quality` allows it.
 */
export function lungAndLesionNumbers(lungs: LabelMap, lesions: LabelMap, spacingKnown: boolean, quality: LungQuality): Pick<SegmentReport, 'lungs' | 'lesions' | 'severity' | 'quality'> {
  if (lungs.data.length !== lesions.data.length) throw new Error('lung and lesion label maps have different grids');
  const lung = [0, 0, 0];
  const lesion = [0, 0, 0];
  for (let i = 0; i < lungs.data.length; i++) {
    const side = lungs.data[i]!;
    if (side === 1 || side === 2) {
      lung[side]!++;
      if (lesions.data[i]) lesion[side]!++;
    }
  }
  const ml = voxelVolumeMl(lungs);
  const vol = (n: number) => (spacingKnown ? +(n * ml).toFixed(2) : null);
  const pct = (a: number, b: number) => (b > 0 ? +((100 * a) / b).toFixed(2) : 0);
  const total = lung[1]! + lung[2]!;
  const totalLesion = lesion[1]! + lesion[2]!;
  return {
    lungs: {
      right: { voxels: lung[1]!, volumeMl: vol(lung[1]!) },
      left: { voxels: lung[2]!, volumeMl: vol(lung[2]!) },
      total: { voxels: total, volumeMl: vol(total) },
    },
    lesions: {
      right: { voxels: lesion[1]!, volumeMl: vol(lesion[1]!), percentOfLung: pct(lesion[1]!, lung[1]!) },
      left: { voxels: lesion[2]!, volumeMl: vol(lesion[2]!), percentOfLung: pct(lesion[2]!, lung[2]!) },
      total: { voxels: totalLesion, volumeMl: vol(totalLesion), percentOfLung: pct(totalLesion, total) },
    },
    severity: gradeSeverity(total > 0 ? (100 * totalLesion) / total : 0, quality),
    quality,
  };
}

/** What a report says besides the numbers of the masks. */
export interface ReportContext {
  /** The CT as read: the report gives its own grid (dims, spacing). */
  ct: Volume;
  /** How it was read. */
  meta: Pick<ImageMeta, 'format' | 'modality' | 'seriesDescription' | 'patientId' | 'studyDate'>;
  /** The input as the report names it (a path, an uploaded file's name). */
  path: string;
  /** The input checks' findings ({@link SegmentReport.input}). */
  check: { isHu: boolean; huReason: string; spacingKnown: boolean };
  /** Coverage and plausibility of the lung mask (src/lungs/quality.ts): whether a grade can be given. */
  quality: LungQuality;
  /** The models as the report names them. */
  models: SegmentReport['models'];
  /** The stages' times so far; the object is kept, so later stages may add theirs. */
  timingsMs: Record<string, number>;
  warnings: string[];
}

/**
 * The report of `lungs` (1 right, 2 left) and `lesions` (0/1, inside the lungs), both on
 * one grid, with no output files yet (`outputs` is empty): what `covseg segment` writes as
 * report.json and the browser mode shows.
 */
export function buildReport(lungs: LabelMap, lesions: LabelMap, context: ReportContext): SegmentReport {
  const { ct, meta, check } = context;
  return {
    format: 'covseg-report',
    version: 1,
    createdAt: new Date().toISOString(),
    input: {
      path: context.path, format: meta.format, dims: ct.dims, spacingMm: ct.spacingMm, spacingKnown: check.spacingKnown, isHu: check.isHu, huReason: check.huReason,
      ...(meta.modality ? { modality: meta.modality } : {}),
      ...(meta.seriesDescription ? { seriesDescription: meta.seriesDescription } : {}),
      ...(meta.patientId ? { patientId: meta.patientId } : {}),
      ...(dicomDateToIso(meta.studyDate) ? { studyDate: dicomDateToIso(meta.studyDate) } : {}),
    },
    ...lungAndLesionNumbers(lungs, lesions, check.spacingKnown, context.quality),
    models: context.models,
    outputs: {},
    timingsMs: context.timingsMs,
    warnings: context.warnings,
  };
}

/**
 * The spread of the lesion figures over `members` (each test-time mirror's own lesions,
 * inside the same lungs): the report's figures come from their mean probability, the
 * interval says how much a mirror alone would have changed them.
 */
export function lesionSpread(lungs: LabelMap, members: readonly LabelMap[], spacingKnown: boolean, quality: LungQuality): LesionSpread {
  const each = members.map((m) => lungAndLesionNumbers(lungs, m, spacingKnown, quality).lesions);
  const interval = (pick: (n: SegmentReport['lesions']) => number): Interval => [Math.min(...each.map(pick)), Math.max(...each.map(pick))];
  const side = (key: 'right' | 'left' | 'total') => ({
    volumeMl: spacingKnown ? interval((n) => n[key].volumeMl!) : null,
    percentOfLung: interval((n) => n[key].percentOfLung),
  });
  return { method: 'test-time flips', members: members.length, right: side('right'), left: side('left'), total: side('total') };
}
