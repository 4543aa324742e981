/**
 * Brings the CT series of a study from a DICOMweb server into a folder: QIDO-RS finds the
 * study's series, WADO-RS metadata gives each instance's header, and the folder reader's
 * own series choice (planDicomSeries: the largest CT series, localizers dropped) picks one,
 * so that a study on a server and the same study in a folder give the same series. The
 * voxel cap is checked from the metadata before any pixel is fetched, and the retrieve is
 * bounded by what the metadata announced; a series whose instances differ between the
 * metadata and the retrieve (still arriving at the PACS, or edited) is refused.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkVoxelCount, DEFAULT_MAX_VOXELS, planDicomSeries, readDicomHeader, type DicomHeader } from '../io/index.js';
import { CovsegError } from '../util/errors.js';
import { SeriesChangedError, type DicomWebClient } from './client.js';
import { headerOfJson, jsonNumber, jsonString, TAG, type DicomJson } from './dicom-json.js';

export interface FetchSeriesOptions {
  /** This series instead of the study's largest CT series. */
  seriesInstanceUid?: string;
  /** Refuse a series with more voxels, from its metadata. Defaults to DEFAULT_MAX_VOXELS. */
  maxVoxels?: number;
  onProgress?: (done: number, total: number) => void;
  /** Called with each instance's size before it is written; throwing stops the fetch (a disk budget). */
  beforeWrite?: (bytes: number) => void;
}

export interface FetchedSeries {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  /** The Part-10 files written, one per instance, in the order received. */
  files: string[];
  bytes: number;
}

/** Room for the attributes beside the pixels of one instance (private tags, icons). */
const HEADER_ALLOWANCE = 1024 * 1024;

/** "CT 'chest' (120 instances), SEG (1 instance)": what a study holds, for messages. */
function describeSeries(series: DicomJson[]): string {
  if (series.length === 0) return 'no series';
  return series
    .map((s) => {
      const d = jsonString(s, TAG.seriesDescription);
      const n = jsonNumber(s, TAG.numberOfSeriesRelatedInstances);
      return `${jsonString(s, TAG.modality) ?? '(no modality)'}${d ? ` '${d}'` : ''}${n !== undefined ? ` (${n} instance${n === 1 ? '' : 's'})` : ''}`;
    })
    .join(', ');
}

/** Bytes of one instance's pixel data, uncompressed (what WADO-RS sends by default). */
function pixelBytes(h: DicomHeader): number {
  return (h.rows ?? 0) * (h.columns ?? 0) * Math.ceil((h.bitsAllocated ?? 16) / 8) * (h.samplesPerPixel ?? 1) * (h.numberOfFrames ?? 1);
}

/** Fetches the CT series of `studyUid` into `dir` (an empty folder). */
export async function fetchCtSeries(client: DicomWebClient, studyUid: string, dir: string, options: FetchSeriesOptions = {}): Promise<FetchedSeries> {
  const source = `${client.url}/studies/${studyUid}`;
  const studies = await client.searchStudies({ StudyInstanceUID: studyUid });
  if (!studies.some((s) => jsonString(s, TAG.studyInstanceUid) === studyUid)) {
    throw new CovsegError(`no study ${studyUid} on DICOMweb server ${client.url}`);
  }
  const series = await client.searchSeries(studyUid);
  const wanted = options.seriesInstanceUid;
  const candidates = wanted !== undefined ? series.filter((s) => jsonString(s, TAG.seriesInstanceUid) === wanted) : series.filter((s) => jsonString(s, TAG.modality) === 'CT');
  if (candidates.length === 0) {
    const where = `study ${studyUid} on ${client.url}`;
    throw new CovsegError(wanted !== undefined ? `${where} has no series ${wanted}; it holds ${describeSeries(series)}` : `${where} has no CT series; it holds ${describeSeries(series)}`);
  }

  const headers: DicomHeader[] = [];
  for (const s of candidates) {
    const uid = jsonString(s, TAG.seriesInstanceUid)!;
    const metadata = await client.seriesMetadata(studyUid, uid);
    const listed = jsonNumber(s, TAG.numberOfSeriesRelatedInstances);
    if (listed !== undefined && listed !== metadata.length) {
      throw new CovsegError(`series ${uid} changed while it was read (QIDO-RS listed ${listed} instances, its metadata ${metadata.length}); try again when the PACS has received all of it`, { file: source });
    }
    for (const m of metadata) headers.push(headerOfJson(m, `${client.url}/studies/${studyUid}/series/${uid}/instances/${jsonString(m, TAG.sopInstanceUid) ?? '?'}`));
  }
  const images = headers.filter((h) => h.hasPixelData && h.rows && h.columns);
  if (images.length === 0) throw new CovsegError(`the ${wanted !== undefined ? `series ${wanted}` : 'CT series'} of study ${studyUid} hold${wanted !== undefined ? 's' : ''} no images`, { file: source });
  const plan = planDicomSeries(source, images, wanted !== undefined ? { seriesInstanceUid: wanted } : {});
  checkVoxelCount(plan.dims, `${source}/series/${plan.seriesInstanceUid}`, options.maxVoxels ?? DEFAULT_MAX_VOXELS);

  // WADO-RS sends the whole series, localizers too: bound it by all of its instances.
  const expected = headers.filter((h) => h.seriesInstanceUid === plan.seriesInstanceUid);
  const expectedSops = new Set(expected.map((h) => h.sopInstanceUid));
  const maxPartBytes = Math.max(...expected.map(pixelBytes)) + HEADER_ALLOWANCE;
  const maxTotalBytes = expected.reduce((sum, h) => sum + pixelBytes(h) + HEADER_ALLOWANCE, 0);
  const files: string[] = [];
  let bytes = 0;
  const changed = (why: string) => new CovsegError(`series ${plan.seriesInstanceUid} changed while it was read (${why}); nothing was segmented, try again when the PACS has received all of it`, { file: source });
  options.onProgress?.(0, expected.length);
  try {
    await client.retrieveSeries(studyUid, plan.seriesInstanceUid, { maxParts: expected.length, maxPartBytes, maxTotalBytes }, async (part, i) => {
      const file = join(dir, `${String(i + 1).padStart(5, '0')}.dcm`);
      options.beforeWrite?.(part.length);
      await writeFile(file, part);
      files.push(file);
      bytes += part.length;
      options.onProgress?.(files.length, expected.length);
    });
  } catch (err) {
    if (err instanceof SeriesChangedError) throw changed(err.message);
    throw err;
  }
  const received = new Set<string | undefined>();
  for (const f of files) received.add((await readDicomHeader(f)).sopInstanceUid);
  const missing = [...expectedSops].filter((u) => !received.has(u)).length;
  const extra = [...received].filter((u) => !expectedSops.has(u)).length;
  if (missing > 0 || extra > 0 || files.length !== expected.length) {
    throw changed(`its metadata listed ${expected.length} instances, the retrieve sent ${files.length}: ${missing} listed not sent, ${extra} sent not listed`);
  }
  return { studyInstanceUid: studyUid, seriesInstanceUid: plan.seriesInstanceUid, files, bytes };
}
