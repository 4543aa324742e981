/**
 * A batch on this machine: the cases run `jobs` at a time in this process, each with its
 * share of the cores as ONNX Runtime threads, and a case's failure is its own line in the
 * summary, never the end of the batch.
 */
import { availableParallelism } from 'node:os';
import { CovsegError } from '../util/errors.js';
import { describeIoError } from '../util/output-target.js';
import type { ProgressCallback } from '../util/progress.js';
import { caseReport, runCase, type BatchJob, type CaseRunOptions } from './case-run.js';
import { doneSummary, type CaseIdentity, type CaseSummary } from './summary.js';

/** Cases at a time by default: one per two cores (each case's inference uses two threads), at least one. */
export function defaultJobs(cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / 2));
}

/** Each of `jobs` parallel cases gets this many ONNX Runtime threads: the cores shared out, at least one. */
export function threadsPerJob(jobs: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / Math.max(1, jobs)));
}

/** A case's error in one line: the CovsegError's message (it names the file), else what the file system said. */
export function caseError(err: unknown): string {
  if (err instanceof CovsegError) return err.message;
  const io = describeIoError(err);
  if (io) return io.message;
  return err instanceof Error ? err.message : String(err);
}

/** The summary's identity of `job`: name, input, and the StudyInstanceUID of a study. */
export function caseIdentity(job: BatchJob): CaseIdentity {
  return { name: job.name, input: job.input, ...(job.study ? { study: job.study.studyInstanceUid } : {}) };
}

/** Runs `job` and returns its summary line; a failure is a 'failed' line, not a throw. */
export async function runCaseSummary(job: BatchJob, options: CaseRunOptions = {}): Promise<CaseSummary> {
  try {
    const outcome = await runCase(job, options);
    return doneSummary(caseIdentity(job), outcome.status, outcome.dir, outcome.marker.timeMs, await caseReport(outcome.dir));
  } catch (err) {
    return { ...caseIdentity(job), status: 'failed', error: caseError(err) };
  }
}

export interface LocalBatchOptions {
  /** Cases at a time. Defaults to defaultJobs(). */
  jobs?: number;
  /** ONNX Runtime threads per case. Defaults to threadsPerJob(jobs). */
  threads?: number;
  /** Called after each case: cases finished, of all, and the case's name and status. */
  onProgress?: ProgressCallback;
  /** Each finished case's summary line, as it comes. */
  onCase?: (c: CaseSummary) => void;
}

/** Runs every job, `jobs` at a time; the summary lines come back in the jobs' order. */
export async function runLocalBatch(jobs: readonly BatchJob[], options: LocalBatchOptions = {}): Promise<CaseSummary[]> {
  const parallel = Math.max(1, Math.min(options.jobs ?? defaultJobs(), jobs.length));
  const threads = options.threads ?? threadsPerJob(parallel);
  const results: CaseSummary[] = new Array(jobs.length);
  let next = 0;
  let finished = 0;
  options.onProgress?.(0, jobs.length);
  const lane = async () => {
    while (next < jobs.length) {
      const i = next++;
      const c = await runCaseSummary(jobs[i]!, { threads });
      results[i] = c;
      finished++;
      options.onCase?.(c);
      options.onProgress?.(finished, jobs.length, undefined, `${c.name} ${c.status}`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return results;
}
