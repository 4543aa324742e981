/**
 * The records of the service's jobs and their folders on disk. Each job gets a folder
 * named by its id (128 random bits, so ids cannot be guessed and double as access
 * tokens). Finished jobs expire `ttlMs` after they end: the record is dropped and the
 * folder removed, so a long-running server does not fill the disk.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { basename, join, resolve, sep } from 'node:path';
import { HttpError } from './http-error.js';
import { DiskBudget, type DiskAccount } from './disk-budget.js';
import type { SegmentReport, SegmentResult, SegmentStage } from '../segment/index.js';

/**
 * - `queued`: waiting for a worker;
 * - `running`: a worker is segmenting it;
 * - `done`: outputs are ready to download until the job expires;
 * - `failed`: `error` says why.
 */
export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

/**
 * What an output file holds:
 * - `ct`: the CT as read (for the viewer);
 * - `lungs`: the lung label map (1 right, 2 left);
 * - `lesions`: the lesion mask (0/1);
 * - `lesion-types`: the lesion by density, 1 ground glass, 2 consolidation (HU input);
 * - `lobes`: the lobe label map (lungmask's LTRCLobes labels; with `--lobe-weights`);
 * - `report-json`, `report-html`: the report;
 * - `lungs-png`, `lesions-png`: the same label maps as PNG (slice inputs only);
 * - `overlay`: a PNG picture of masks over the CT.
 */
export type OutputKind = 'ct' | 'lungs' | 'lesions' | 'lesion-types' | 'lobes' | 'lungs-png' | 'lesions-png' | 'dicom-seg' | 'dicom-sr' | 'report-json' | 'report-html' | 'overlay';

export interface JobOutput {
  /** File name inside the job's output folder; the only name the download route accepts. */
  name: string;
  kind: OutputKind;
  path: string;
  bytes: number;
}

export interface Job {
  id: string;
  status: JobStatus;
  /** The uploaded file's name, for display only (the content decides the format). */
  inputName: string;
  /** The job's folder: the upload and `out/`. */
  dir: string;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  stage?: SegmentStage;
  stageDone: number;
  stageTotal: number;
  error?: string;
  report?: SegmentReport;
  outputs: JobOutput[];
  /** The job's bytes on disk (upload, unzipped input, outputs), counted in the service's disk budget until it is removed. */
  disk: DiskAccount;
}

export interface JobStoreOptions {
  /** How long a finished job's outputs stay, in ms. Defaults to 1 hour. */
  ttlMs?: number;
  /** How often expired jobs are looked for, in ms. Defaults to a quarter of ttlMs, at most 60 s. */
  sweepIntervalMs?: number;
  /** The budget the jobs' files count against. Defaults to none (unlimited). */
  disk?: DiskBudget;
}

/** 128 random bits, hex: 32 characters. */
export const JOB_ID_PATTERN = /^[0-9a-f]{32}$/;

/** Share of the whole job each stage ends at, so one bar can show stage progress. */
const STAGE_END: Record<SegmentStage, number> = { read: 0.05, lungs: 0.5, lesions: 0.9, lobes: 0.9, report: 0.95, write: 1 };
const STAGE_START: Record<SegmentStage, number> = { read: 0, lungs: 0.05, lesions: 0.5, lobes: 0.9, report: 0.9, write: 0.95 };

/** Fraction of job `job` done, 0–1, from its stage and the stage's step counter. */
export function jobProgress(job: Pick<Job, 'status' | 'stage' | 'stageDone' | 'stageTotal'>): number {
  if (job.status === 'done') return 1;
  if (!job.stage) return 0;
  const within = job.stageTotal > 0 ? Math.min(1, job.stageDone / job.stageTotal) : 0;
  return STAGE_START[job.stage] + (STAGE_END[job.stage] - STAGE_START[job.stage]) * within;
}

export class JobStore {
  readonly ttlMs: number;
  readonly disk: DiskBudget;
  private readonly jobs = new Map<string, Job>();
  private readonly timer: NodeJS.Timeout;
  private readonly root: string;

  /** `workDir`: the folder job folders are made in (created when missing). */
  constructor(workDir: string, options: JobStoreOptions = {}) {
    this.root = resolve(workDir);
    this.ttlMs = options.ttlMs ?? 60 * 60_000;
    this.disk = options.disk ?? new DiskBudget(Infinity);
    const interval = options.sweepIntervalMs ?? Math.max(10, Math.min(60_000, this.ttlMs / 4));
    this.timer = setInterval(() => void this.sweep(), interval);
    this.timer.unref();
  }

  /** A new job in state `queued`, with its (empty) folder created. */
  async create(inputName: string): Promise<Job> {
    const id = randomBytes(16).toString('hex');
    const dir = join(this.root, id);
    await mkdir(dir, { recursive: true });
    const job: Job = { id, status: 'queued', inputName, dir, createdAt: Date.now(), stageDone: 0, stageTotal: 0, outputs: [], disk: this.disk.account() };
    this.jobs.set(id, job);
    return job;
  }

  /** Job `id`; an HttpError 404 when the id is malformed, unknown or expired. */
  get(id: string): Job {
    const job = JOB_ID_PATTERN.test(id) ? this.jobs.get(id) : undefined;
    if (!job) throw new HttpError(404, 'not-found', `no job '${id.slice(0, 64)}': the id is wrong, or the job finished more than ${Math.round(this.ttlMs / 1000)} s ago and its files were removed; upload the scan again`);
    return job;
  }

  list(): Job[] {
    return [...this.jobs.values()];
  }

  /** When a finished job's files will be removed (ms since epoch), or undefined while it is not finished. */
  expiresAt(job: Job): number | undefined {
    return job.finishedAt === undefined ? undefined : job.finishedAt + this.ttlMs;
  }

  /** Records segmentCase's result on `job`: status `done` and its output files (by kind). */
  async complete(job: Job, result: SegmentResult): Promise<void> {
    const f = result.files;
    const named: [string | undefined, OutputKind][] = [
      [f.viewerCt, 'ct'], [f.lungs, 'lungs'], [f.lesions, 'lesions'], [f.lesionTypes, 'lesion-types'], [f.lobes, 'lobes'],
      [f.lungsPng, 'lungs-png'], [f.lesionsPng, 'lesions-png'], [f.dicomSeg, 'dicom-seg'], [f.dicomSr, 'dicom-sr'],
      [f.reportJson, 'report-json'], [f.reportHtml, 'report-html'],
      ...f.overlays.map((p): [string, OutputKind] => [p, 'overlay']),
    ];
    const outDir = resolve(result.outDir);
    const outputs: JobOutput[] = [];
    for (const [path, kind] of named) {
      if (!path) continue;
      const full = resolve(path);
      // Only files inside the job's own output folder may ever be served.
      if (!full.startsWith(outDir + sep) || !full.startsWith(job.dir + sep)) continue;
      outputs.push({ name: basename(full), kind, path: full, bytes: (await stat(full)).size });
    }
    job.outputs = outputs;
    // Written already, so counted whatever is left: later uploads see them.
    job.disk.add(outputs.reduce((sum, o) => sum + o.bytes, 0));
    job.report = result.report;
    job.status = 'done';
    job.finishedAt = Date.now();
  }

  fail(job: Job, message: string): void {
    // Messages name files by their path; the job folder is server detail the user does not need.
    job.error = message.split(job.dir + sep).join('');
    job.status = 'failed';
    job.finishedAt = Date.now();
  }

  /** Drops job `id` and removes its folder. */
  async remove(id: string): Promise<void> {
    const job = this.jobs.get(id);
    if (!job) return;
    this.jobs.delete(id);
    await rm(job.dir, { recursive: true, force: true });
    job.disk.close();
  }

  /** Removes finished jobs older than the TTL at time `now`; returns their ids. */
  async sweep(now = Date.now()): Promise<string[]> {
    const expired = this.list().filter((j) => j.finishedAt !== undefined && now >= j.finishedAt + this.ttlMs).map((j) => j.id);
    for (const id of expired) await this.remove(id);
    return expired;
  }

  /** Stops sweeping and removes every job folder. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const id of [...this.jobs.keys()]) await this.remove(id);
  }
}
