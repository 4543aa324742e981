/**
 * DICOM Structured Reports (Enhanced SR), written with dcmjs's data dictionary and Part-10
 * writer. The content tree is given as plain items ({@link SrItem}); this file knows the
 * IOD around it (patient and study copied from the source images, the SR series, the
 * evidence), not what a report says (src/segment/dicom-sr-content.ts does).
 *
 * Why not dcmjs's `sr` module (a port of highdicom's TID 1500 classes): in dcmjs 0.51 its
 * ReferencedSegmentation reads `sopClassUid` after checking `sopClassUID` (so the reference
 * is written empty), Measurement refuses a real TrackingIdentifier (an inverted check), and
 * its only document is Comprehensive 3D SR; TID 1500 needs neither 3D coordinates nor
 * those classes, and the tree itself is a few lines.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-write.js';
import { CovsegError } from '../util/errors.js';
import { arrayBufferOf, dcmjsData, type DcmjsDataset, type DcmjsRawDataset } from './dcmjs.js';
import type { Code } from './dicom-seg.js';
import { readDicomHeader } from './dicom-header.js';

export const ENHANCED_SR_STORAGE = '1.2.840.10008.5.1.4.1.1.88.22';
const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';

export type SrRelationship = 'CONTAINS' | 'HAS OBS CONTEXT' | 'HAS CONCEPT MOD' | 'HAS PROPERTIES' | 'INFERRED FROM';

interface SrItemBase {
  /** Concept name; only an IMAGE of an image library may go without. */
  concept?: Code;
  /** How the item relates to its parent; none for the root. */
  relationship?: SrRelationship;
  children?: SrItem[];
}
export type SrItem = SrItemBase & (
  | { valueType: 'CONTAINER'; concept: Code; /** DCMR template number (e.g. '1500'). */ template?: string }
  | { valueType: 'CODE'; concept: Code; value: Code }
  | { valueType: 'NUM'; concept: Code; value: number; unit: Code }
  | { valueType: 'TEXT'; concept: Code; value: string }
  | { valueType: 'UIDREF'; concept: Code; value: string }
  | { valueType: 'IMAGE'; sopClassUid: string; sopInstanceUid: string; /** For a segment of a SEG. */ segmentNumber?: number }
);

/** One referenced instance (an image of the source series, a SEG). */
export interface SrInstanceRef {
  sopClassUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
}

/** The image series an SR reports on: its study, its instances and the header to copy (patient, study). */
export interface SrSources {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  images: SrInstanceRef[];
  /** Patient and study attributes of the first image, as dcmjs read them. */
  header: DcmjsRawDataset;
}

/** A private coding scheme used in the content (designators start with 99), named in the SR. */
export interface SrCodingScheme {
  designator: string;
  name: string;
  responsibleOrganization: string;
}

export interface WriteDicomSrOptions {
  sources: SrSources;
  /** Other instances the content references (a SEG), listed with the sources as evidence; same study. */
  references?: SrInstanceRef[];
  /** The root: a CONTAINER without relationship. */
  content: SrItem;
  seriesDescription: string;
  seriesNumber?: number;
  codingSchemes?: SrCodingScheme[];
  /** SoftwareVersions of the equipment module. */
  softwareVersion?: string;
}

/** An SR was not written; `reason` says why, without the file name. */
export class DicomSrError extends CovsegError {
  constructor(readonly reason: string, file: string, cause?: unknown) {
    super(`cannot write a DICOM SR: ${reason}`, { file, cause });
  }
}

/**
 * covseg's own UID (device observer, implementation class): fixed, under 2.25 from a hash of
 * its name, so every report names the same device.
 */
export const COVSEG_UID = `2.25.${BigInt(`0x${createHash('sha256').update('covseg').digest('hex').slice(0, 32)}`).toString()}`;

/** Patient, general study and patient study attributes an SR copies from its source (PS3.3 C.7.1.1, C.7.2.1, C.7.2.2). */
const COPIED = {
  type2: { '00100010': 'PN', '00100020': 'LO', '00100030': 'DA', '00100040': 'CS', '00080020': 'DA', '00080030': 'TM', '00080090': 'PN', '00200010': 'SH', '00080050': 'SH' },
  optional: ['00080005', '00100021', '00101010', '00101020', '00101030', '00081030'],
} as const;

/**
 * Reads what an SR needs of `files` (one image series): the UIDs of each (an SR that cannot
 * reference its images is refused, naming the file) and the first one's patient and study.
 */
export async function dicomSrSources(files: string[]): Promise<SrSources> {
  if (files.length === 0) throw new CovsegError('cannot write a DICOM SR: no source DICOM files');
  const images: SrInstanceRef[] = [];
  let study = '';
  for (const f of files) {
    const h = await readDicomHeader(f);
    const missing = ([['StudyInstanceUID', h.studyInstanceUid], ['SeriesInstanceUID', h.seriesInstanceUid], ['SOPInstanceUID', h.sopInstanceUid], ['SOPClassUID', h.sopClassUid]] as const)
      .filter(([, v]) => !v).map(([k]) => k);
    if (missing.length > 0) throw new DicomSrError(`the source DICOM lacks ${missing.join(', ')} (anonymised?), so a report could not reference it`, f);
    if (study && h.studyInstanceUid !== study) throw new DicomSrError('the source DICOM files belong to different studies', f);
    study = h.studyInstanceUid!;
    images.push({ sopClassUid: h.sopClassUid!, sopInstanceUid: h.sopInstanceUid!, seriesInstanceUid: h.seriesInstanceUid! });
  }
  if (new Set(images.map((i) => i.sopInstanceUid)).size < images.length) throw new DicomSrError('the source DICOM slices share SOPInstanceUIDs, so a report could not reference each slice', files[0]!);
  const first = dcmjsData.DicomMessage.readFile(arrayBufferOf(await readFile(files[0]!)), { untilTag: '7FE00010', includeUntilTagValue: false, ignoreErrors: true }).dict;
  const header: DcmjsRawDataset = {};
  for (const [tag, vr] of Object.entries(COPIED.type2)) header[tag] = first[tag] ?? { vr, Value: [] };
  for (const tag of COPIED.optional) if (first[tag]) header[tag] = first[tag];
  return { studyInstanceUid: study, seriesInstanceUid: images[0]!.seriesInstanceUid, images, header };
}

const codeItem = (c: Code) => ({ CodeValue: c.value, CodingSchemeDesignator: c.scheme, CodeMeaning: c.meaning.slice(0, 64) });

/** A decimal string (DS) of at most 16 characters. */
function decimalString(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`an SR measurement must be finite, got ${v}`);
  const s = String(v);
  return s.length <= 16 ? s : String(+v.toPrecision(10));
}

/** An item as dcmjs's naturalized data set. */
function contentItem(item: SrItem): DcmjsDataset {
  const out: DcmjsDataset = {};
  if (item.relationship) out.RelationshipType = item.relationship;
  out.ValueType = item.valueType;
  if (item.concept) out.ConceptNameCodeSequence = [codeItem(item.concept)];
  switch (item.valueType) {
    case 'CONTAINER':
      out.ContinuityOfContent = 'SEPARATE';
      if (item.template) out.ContentTemplateSequence = [{ MappingResource: 'DCMR', TemplateIdentifier: item.template }];
      break;
    case 'CODE': out.ConceptCodeSequence = [codeItem(item.value)]; break;
    case 'NUM': out.MeasuredValueSequence = [{ MeasurementUnitsCodeSequence: [codeItem(item.unit)], NumericValue: decimalString(item.value) }]; break;
    case 'TEXT': out.TextValue = item.value; break;
    case 'UIDREF': out.UID = item.value; break;
    case 'IMAGE':
      out.ReferencedSOPSequence = [{ ReferencedSOPClassUID: item.sopClassUid, ReferencedSOPInstanceUID: item.sopInstanceUid, ...(item.segmentNumber !== undefined ? { ReferencedSegmentNumber: item.segmentNumber } : {}) }];
      break;
  }
  if (item.children && item.children.length > 0) out.ContentSequence = item.children.map(contentItem);
  return out;
}

const dicomDate = (d: Date) => d.toISOString().slice(0, 10).replaceAll('-', '');
const dicomTime = (d: Date) => d.toISOString().slice(11, 19).replaceAll(':', '');

/**
 * Writes `path`, an Enhanced SR document of `content` about `sources`, atomically; returns
 * its UIDs. The evidence (CurrentRequestedProcedureEvidenceSequence) lists every source
 * image and every `references` instance, by series.
 */
export async function writeDicomSr(path: string, options: WriteDicomSrOptions): Promise<{ sopInstanceUid: string; seriesInstanceUid: string }> {
  const { sources, content } = options;
  if (content.valueType !== 'CONTAINER' || content.relationship) throw new DicomSrError('the content root must be a CONTAINER without relationship', path);
  const sopInstanceUid = dcmjsData.DicomMetaDictionary.uid();
  const seriesInstanceUid = dcmjsData.DicomMetaDictionary.uid();
  const now = new Date();
  const series = new Map<string, SrInstanceRef[]>();
  for (const r of [...sources.images, ...(options.references ?? [])]) series.set(r.seriesInstanceUid, [...(series.get(r.seriesInstanceUid) ?? []), r]);
  const root = contentItem(content);
  const dataset: DcmjsDataset = {
    SOPClassUID: ENHANCED_SR_STORAGE,
    SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: dicomDate(now),
    InstanceCreationTime: dicomTime(now),
    Modality: 'SR',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: String(options.seriesNumber ?? 301),
    SeriesDescription: options.seriesDescription.slice(0, 64),
    SeriesDate: dicomDate(now),
    SeriesTime: dicomTime(now),
    ReferencedPerformedProcedureStepSequence: [],
    StudyInstanceUID: sources.studyInstanceUid,
    Manufacturer: 'covseg',
    ...(options.softwareVersion ? { SoftwareVersions: options.softwareVersion.slice(0, 64) } : {}),
    InstanceNumber: '1',
    CompletionFlag: 'COMPLETE',
    // Made by software, not signed by a physician.
    VerificationFlag: 'UNVERIFIED',
    PreliminaryFlag: 'PRELIMINARY',
    ContentDate: dicomDate(now),
    ContentTime: dicomTime(now),
    PerformedProcedureCodeSequence: [],
    CurrentRequestedProcedureEvidenceSequence: [{
      StudyInstanceUID: sources.studyInstanceUid,
      ReferencedSeriesSequence: [...series].map(([uid, refs]) => ({
        SeriesInstanceUID: uid,
        ReferencedSOPSequence: refs.map((r) => ({ ReferencedSOPClassUID: r.sopClassUid, ReferencedSOPInstanceUID: r.sopInstanceUid })),
      })),
    }],
    ...(options.codingSchemes?.length ? {
      CodingSchemeIdentificationSequence: options.codingSchemes.map((s) => ({ CodingSchemeDesignator: s.designator, CodingSchemeName: s.name, CodingSchemeResponsibleOrganization: s.responsibleOrganization })),
    } : {}),
    ValueType: root.ValueType,
    ConceptNameCodeSequence: root.ConceptNameCodeSequence,
    ContinuityOfContent: root.ContinuityOfContent,
    ...(root.ContentTemplateSequence ? { ContentTemplateSequence: root.ContentTemplateSequence } : {}),
    ContentSequence: root.ContentSequence ?? [],
  };
  const { DicomDict, DicomMetaDictionary } = dcmjsData;
  const file = new DicomDict(DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: ENHANCED_SR_STORAGE,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: EXPLICIT_VR_LE,
    ImplementationClassUID: COVSEG_UID,
    ImplementationVersionName: 'COVSEG',
  }));
  // The source's patient and study elements as read (their VRs and character set kept), then the SR's own.
  file.dict = { ...sources.header, ...DicomMetaDictionary.denaturalizeDataset(dataset) };
  await writeFileAtomic(path, new Uint8Array(file.write()));
  return { sopInstanceUid, seriesInstanceUid };
}
