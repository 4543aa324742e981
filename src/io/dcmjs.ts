/**
 * dcmjs (its `data` part: Part-10 reading and writing, the data dictionary), typed as far
 * as covseg uses it. dcmjs ships no type declarations; its CommonJS build is loaded with
 * `require`, so this is the one place that knows its shape.
 */
import { createRequire } from 'node:module';

/** One element of a raw (denaturalized) data set: `{ vr, Value }`, keyed by 8-hex-digit tag. */
export interface DcmjsElement {
  vr: string;
  Value?: unknown[];
}
export type DcmjsRawDataset = Record<string, DcmjsElement>;
/** A naturalized data set: keywords as keys (`PatientName`), sequences as arrays of data sets. */
export type DcmjsDataset = Record<string, unknown>;

export interface DcmjsDicomDict {
  meta: DcmjsRawDataset;
  dict: DcmjsRawDataset;
  write(options?: { allowInvalidVRLength?: boolean }): ArrayBuffer;
}

interface DcmjsData {
  DicomMessage: { readFile(buffer: ArrayBuffer, options?: { untilTag?: string; includeUntilTagValue?: boolean; ignoreErrors?: boolean }): DcmjsDicomDict };
  DicomMetaDictionary: {
    naturalizeDataset(raw: DcmjsRawDataset): DcmjsDataset;
    denaturalizeDataset(dataset: DcmjsDataset): DcmjsRawDataset;
    /** A new UID under 2.25 (from a random UUID). */
    uid(): string;
  };
  DicomDict: new (meta: DcmjsRawDataset) => DcmjsDicomDict;
}

const dcmjs = createRequire(import.meta.url)('dcmjs') as { data: DcmjsData; log: { setLevel(level: string): void } };
// dcmjs logs every odd element it meets (private tags, padding) through its own logger.
dcmjs.log.setLevel('error');

export const dcmjsData: DcmjsData = dcmjs.data;

/** The file's bytes as the ArrayBuffer dcmjs reads (a copy only when the Buffer is a slice of a larger one). */
export function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer) as ArrayBuffer;
}
