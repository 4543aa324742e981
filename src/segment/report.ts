/**
 * The numbers of a segmentation report: lung and lesion volumes per side, the share of
 * each lung affected, the severity category. Pure: label maps in, report out.
 */
import { voxelVolumeMl, type LabelMap } from '../volume/volume.js';
import type { ClinicalFigures } from '../clinical/index.js';
import { gradeSeverity, type Severity } from './severity.js';
import type { LungQuality } from '../lungs/quality.js';

export interface LungSideNumbers {
  voxels: number;
  /** null when the voxel size is unknown (PNG/JPEG slices). */
  volumeMl: number | null;
}

export interface LesionSideNumbers extends LungSideNumbers {
  /** Lesion voxels as a percentage of that side's lung voxels (0 when the side is empty). */
  percentOfLung: number;
}

export interface SegmentReport {
  format: 'covseg-report';
  version: 1;
  createdAt: string;
  input: {
    path: string;
    format: string;
    dims: [number, number, number];
    spacingMm: [number, number, number];
    /** Whether the voxel size is known (false for PNG/JPEG slices). */
    spacingKnown: boolean;
    isHu: boolean;
    huReason: string;
    modality?: string;
    seriesDescription?: string;
    /** DICOM PatientID, StudyDate (YYYY-MM-DD): `covseg compare` orders and checks follow-ups by them. */
    patientId?: string;
    studyDate?: string;
  };
  lungs: { right: LungSideNumbers; left: LungSideNumbers; total: LungSideNumbers };
  lesions: { right: LesionSideNumbers; left: LesionSideNumbers; total: LesionSideNumbers };
  severity: Severity;
  /** Ground glass vs consolidation, regions, zone and lobe scores (src/clinical); absent in reports of older versions. */
  clinical?: ClinicalFigures;
  /** Can the lung mask carry a grade: coverage and plausibility (src/lungs/quality.ts). */
  quality: LungQuality;
  models: { lung: string; lesion: string };
  outputs: Record<string, string>;
  timingsMs: Record<string, number>;
  warnings: string[];
}

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
