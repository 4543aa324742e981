/**
 * What a dataset adapter finds and loads. Adapters only know how each public dataset
 * is laid out and labelled; everything they hand on is harmonised to one meaning:
 * lesion = ground-glass opacity ∪ consolidation (pleural effusion is not lesion),
 * lung = lung ∪ lesion.
 */
import type { LabelMap, Volume } from '../volume/volume.js';
import { CovsegError } from '../util/errors.js';

/**
 * The public sources covseg reads, in the canonical build order (case numbering
 * follows it, whatever order the sources are given in):
 * - `mosmed`: MosMedData COVID19_1110, 50 CT volumes with lesion masks (no lung masks);
 * - `medseg100`: MedSeg "COVID-19 CT segmentation", 100 axial slices of ~40 patients in one NIfTI;
 * - `medseg9`: MedSeg's 9 Radiopaedia CT volumes with lesion and lung masks;
 * - `zenodo`: Zenodo 3757476 "COVID-19 CT Lung and Infection Segmentation", 20 volumes (or its Kaggle copy);
 * - `zenodo-slices`: 1,614 PNG slices cut from the Zenodo volumes (dstaroff's re-publication);
 * - `zenodo-slice-stacks`: the same slices' contiguous runs of one coronacases scan, stacked
 *   back into volumes (3D database only; their slices are zenodo-slices' own);
 * - `semiseg`: COVID-SemiSeg training half, 50 JPEG slices cropped from the MedSeg 100 slices;
 * - `semiseg-pseudo`: COVID-SemiSeg's unlabelled Zenodo renderings paired with zenodo-slices' masks;
 * - `pseudo-labels`: the user's own slices or volumes labelled by a teacher model (`covseg pseudo-label`), train split only.
 */
export type SourceName = 'mosmed' | 'medseg100' | 'medseg9' | 'zenodo' | 'zenodo-slices' | 'zenodo-slice-stacks' | 'semiseg' | 'semiseg-pseudo' | 'pseudo-labels';

export const SOURCE_NAMES: readonly SourceName[] = ['mosmed', 'medseg100', 'medseg9', 'zenodo', 'zenodo-slices', 'zenodo-slice-stacks', 'semiseg', 'semiseg-pseudo', 'pseudo-labels'];

/**
 * `name` as a SourceName. Otherwise throws what `fail` makes of "unknown source 'x'; valid
 * sources: …" (a CovsegError by default; the CLI prefixes its flag and throws a UsageError).
 * The one check of a source name, wherever one comes in.
 */
export function sourceName(name: string, fail: (problem: string) => Error = (problem) => new CovsegError(problem)): SourceName {
  if ((SOURCE_NAMES as readonly string[]).includes(name)) return name as SourceName;
  throw fail(`unknown source '${name}'; valid sources: ${SOURCE_NAMES.join(', ')}`);
}

/**
 * - `volume`: a 3D CT; goes through the method's preprocessing into the 3D database and
 *   its lesion slices into the 2D database;
 * - `slice`: a single axial slice with no usable slice spacing; 2D database only.
 */
export type CaseKind = 'volume' | 'slice';

/**
 * Where a rendering sits in the reference slice: turn the rendering by `orientation`
 * (bit 1 transpose, then bit 2 mirror x, bit 4 mirror y) and it covers `box`
 * ([x0, y0, width, height] in reference pixels, edges not centres) of the reference.
 */
export interface RenderingPlacement {
  orientation: number;
  box: [number, number, number, number];
}

/** The input files of one case, as published. */
export interface CaseFiles {
  /** CT image (NIfTI volume, or PNG/JPEG slice). */
  image: string;
  /** Lesion mask in the source's labels. */
  lesion: string;
  /** Lung mask in the source's labels, when the source publishes one. */
  lung?: string;
}

/**
 * One case an adapter found: plain data (no pixels), so it can be sent to a worker
 * thread and written into the manifest.
 */
export interface CaseRef {
  source: SourceName;
  /** The case's name in its source (file stem, study id, slice number). */
  originalId: string;
  kind: CaseKind;
  /**
   * Who the images come from. Equal strings mean the same patient, also across
   * sources where the identity is known (Zenodo `coronacases_org_001` and
   * zenodo-slices group `coronacases_001` are both `coronacases:001`). Splits never
   * put one patientGroup in two subsets.
   */
  patientGroup: string;
  files: CaseFiles;
  /** For sources that stack many slices in one file (MedSeg 100): the slice's z index. */
  sliceIndex?: number;
  /**
   * For volumes stacked from one file per slice (zenodo-slice-stacks): every slice's file
   * name, in z order, in the folders of `files.image`, `files.lesion` and `files.lung`
   * (which name the first slice's files).
   */
  stack?: string[];
  /** For renderings whose masks lie on another slice's grid (semiseg-pseudo): where the image sits in it. */
  placement?: RenderingPlacement;
}

/** A case with its pixels, labels harmonised. */
export interface LoadedCase {
  ref: CaseRef;
  /** The CT (a slice has nz = 1), values as stored (HU, or 0–255 for windowed exports). */
  ct: Volume;
  /** 1 = lesion (ground-glass opacity ∪ consolidation), 0 = anything else; on the CT's grid. */
  lesionMask: LabelMap;
  /** 1 = lung ∪ lesion, 0 = outside; absent when the source has no lung mask. */
  lungMask?: LabelMap;
  /**
   * 1 = right lung, 2 = left lung (the lungmask convention), when the source's lung mask
   * has two labels; decided from their positions, not from the source's label numbers.
   */
  lungSides?: LabelMap;
  /** Whether the CT values are Hounsfield units (false for 0–255 windowed exports and 8-bit slices). */
  isHu: boolean;
  /** Why `isHu` is what it is, in words. */
  huReason: string;
  /**
   * The CT's minimum, maximum and 1st/99th percentiles, when the HU check computed them
   * (volumes); preprocessing reuses them instead of another pass over the voxels.
   */
  ctStats?: { min: number; max: number; p1: number; p99: number };
  /** Things worth knowing that did not stop the load (e.g. a sub-voxel header mismatch). */
  warnings: string[];
}

/** What scanning one source folder found. */
export interface SourceScan {
  source: SourceName;
  /** The folder that was scanned. */
  root: string;
  /** Lesion cases, sorted by original id (natural order). */
  cases: CaseRef[];
  /** Facts for the build summary ("1,060 studies without a lesion mask were seen and skipped"). */
  notes: string[];
}

/** One public dataset: where its cases are and how to read and harmonise them. */
export interface DatasetAdapter {
  source: SourceName;
  kind: CaseKind;
  /** One line: what the dataset is and the layout the adapter expects. */
  layout: string;
  /** Finds every case under `root`; throws CovsegError when the layout is not there at all. */
  scan(root: string): Promise<SourceScan>;
  /** Reads one case and harmonises its labels; throws CovsegError naming the file on any problem. */
  load(ref: CaseRef): Promise<LoadedCase>;
  /**
   * Why the source's volumes add no slices to the 2D database (their slices are already
   * there through another source); absent when they do, as every volume source's do.
   */
  no2dSlices?: string;
  /**
   * Why the source's cases may only train (labels that are a model's predictions, not an
   * expert's): the splits put them in train, never in validation or test
   * (src/database/splits.ts). Absent for expert-labelled sources.
   */
  trainOnly?: string;
}
