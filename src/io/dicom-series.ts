/**
 * DICOM series assembly: scan a folder, group files by series, drop localizers, choose a
 * series, sort its slices along the slice normal, and derive the geometry from the tags.
 *
 * itk-wasm only decodes the pixels, given the pre-sorted file list of one series: left to
 * itself it sorts by its own rules, and with `singleSortedSeries` it trusts the order but
 * always points the slice axis along row × column, so a list sorted head-to-feet comes
 * back upside down. The geometry is therefore computed here.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CovsegError } from '../util/errors.js';
import type { Mat3, Vec3 } from '../volume/volume.js';
import { NotDicomError, readDicomHeader, type DicomHeader } from './dicom-header.js';
import type { DicomSeriesSummary } from './types.js';

export type { DicomSeriesSummary };

/** One series, ready to decode: files sorted along the slice normal, and their geometry. */
export interface DicomSeriesPlan {
  seriesInstanceUid: string;
  seriesDescription?: string;
  modality?: string;
  patientId?: string;
  /** StudyDate as stored, YYYYMMDD. */
  studyDate?: string;
  /** Slice files, sorted by position along the slice normal (feet → head for axial CT). */
  files: string[];
  dims: Vec3;
  spacingMm: Vec3;
  origin: Vec3;
  direction: Mat3;
  /** Whether any slice has RescaleSlope ≠ 1 or RescaleIntercept ≠ 0. */
  rescaled: boolean;
  /** False without PixelSpacing: 1 mm pixels are assumed, and nothing is measured in mm or mL. */
  spacingKnown: boolean;
  warnings: string[];
  /** The other series of the folder, not read. */
  skippedSeries: DicomSeriesSummary[];
}

export interface PlanDicomSeriesOptions {
  /** Read this series instead of the one with the most voxels. Defaults to undefined (largest series). */
  seriesInstanceUid?: string;
}

/** Files opened at once while scanning a folder. */
const SCAN_CONCURRENCY = 16;
/** Cosines closer than this count as the same orientation. */
const ORIENTATION_TOLERANCE = 1e-3;
/** Slices closer than this (mm) along the normal count as the same position. */
const SAME_POSITION_MM = 1e-3;
/** Relative deviation from the mean slice gap above which spacing counts as irregular. */
const IRREGULAR_SPACING = 0.01;

async function listFiles(dir: string, out: string[] = []): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) await listFiles(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

export interface DicomFolderScan {
  /** Headers of the DICOM image files, sorted by path. */
  headers: DicomHeader[];
  /** Files that are not DICOM images (text, DICOMDIR, reports without pixels). */
  skippedFiles: number;
  /** DICOM files that could not be read (truncated), with the reason. */
  brokenFiles: { path: string; message: string }[];
}

/** Headers of the DICOM image files under `dir` (recursively); other files are skipped. */
export async function scanDicomFolder(dir: string): Promise<DicomFolderScan> {
  const files = await listFiles(dir);
  const headers: DicomHeader[] = [];
  const brokenFiles: DicomFolderScan['brokenFiles'] = [];
  let skippedFiles = 0;
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++]!;
      try {
        const h = await readDicomHeader(file);
        if (h.hasPixelData && h.rows && h.columns) headers.push(h);
        else skippedFiles++;
      } catch (err) {
        if (err instanceof NotDicomError) skippedFiles++;
        else if (err instanceof CovsegError) brokenFiles.push({ path: file, message: err.message });
        else throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SCAN_CONCURRENCY, files.length) }, worker));
  headers.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  brokenFiles.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { headers, skippedFiles, brokenFiles };
}

function normalOf(iop: readonly number[]): Vec3 {
  const [r0, r1, r2, c0, c1, c2] = iop as [number, number, number, number, number, number];
  const n: Vec3 = [r1 * c2 - r2 * c1, r2 * c0 - r0 * c2, r0 * c1 - r1 * c0];
  const len = Math.hypot(n[0], n[1], n[2]);
  return [n[0] / len, n[1] / len, n[2] / len];
}

function sameOrientation(a: readonly number[], b: readonly number[]): boolean {
  return a.every((v, i) => Math.abs(v - b[i]!) < ORIENTATION_TOLERANCE);
}

/** The most common value of `key(h)` among `headers`, with its count. */
function majority<T>(headers: DicomHeader[], key: (h: DicomHeader) => T, same: (a: T, b: T) => boolean): T {
  const counts: { value: T; n: number }[] = [];
  for (const h of headers) {
    const v = key(h);
    const c = counts.find((e) => same(e.value, v));
    if (c) c.n++;
    else counts.push({ value: v, n: 1 });
  }
  counts.sort((a, b) => b.n - a.n);
  return counts[0]!.value;
}

interface SeriesGroup {
  uid: string;
  headers: DicomHeader[];
  dropped: string[];
}

/** Drops localizers and slices that do not stack with the majority (other orientation or size). */
function cleanSeries(uid: string, all: DicomHeader[]): SeriesGroup {
  const dropped: string[] = [];
  let headers = all.filter((h) => !h.imageType.includes('LOCALIZER'));
  if (headers.length < all.length) dropped.push(`${all.length - headers.length} localizer image(s)`);
  if (headers.length === 0) return { uid, headers, dropped };
  const size = majority(headers, (h) => `${h.rows}x${h.columns}`, (a, b) => a === b);
  const sized = headers.filter((h) => `${h.rows}x${h.columns}` === size);
  if (sized.length < headers.length) dropped.push(`${headers.length - sized.length} slice(s) of another size than ${size}`);
  headers = sized;
  const withGeometry = headers.filter((h) => h.imageOrientationPatient && h.imagePositionPatient);
  if (withGeometry.length > 0) {
    if (withGeometry.length < headers.length) dropped.push(`${headers.length - withGeometry.length} slice(s) without ImagePositionPatient/ImageOrientationPatient`);
    const iop = majority(withGeometry, (h) => h.imageOrientationPatient!, sameOrientation);
    headers = withGeometry.filter((h) => sameOrientation(h.imageOrientationPatient!, iop));
    if (headers.length < withGeometry.length) dropped.push(`${withGeometry.length - headers.length} slice(s) with another orientation (localizer or reformat)`);
  }
  return { uid, headers, dropped };
}

/**
 * Chooses a series among `headers` and works out its slice order and geometry.
 * `source` (the folder or file) is named in errors.
 */
export function planDicomSeries(source: string, headers: DicomHeader[], options: PlanDicomSeriesOptions = {}): DicomSeriesPlan {
  if (headers.length === 0) {
    throw new CovsegError('no DICOM image files found (files need the DICM marker and pixel data); point covseg at the folder of one CT series', { file: source });
  }
  const byUid = new Map<string, DicomHeader[]>();
  for (const h of headers) {
    const uid = h.seriesInstanceUid ?? '';
    const list = byUid.get(uid);
    if (list) list.push(h);
    else byUid.set(uid, [h]);
  }
  const groups = [...byUid.entries()].map(([uid, hs]) => cleanSeries(uid, hs));
  const voxels = (g: SeriesGroup) => (g.headers.length ? g.headers.length * g.headers[0]!.rows! * g.headers[0]!.columns! : 0);
  let chosen: SeriesGroup | undefined;
  if (options.seriesInstanceUid !== undefined) {
    chosen = groups.find((g) => g.uid === options.seriesInstanceUid);
    if (!chosen) {
      throw new CovsegError(
        `no series with SeriesInstanceUID ${options.seriesInstanceUid}; the folder holds ${groups.map((g) => g.uid || '(no UID)').join(', ')}`,
        { file: source },
      );
    }
  } else {
    chosen = [...groups].sort((a, b) => voxels(b) - voxels(a))[0]!;
  }
  if (chosen.headers.length === 0) {
    throw new CovsegError(`series ${chosen.uid || '(no UID)'} holds only localizer images; choose another series`, { file: source });
  }
  const multiFrame = chosen.headers.find((h) => (h.numberOfFrames ?? 1) > 1);
  if (multiFrame) {
    throw new CovsegError('multi-frame (enhanced) DICOM is not supported; export the series as one file per slice', { file: multiFrame.path });
  }
  const skippedSeries = groups.filter((g) => g !== chosen).map((g): DicomSeriesSummary => {
    const first = byUid.get(g.uid)![0]!;
    const s: DicomSeriesSummary = { seriesInstanceUid: g.uid, files: byUid.get(g.uid)!.length, voxels: voxels(g) };
    if (first.seriesDescription !== undefined) s.seriesDescription = first.seriesDescription;
    if (first.modality !== undefined) s.modality = first.modality;
    return s;
  });
  const warnings = chosen.dropped.map((d) => `dropped ${d} from series ${chosen.uid || '(no UID)'}`);
  const plan = geometryOf(chosen.headers, warnings);
  const first = chosen.headers[0]!;
  const result: DicomSeriesPlan = {
    seriesInstanceUid: chosen.uid,
    ...plan,
    rescaled: chosen.headers.some((h) => (h.rescaleSlope ?? 1) !== 1 || (h.rescaleIntercept ?? 0) !== 0),
    spacingKnown: first.pixelSpacing !== undefined,
    warnings,
    skippedSeries,
  };
  if (first.seriesDescription !== undefined) result.seriesDescription = first.seriesDescription;
  if (first.modality !== undefined) result.modality = first.modality;
  if (first.patientId !== undefined) result.patientId = first.patientId;
  if (first.studyDate !== undefined) result.studyDate = first.studyDate;
  return result;
}

/** Sorts slices along the normal and derives origin, spacing and direction from the tags. */
function geometryOf(headers: DicomHeader[], warnings: string[]) {
  const first = headers[0]!;
  const [rowSpacing, colSpacing] = first.pixelSpacing ?? [1, 1];
  if (!first.pixelSpacing) warnings.push('no PixelSpacing tag: the pixel size is unknown, so 1 mm is assumed for the grid and volumes (mL) are not available');
  const iop = first.imageOrientationPatient;
  if (!iop) {
    // No geometry at all (secondary capture): keep InstanceNumber order, identity axes.
    const sorted = [...headers].sort((a, b) => (a.instanceNumber ?? 0) - (b.instanceNumber ?? 0));
    if (headers.length > 1) warnings.push('no ImagePositionPatient/ImageOrientationPatient: slices ordered by InstanceNumber, slice spacing from SliceThickness');
    return {
      files: sorted.map((h) => h.path),
      dims: [first.columns!, first.rows!, sorted.length] as Vec3,
      spacingMm: [colSpacing, rowSpacing, first.sliceThickness ?? 1] as Vec3,
      origin: [0, 0, 0] as Vec3,
      direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] as Mat3,
    };
  }
  const normal = normalOf(iop);
  const along = (h: DicomHeader) => {
    const p = h.imagePositionPatient!;
    return p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2];
  };
  const sortedAll = headers.map((h) => ({ h, d: along(h) })).sort((a, b) => a.d - b.d || (a.h.instanceNumber ?? 0) - (b.h.instanceNumber ?? 0));
  const sorted = sortedAll.filter((s, i) => i === 0 || s.d - sortedAll[i - 1]!.d > SAME_POSITION_MM);
  if (sorted.length < sortedAll.length) {
    warnings.push(`${sortedAll.length - sorted.length} slice(s) share a position with another slice (several acquisitions in one series?); kept the one with the lowest InstanceNumber`);
  }
  let sliceSpacing = first.sliceThickness ?? 1;
  if (sorted.length > 1) {
    const n = sorted.length;
    sliceSpacing = (sorted[n - 1]!.d - sorted[0]!.d) / (n - 1);
    let minGap = Infinity;
    let maxGap = 0;
    for (let i = 1; i < n; i++) {
      const gap = sorted[i]!.d - sorted[i - 1]!.d;
      minGap = Math.min(minGap, gap);
      maxGap = Math.max(maxGap, gap);
    }
    if (maxGap - sliceSpacing > IRREGULAR_SPACING * sliceSpacing || sliceSpacing - minGap > IRREGULAR_SPACING * sliceSpacing) {
      warnings.push(
        `slice spacing is irregular (${round(minGap)}–${round(maxGap)} mm between consecutive slices; the mean ${round(sliceSpacing)} mm is used): missing or overlapping slices distort distances along z`,
      );
    }
  }
  const [r0, r1, r2, c0, c1, c2] = iop;
  return {
    files: sorted.map((s) => s.h.path),
    dims: [first.columns!, first.rows!, sorted.length] as Vec3,
    // PixelSpacing is [between rows, between columns]; x runs along a row, so it uses the second.
    spacingMm: [colSpacing, rowSpacing, sliceSpacing] as Vec3,
    origin: [...sorted[0]!.h.imagePositionPatient!] as Vec3,
    direction: [r0, c0, normal[0], r1, c1, normal[1], r2, c2, normal[2]] as Mat3,
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
