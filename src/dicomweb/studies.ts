/**
 * The studies a DICOMweb server offers, in a few plain fields (QIDO-RS): for a page to list
 * (listStudies), and for a batch, every study a QIDO-RS query matches (queryStudies).
 */
import { CovsegError, UsageError } from '../util/errors.js';
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

/** The plain fields of one QIDO-RS study answer; undefined without a StudyInstanceUID. */
function studySummary(ds: DicomJson): StudySummary | undefined {
  const studyInstanceUid = jsonString(ds, TAG.studyInstanceUid);
  if (!studyInstanceUid) return undefined;
  const s: StudySummary = { studyInstanceUid, modalities: (ds[STUDY_FIELDS.modalities]?.Value ?? []).filter((m): m is string => typeof m === 'string') };
  const fields = { patientId: jsonString(ds, TAG.patientId), patientName: patientName(ds), studyDate: jsonString(ds, TAG.studyDate), description: jsonString(ds, STUDY_FIELDS.description) };
  for (const [k, v] of Object.entries(fields) as [keyof typeof fields, string | undefined][]) if (v !== undefined) s[k] = v;
  const series = jsonNumber(ds, STUDY_FIELDS.series);
  const instances = jsonNumber(ds, STUDY_FIELDS.instances);
  if (series !== undefined) s.series = series;
  if (instances !== undefined) s.instances = instances;
  return s;
}

const INCLUDE = Object.values(STUDY_FIELDS).join(',');

/** At most `limit` studies of `client`, as the server orders them (QIDO-RS `limit`). */
export async function listStudies(client: DicomWebClient, limit: number): Promise<StudySummary[]> {
  const found = await client.searchStudies({ limit: String(limit), includefield: INCLUDE });
  return found.slice(0, limit).map(studySummary).filter((s): s is StudySummary => s !== undefined);
}

/**
 * A QIDO-RS study query as given on a command line, `KEY=VALUE&KEY=VALUE` (KEY an
 * attribute keyword or tag, or limit, offset, includefield, fuzzymatching; values as
 * QIDO-RS defines them: `StudyDate=20200101-20201231`, `PatientID=AB*`), URL-decoded.
 */
export function parseStudyQuery(text: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const part of text.replace(/^\?/, '').split('&')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new UsageError(`--query: '${part}' is not KEY=VALUE (e.g. --query 'ModalitiesInStudy=CT&StudyDate=20200101-20201231')`);
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(part.slice(0, eq).replace(/\+/g, ' ')).trim();
      value = decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      throw new UsageError(`--query: '${part}' has a broken %-escape`);
    }
    pairs.push([key, value]);
  }
  return pairs;
}

/** Studies asked of the server per request when the query gives no limit of its own. */
const PAGE = 200;

/**
 * Every study `query` (parseStudyQuery's pairs) matches on `client`, each once, in the
 * server's order. Without a `limit` in the query the answer is read in pages (limit and
 * offset), because servers cap one answer (Orthanc's LimitFindResults, a PACS's own cap);
 * the paging stops at a short page, or at one that brings no new study (a server that
 * ignores offset). A query that matches nothing is an error naming the server.
 */
export async function queryStudies(client: DicomWebClient, query: readonly [string, string][]): Promise<StudySummary[]> {
  const fields: Record<string, string[]> = {};
  for (const [k, v] of query) (fields[k] ??= []).push(v);
  const asked = new Set(Object.keys(fields).map((k) => k.toLowerCase()));
  if (!asked.has('includefield')) fields['includefield'] = [INCLUDE];
  const byUid = new Map<string, StudySummary>();
  const take = (found: DicomJson[]) => {
    let added = 0;
    for (const s of found.map(studySummary)) {
      if (s && !byUid.has(s.studyInstanceUid)) {
        byUid.set(s.studyInstanceUid, s);
        added++;
      }
    }
    return added;
  };
  if (asked.has('limit') || asked.has('offset')) {
    take(await client.searchStudies(fields));
  } else {
    for (let offset = 0; ; offset += PAGE) {
      const found = await client.searchStudies({ ...fields, limit: [String(PAGE)], offset: [String(offset)] });
      if (take(found) === 0 || found.length < PAGE) break;
    }
  }
  if (byUid.size === 0) {
    const text = query.map(([k, v]) => `${k}=${v}`).join('&');
    throw new CovsegError(`no study on DICOMweb server ${client.url} matches the query${text ? ` '${text}'` : ''}`);
  }
  return [...byUid.values()];
}
