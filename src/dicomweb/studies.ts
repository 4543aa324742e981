/** The studies a DICOMweb server offers, in a few plain fields (QIDO-RS), for a page to list. */
import type { DicomWebClient } from './client.js';
import { jsonNumber, jsonString, TAG, type DicomJson } from './dicom-json.js';

export interface StudySummary {
  studyInstanceUid: string;
  patientId?: string;
  /** PatientName's alphabetic form, as stored (Family^Given). */
  patientName?: string;
  /** StudyDate as stored, YYYYMMDD. */
  studyDate?: string;
  description?: string;
  /** ModalitiesInStudy, e.g. ['CT', 'SEG']. */
  modalities: string[];
  series?: number;
  instances?: number;
}

const STUDY_FIELDS = { description: '00081030', modalities: '00080061', series: '00201206', instances: '00201208', patientName: '00100010' } as const;

function patientName(ds: DicomJson): string | undefined {
  const v = ds[STUDY_FIELDS.patientName]?.Value?.[0];
  const name = typeof v === 'object' && v !== null ? (v as { Alphabetic?: unknown }).Alphabetic : v;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/** At most `limit` studies of `client`, as the server orders them (QIDO-RS `limit`). */
export async function listStudies(client: DicomWebClient, limit: number): Promise<StudySummary[]> {
  const found = await client.searchStudies({ limit: String(limit), includefield: Object.values(STUDY_FIELDS).join(',') });
  const studies: StudySummary[] = [];
  for (const ds of found.slice(0, limit)) {
    const studyInstanceUid = jsonString(ds, TAG.studyInstanceUid);
    if (!studyInstanceUid) continue;
    const s: StudySummary = { studyInstanceUid, modalities: (ds[STUDY_FIELDS.modalities]?.Value ?? []).filter((m): m is string => typeof m === 'string') };
    const fields = { patientId: jsonString(ds, TAG.patientId), patientName: patientName(ds), studyDate: jsonString(ds, TAG.studyDate), description: jsonString(ds, STUDY_FIELDS.description) };
    for (const [k, v] of Object.entries(fields) as [keyof typeof fields, string | undefined][]) if (v !== undefined) s[k] = v;
    const series = jsonNumber(ds, STUDY_FIELDS.series);
    const instances = jsonNumber(ds, STUDY_FIELDS.instances);
    if (series !== undefined) s.series = series;
    if (instances !== undefined) s.instances = instances;
    studies.push(s);
  }
  return studies;
}
