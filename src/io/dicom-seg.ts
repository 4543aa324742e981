/**
 * DICOM Segmentation objects (SEG), written and read with dcmqi through
 * `@itk-wasm/dicom`. A SEG is only proper when it references the image series it was
 * made from (study, series, frame of reference and one SOP instance per slice), so the
 * writer checks those first and says what is missing instead of writing an orphan.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readOverlappingSegmentationNode, writeMultiSegmentationNode } from '@itk-wasm/dicom';
import type { Image, JsonCompatible } from 'itk-wasm';
import { withAtomicPath } from '../util/atomic-write.js';
import { CovsegError } from '../util/errors.js';
import type { LabelMap, VolumeGeometry } from '../volume/volume.js';
import { resampleToGrid } from '../volume/resample.js';
import { arrayBufferOf, dcmjsData } from './dcmjs.js';
import { readDicomHeader } from './dicom-header.js';
import { itkImageToVolume } from './itk.js';
import { writeVolume } from './write.js';

/** A coded concept (SNOMED CT in covseg's segments). */
export interface Code {
  value: string;
  scheme: string;
  meaning: string;
}

export interface SegSegment {
  /** Value of the segment's voxels in its layer's label map. */
  labelId: number;
  label: string;
  description: string;
  category: Code;
  type: Code;
  anatomicRegion?: Code;
  /** Display colour, sRGB 0–255. */
  rgb: readonly [number, number, number];
  /** Name of the algorithm (the model) that made it; at most 64 characters. */
  algorithmName: string;
}

/** Segments of one label map; segments of different layers may overlap (lesions inside lungs). */
export interface SegLayer {
  labels: LabelMap;
  segments: SegSegment[];
}

export interface WriteDicomSegOptions {
  /** The DICOM image files the label maps were computed on (the label maps are on their grid). */
  sourceFiles: string[];
  layers: SegLayer[];
  seriesDescription: string;
  seriesNumber?: number;
  contentCreator?: string;
}

/**
 * Why a DICOM SEG cannot reference these files, or undefined when it can. Anonymised
 * exports often drop the UIDs; a SEG without them could not be matched to its images.
 */
export async function dicomSegReferenceProblem(files: string[]): Promise<string | undefined> {
  if (files.length === 0) return 'no source DICOM files';
  const missing = new Set<string>();
  const sops = new Set<string>();
  for (const f of files) {
    const h = await readDicomHeader(f);
    if (!h.studyInstanceUid) missing.add('StudyInstanceUID');
    if (!h.seriesInstanceUid) missing.add('SeriesInstanceUID');
    if (!h.frameOfReferenceUid) missing.add('FrameOfReferenceUID');
    if (!h.sopInstanceUid) missing.add('SOPInstanceUID');
    else sops.add(h.sopInstanceUid);
  }
  if (missing.size > 0) return `the source DICOM lacks ${[...missing].join(', ')} (anonymised?), so a SEG could not reference it`;
  if (sops.size < files.length) return 'the source DICOM slices share SOPInstanceUIDs, so a SEG could not reference each slice';
  return undefined;
}

/** What a written SEG is, for a report that references its segments (a DICOM SR). */
export interface WrittenDicomSeg {
  sopClassUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  /** The segments written (empty ones are left out), with the number the SEG gives each. */
  segments: { segmentNumber: number; layer: number; segment: SegSegment }[];
}

/**
 * dcmqi's attributes that do not belong in covseg's SEG, removed after it writes:
 * ClinicalTrialTimePointID, ClinicalTrialTimePointDescription, ClinicalTrialCoordinatingCenterName,
 * ClinicalTrialSeriesID, ClinicalTrialSeriesDescription. dcmqi fills the time point ('1') and
 * the series ID ('Session1') from its own defaults whatever the source is, which makes the SEG
 * claim a Clinical Trial Series module without its Type 2 coordinating center. covseg is not
 * a trial and knows no coordinating center; completing the module would mean inventing one,
 * so the placeholders go (the module is optional in the SEG IOD).
 */
const DCMQI_TRIAL_PLACEHOLDERS = ['00120050', '00120051', '00120060', '00120071', '00120072'];

/**
 * Fixes what dcmqi writes in `file` (its trial placeholders, its own content label over
 * ours) and reads back the segment numbers it gave.
 */
async function finishSeg(file: string, label: { content: string; description: string }): Promise<{ sopClassUid: string; sopInstanceUid: string; seriesInstanceUid: string; segmentNumbers: number[] }> {
  const dicom = dcmjsData.DicomMessage.readFile(arrayBufferOf(await readFile(file)));
  for (const tag of DCMQI_TRIAL_PLACEHOLDERS) delete dicom.dict[tag];
  dicom.dict['00700080'] = { vr: 'CS', Value: [label.content] };
  dicom.dict['00700081'] = { vr: 'LO', Value: [label.description] };
  await writeFile(file, new Uint8Array(dicom.write()));
  const first = (tag: string) => String(dicom.dict[tag]?.Value?.[0] ?? '');
  const segments = (dicom.dict['00620002']?.Value ?? []) as { '00620004'?: { Value?: number[] } }[];
  return { sopClassUid: first('00080016'), sopInstanceUid: first('00080018'), seriesInstanceUid: first('0020000E'), segmentNumbers: segments.map((s) => Number(s['00620004']?.Value?.[0])) };
}

/** A DICOM SEG was not written; `reason` says why, without the file name. */
export class DicomSegError extends CovsegError {
  constructor(readonly reason: string, file: string, cause?: unknown) {
    super(`cannot write a DICOM SEG: ${reason}`, { file, cause });
  }
}

const codeJson = (c: Code) => ({ CodeValue: c.value, CodingSchemeDesignator: c.scheme, CodeMeaning: c.meaning });

/** dcmqi prints its progress through console.log; keep it for the error message instead. */
async function capturingConsole<T>(fn: () => Promise<T>): Promise<{ result?: T; error?: unknown; printed: string }> {
  const lines: string[] = [];
  const { log, error, warn } = console;
  console.log = console.error = console.warn = (...args: unknown[]) => { lines.push(args.map(String).join(' ')); };
  try {
    return { result: await fn(), printed: lines.join('\n') };
  } catch (err) {
    return { error: err, printed: lines.join('\n') };
  } finally {
    Object.assign(console, { log, error, warn });
  }
}

/** Writes `path`, a DICOM SEG with one segment per non-empty labelled region of `layers`; returns its UIDs and segment numbers. */
export async function writeDicomSeg(path: string, options: WriteDicomSegOptions): Promise<WrittenDicomSeg> {
  const problem = await dicomSegReferenceProblem(options.sourceFiles);
  if (problem) throw new DicomSegError(problem, path);
  // dcmqi refuses a segment description whose label is absent from the image.
  const layers = options.layers
    .map((l) => ({ ...l, segments: l.segments.filter((s) => l.labels.data.includes(s.labelId)) }))
    .filter((l) => l.segments.length > 0);
  if (layers.length === 0) throw new DicomSegError('every segment is empty', path);
  const work = await mkdtemp(join(tmpdir(), 'covseg-seg-'));
  try {
    const segImages: string[] = [];
    for (const [i, l] of layers.entries()) {
      const p = join(work, `layer${i}.nrrd`);
      await writeVolume(p, l.labels, { labels: true });
      segImages.push(p);
    }
    const metaInfo = {
      ContentCreatorName: options.contentCreator ?? 'covseg',
      SeriesDescription: options.seriesDescription.slice(0, 64),
      SeriesNumber: String(options.seriesNumber ?? 300),
      InstanceNumber: '1',
      BodyPartExamined: 'CHEST',
      segmentAttributes: layers.map((l) => l.segments.map((s) => ({
        labelID: s.labelId,
        SegmentLabel: s.label.slice(0, 64),
        SegmentDescription: s.description.slice(0, 64),
        SegmentAlgorithmType: 'AUTOMATIC',
        SegmentAlgorithmName: s.algorithmName.slice(0, 64),
        SegmentedPropertyCategoryCodeSequence: codeJson(s.category),
        SegmentedPropertyTypeCodeSequence: codeJson(s.type),
        ...(s.anatomicRegion ? { AnatomicRegionSequence: codeJson(s.anatomicRegion) } : {}),
        recommendedDisplayRGBValue: [...s.rgb],
      }))),
    };
    const contentLabel = { content: 'COVSEG', description: options.seriesDescription.slice(0, 64) };
    return await withAtomicPath(path, async (tmp) => {
      const run = await capturingConsole(() =>
        writeMultiSegmentationNode(metaInfo as JsonCompatible, tmp, { refDicomSeries: options.sourceFiles, segImages, skipEmptySlices: true }));
      if (run.error !== undefined || !existsSync(tmp)) {
        const detail = run.printed.split('\n').filter((s) => /error|cannot|fail|exception/i.test(s)).slice(-3).join('; ');
        throw new DicomSegError(`dcmqi failed${detail ? ` (${detail})` : ''}`, path, run.error);
      }
      const { segmentNumbers, ...uids } = await finishSeg(tmp, contentLabel);
      const segments = layers.flatMap((l, layer) => l.segments.map((segment) => ({ layer, segment })));
      if (segmentNumbers.length !== segments.length) throw new DicomSegError(`dcmqi wrote ${segmentNumbers.length} segments instead of ${segments.length}`, path);
      return { ...uids, segments: segments.map((s, i) => ({ ...s, segmentNumber: segmentNumbers[i]! })) };
    }, '.dcm');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export interface DicomSegContents {
  /** One binary mask per segment, in segment-number order, on the SEG's grid. */
  masks: LabelMap[];
  /** Segment descriptions as dcmqi reports them (labels, codes, colours). */
  segments: JsonCompatible[];
}

/**
 * Reads a DICOM SEG (segments may overlap) into one mask per segment. A SEG stores only
 * the slices its segments touch; pass the source image's `grid` to get the masks on it.
 */
export async function readDicomSeg(path: string, options: { grid?: VolumeGeometry } = {}): Promise<DicomSegContents> {
  const run = await capturingConsole(() => readOverlappingSegmentationNode(path));
  if (run.error !== undefined || !run.result) throw new CovsegError('cannot read this DICOM SEG', { file: path, cause: run.error });
  const { segImage, metaInfo } = run.result;
  const components = segImage.imageType.components;
  const n = segImage.size.reduce((a, b) => a * b, 1);
  const data = segImage.data as ArrayLike<number>;
  const masks: LabelMap[] = [];
  for (let c = 0; c < components; c++) {
    const m = new Uint8Array(n);
    for (let i = 0; i < n; i++) if (data[i * components + c]) m[i] = 1;
    const single = { ...segImage, imageType: { ...segImage.imageType, components: 1, pixelType: 'Scalar', componentType: 'uint8' }, data: m } as Image;
    const mask = itkImageToVolume(single, path).volume;
    masks.push((options.grid ? resampleToGrid(mask, options.grid, { interpolation: 'nearest' }) : mask) as LabelMap);
  }
  const groups = (metaInfo as { segmentAttributes?: JsonCompatible[][] }).segmentAttributes ?? [];
  return { masks, segments: groups.flat() };
}
