/**
 * One case of a batch, run the same way by `covseg batch` on this machine and by every
 * `covseg worker` of a queue: skip it when its folder is done and verified (done.ts), else
 * segment into a temporary folder beside the target (a scan file or folder: segmentCase; a
 * study on a DICOMweb server: segmentStudy, which also stores the SEG and SR back with
 * STOW-RS), add the done marker, and rename the folder into place. The rename is the
 * case's one moment of completion: when two runs of one job race (a worker thought dead
 * was only slow), the second finds the target taken and discards its copy, so a case is
 * completed once.
 */
import { createHash } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { segmentCase, DEFAULT_LESION_MODEL_PATH } from '../segment/segment-case.js';
import { connectionClients, segmentStudy, type DicomWebConnection, type StudyStage } from '../dicomweb/index.js';
import type { SegmentReport } from '../segment/report.js';
import { removeAside, tempPathFor } from '../util/atomic-write.js';
import { DONE_MARKER, verifiedDone, writeDoneMarker, type DoneMarker } from './done.js';

/** The options that shape a case's outputs: part of its job key. */
export interface CaseOptions {
  lungModel?: string;
  lungWeights?: string;
  /** lungmask's LTRCLobes weights, for the lobe scores and lobes.nii.gz. */
  lobeWeights?: string;
  lesionModel?: string;
  force?: boolean;
  maxVoxels?: number;
  /** The input's name in the report (a web upload's own file name); not part of the key. */
  inputName?: string;
  /** Also write ct.nii.gz (the web page shows the CT under the masks); not part of the key. */
  writeViewerCt?: boolean;
}

/** A case that is a study on a DICOMweb server. */
export interface StudySource {
  /** How to reach the server: no secret (a worker reads those from its own environment). */
  connection: DicomWebConnection;
  studyInstanceUid: string;
}

/** What a queue carries for one case: everything a worker on another machine needs. */
export interface BatchJob {
  /** The job's key (jobKey). */
  key: string;
  /** The scan's path, absolute; for a study, its URL (`${url}/studies/${uid}`). */
  input: string;
  /** Set when the case is a study on a DICOMweb server rather than a scan at `input`. */
  study?: StudySource;
  name: string;
  /** The batch's output folder, absolute; the case goes to `${out}/${name}`. */
  out: string;
  options: CaseOptions;
}

/**
 * A stable hash of the input (a path, or a study's URL), the case's output folder, the
 * options and, for a study, the server its results are stored on: the same case asked
 * twice is the same job (a queue keeps one of it, a rerun recognises its folder). The
 * user and the timeout are left out: new credentials do not make a study's results stale.
 */
export function jobKey(input: string, caseDir: string, options: CaseOptions, study?: StudySource): string {
  const o = { lungModel: options.lungModel ?? 'default', lungWeights: options.lungWeights ? resolve(options.lungWeights) : null, lesionModel: resolve(options.lesionModel ?? DEFAULT_LESION_MODEL_PATH), ...(options.lobeWeights ? { lobeWeights: resolve(options.lobeWeights) } : {}), force: options.force ?? false, maxVoxels: options.maxVoxels ?? null };
  const source = study ? [study.connection.url, study.studyInstanceUid, study.connection.targetUrl ?? study.connection.url] : resolve(input);
  return createHash('sha256').update(JSON.stringify([source, resolve(caseDir), o])).digest('hex').slice(0, 32);
}

/** The job of case `name` (input `input`) of a batch writing into `out`. */
export function batchJob(input: string, name: string, out: string, options: CaseOptions): BatchJob {
  const dir = resolve(out, name);
  return { key: jobKey(input, dir, options), input: resolve(input), name, out: resolve(out), options };
}

/** The job of study `study` (case `name`) of a batch writing into `out`. */
export function studyJob(study: StudySource, name: string, out: string, options: CaseOptions): BatchJob {
  const dir = resolve(out, name);
  const input = `${study.connection.url}/studies/${study.studyInstanceUid}`;
  return { key: jobKey(input, dir, options, study), input, study, name, out: resolve(out), options };
}

export interface CaseRunOptions {
  /** ONNX Runtime threads of this case. Defaults to 1. */
  threads?: number;
  /** Appends one JSON line per case this process completes (the audit trail of who did what). */
  log?: string;
  /** A study's stages add 'fetch' and 'store' to the segmentation's. */
  onProgress?: (stage: StudyStage, done: number, total: number) => void;
}

export interface CaseOutcome {
  /** 'done': completed by this run; 'skipped': already done and verified (by an earlier run, or a racing one). */
  status: 'done' | 'skipped';
  dir: string;
  marker: DoneMarker;
}

/** The report of a done case. */
export async function caseReport(dir: string): Promise<SegmentReport> {
  return JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as SegmentReport;
}

/** Runs case `job` unless it is done; throws the case's error (a CovsegError for bad input). */
export async function runCase(job: BatchJob, options: CaseRunOptions = {}): Promise<CaseOutcome> {
  const dir = join(job.out, job.name);
  const done = await verifiedDone(dir, job.key);
  if (done) return { status: 'skipped', dir, marker: done };
  const started = performance.now();
  await mkdir(job.out, { recursive: true });
  // A folder that is not done for this job (a result of other options, a damaged one) goes
  // now, before the work: at the end only a rename onto an absent folder completes the case.
  await removeAside(dir);
  const tmp = tempPathFor(dir);
  try {
    const segmentOptions = { ...job.options, threads: options.threads ?? 1, ...(options.onProgress ? { onProgress: options.onProgress } : {}) };
    if (job.study) {
      // The credentials come from this process's environment, never from the job.
      await segmentStudy({ ...segmentOptions, ...connectionClients(job.study.connection), studyInstanceUid: job.study.studyInstanceUid, outDir: tmp });
    } else {
      await segmentCase(job.input, tmp, segmentOptions);
    }
    const worker = `${hostname()}:${process.pid}`;
    const marker = await writeDoneMarker(tmp, { key: job.key, input: job.input, worker, finishedAt: new Date().toISOString(), timeMs: Math.round(performance.now() - started) });
    try {
      // Fails on a non-empty folder: a racing run of this job completed first.
      await rename(tmp, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const theirs = code === 'ENOTEMPTY' || code === 'EEXIST' ? await verifiedDone(dir, job.key) : undefined;
      if (theirs) return { status: 'skipped', dir, marker: theirs };
      throw err;
    }
    if (options.log) await appendFile(options.log, JSON.stringify({ key: job.key, name: job.name, worker, finishedAt: marker.finishedAt }) + '\n');
    return { status: 'done', dir, marker };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Removes what killed runs of these jobs left in their --out (`NAME.tmp-…` folders), once the
 * batch is over: every job is then finished, so no run that could still complete owns one.
 * Returns how many were removed.
 */
export async function removeLeftovers(jobs: readonly BatchJob[]): Promise<number> {
  let removed = 0;
  for (const out of new Set(jobs.map((j) => j.out))) {
    const names = new Set(jobs.filter((j) => j.out === out).map((j) => j.name));
    let entries: string[];
    try {
      entries = await readdir(out);
    } catch {
      continue;
    }
    for (const e of entries) {
      const i = e.indexOf('.tmp-');
      if (i > 0 && names.has(e.slice(0, i))) {
        await rm(join(out, e), { recursive: true, force: true });
        removed++;
      }
    }
  }
  return removed;
}
