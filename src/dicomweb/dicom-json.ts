/**
 * The DICOM JSON model (PS3.18 F.2) that QIDO-RS and WADO-RS metadata answer with, read
 * into the few values covseg needs: series choice takes the same `DicomHeader` the folder
 * reader makes from a file, so a study on a server is chosen from exactly as a folder is.
 */
import type { DicomHeader } from '../io/index.js';

/** One data set: tag (8 hex digits) → { vr, Value }. */
export type DicomJson = Record<string, { vr?: string; Value?: unknown[]; BulkDataURI?: string; InlineBinary?: string } | undefined>;

export const TAG = {
  imageType: '00080008',
  sopClassUid: '00080016',
  sopInstanceUid: '00080018',
  studyDate: '00080020',
  modality: '00080060',
  seriesDescription: '0008103E',
  patientId: '00100020',
  sliceThickness: '00180050',
  studyInstanceUid: '0020000D',
  seriesInstanceUid: '0020000E',
  seriesNumber: '00200011',
  instanceNumber: '00200013',
  imagePositionPatient: '00200032',
  imageOrientationPatient: '00200037',
  frameOfReferenceUid: '00200052',
  numberOfSeriesRelatedInstances: '00201209',
  samplesPerPixel: '00280002',
  numberOfFrames: '00280008',
  rows: '00280010',
  columns: '00280011',
  pixelSpacing: '00280030',
  bitsAllocated: '00280100',
  rescaleIntercept: '00281052',
  rescaleSlope: '00281053',
  transferSyntaxUid: '00020010',
  pixelData: '7FE00010',
  failedSopSequence: '00081198',
  referencedSopSequence: '00081199',
  referencedSopInstanceUid: '00081155',
  failureReason: '00081197',
} as const;

/** The values of `tag`, [] when absent. */
function values(ds: DicomJson, tag: string): unknown[] {
  return ds[tag]?.Value ?? [];
}

/** The first value of `tag` as a string (UI, CS, LO, DA…), undefined when absent or empty. */
export function jsonString(ds: DicomJson, tag: string): string | undefined {
  const v = values(ds, tag)[0];
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}

/** The values of `tag` as numbers (DS, IS, US: numbers in JSON, some servers send strings). */
function jsonNumbers(ds: DicomJson, tag: string): number[] | undefined {
  const vs = values(ds, tag).map((v) => (typeof v === 'number' ? v : Number(v)));
  return vs.length > 0 && vs.every(Number.isFinite) ? vs : undefined;
}

export function jsonNumber(ds: DicomJson, tag: string): number | undefined {
  return jsonNumbers(ds, tag)?.[0];
}

/** The items of sequence `tag`, [] when absent. */
export function jsonItems(ds: DicomJson, tag: string): DicomJson[] {
  return values(ds, tag).filter((v): v is DicomJson => typeof v === 'object' && v !== null);
}

/**
 * The `DicomHeader` of one instance's metadata; `path` names it in messages (its WADO-RS
 * URL). Pixel data counts as present when the metadata lists it or gives rows and columns.
 */
export function headerOfJson(ds: DicomJson, path: string): DicomHeader {
  const h: DicomHeader = {
    path,
    transferSyntaxUid: jsonString(ds, TAG.transferSyntaxUid) ?? '',
    imageType: values(ds, TAG.imageType).filter((v): v is string => typeof v === 'string'),
    hasPixelData: ds[TAG.pixelData] !== undefined || (jsonNumber(ds, TAG.rows) !== undefined && jsonNumber(ds, TAG.columns) !== undefined),
  };
  const strings = { sopClassUid: TAG.sopClassUid, sopInstanceUid: TAG.sopInstanceUid, studyInstanceUid: TAG.studyInstanceUid, modality: TAG.modality, patientId: TAG.patientId, studyDate: TAG.studyDate, seriesDescription: TAG.seriesDescription, seriesInstanceUid: TAG.seriesInstanceUid, frameOfReferenceUid: TAG.frameOfReferenceUid } as const;
  for (const [key, tag] of Object.entries(strings) as [keyof typeof strings, string][]) {
    const v = jsonString(ds, tag);
    if (v !== undefined) h[key] = v;
  }
  const numbers = { seriesNumber: TAG.seriesNumber, instanceNumber: TAG.instanceNumber, rows: TAG.rows, columns: TAG.columns, sliceThickness: TAG.sliceThickness, rescaleSlope: TAG.rescaleSlope, rescaleIntercept: TAG.rescaleIntercept, numberOfFrames: TAG.numberOfFrames, samplesPerPixel: TAG.samplesPerPixel, bitsAllocated: TAG.bitsAllocated } as const;
  for (const [key, tag] of Object.entries(numbers) as [keyof typeof numbers, string][]) {
    const v = jsonNumber(ds, tag);
    if (v !== undefined) h[key] = v;
  }
  const ipp = jsonNumbers(ds, TAG.imagePositionPatient);
  if (ipp?.length === 3) h.imagePositionPatient = ipp as [number, number, number];
  const iop = jsonNumbers(ds, TAG.imageOrientationPatient);
  if (iop?.length === 6) h.imageOrientationPatient = iop as [number, number, number, number, number, number];
  const ps = jsonNumbers(ds, TAG.pixelSpacing);
  if (ps?.length === 2) h.pixelSpacing = ps as [number, number];
  return h;
}
