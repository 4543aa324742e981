/**
 * The types the readers share: what a read returns besides the voxels. In a file of their
 * own, free of Node, so that the browser's decoders (raster-decode.ts) and the segment
 * core use them without reaching the Node readers (read.ts), and the readers no longer
 * import each other in a circle.
 */
import type { Volume } from '../volume/volume.js';

/**
 * The formats covseg reads:
 * - `nifti`: NIfTI-1/2 (.nii, .nii.gz);
 * - `nrrd`: NRRD (.nrrd, .seg.nrrd, .nhdr);
 * - `mha`: MetaImage (.mha, .mhd);
 * - `dicom`: a DICOM file or a folder of DICOM files (one series is chosen);
 * - `png`, `jpeg`: 2D raster images (slices exported from CT).
 */
export type ImageFormat = 'nifti' | 'nrrd' | 'mha' | 'dicom' | 'png' | 'jpeg';

/** A series found in a folder. */
export interface DicomSeriesSummary {
  /** SeriesInstanceUID, or '' when the files carry none (anonymised exports). */
  seriesInstanceUid: string;
  seriesDescription?: string;
  modality?: string;
  /** Number of image files of the series (before dropping localizers). */
  files: number;
  /** rows × columns × slices that would be read. */
  voxels: number;
}

export interface NonFiniteCounts {
  nan: number;
  /** +Infinity and −Infinity. */
  infinite: number;
}

/** What was read, besides the voxels. */
export interface ImageMeta {
  format: ImageFormat;
  /** The path given (file or folder). */
  path: string;
  /** Voxel type of the returned volume: int8, uint8, int16, uint16, int32, uint32, float32, float64. */
  pixelType: string;
  /** The files read: DICOM, the files of the chosen series sorted along the slice normal; else the one file. */
  files: string[];
  modality?: string;
  seriesInstanceUid?: string;
  seriesDescription?: string;
  /** DICOM PatientID and StudyDate (YYYYMMDD as stored), when the files carry them. */
  patientId?: string;
  studyDate?: string;
  /** The stored values were rescaled (NIfTI scl_slope/scl_inter, DICOM RescaleSlope/Intercept). */
  rescaled: boolean;
  /**
   * The file states the voxel size. False for PNG/JPEG, a NIfTI whose pixdim is 0 or NaN, a
   * DICOM without PixelSpacing: 1 mm stands in for the grid, and nothing is measured in mm or mL.
   */
  spacingKnown: boolean;
  /** Indexed PNG: the values are palette indices (labels), not intensities. */
  palette?: boolean;
  /** NaN and ±Infinity voxels; present only when some were read with `finite: 'count'`. */
  nonFinite?: NonFiniteCounts;
  /** DICOM folder: the series that were not read. */
  skippedSeries?: DicomSeriesSummary[];
  /** DICOM folder: files that are not DICOM images (DICOMDIR, text, reports). */
  skippedFiles?: number;
  /** Things the caller should know (unknown pixel size, irregular slices, colour dropped). */
  warnings: string[];
}

export interface ReadImageResult {
  volume: Volume;
  meta: ImageMeta;
}
