/**
 * A batch over many machines, on BullMQ and Redis: `covseg batch --redis` enqueues one job
 * per case and waits, `covseg worker --redis` on any number of machines runs them (runCase,
 * as on one machine). The guarantees come from BullMQ and the case folder:
 *  - never lost: a job stays in Redis until it is completed or has failed every attempt;
 *  - retried when a worker dies: its lock is no longer renewed, and after `lockDurationMs`
 *    another worker's stalled-job check (every `stalledIntervalMs`) puts the job back;
 *  - never done twice to completion: the job id is the case's key (the same case enqueued
 *    again is the same job), and the case completes by one rename that a racing second run
 *    finds taken (case-run.ts);
 *  - results atomically in place: the case folder appears whole, done marker included.
 * Workers and the batch must see the same paths (shared storage, or one machine).
 * `covseg serve --redis` enqueues its web jobs here too (src/web/redis-job-queue.ts): a job of
 * the same format, its case folder the web job's out/ under serve's --work-dir, which the
 * workers must see at the same path; it follows them with jobState and takes them off with
 * discard. Workers report each job's stage as its BullMQ progress (JobProgress) for the page.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Queue, UnrecoverableError, Worker, type Job, type JobState } from 'bullmq';
import { Redis } from 'ioredis';
import { CovsegError } from '../util/errors.js';
import { isTransientDicomWebError } from '../dicomweb/index.js';
import type { ProgressCallback } from '../util/progress.js';
import type { StudyStage } from '../dicomweb/index.js';
import { caseReport, runCase, type BatchJob } from './case-run.js';
import { verifiedDone } from './done.js';
import { caseError, caseIdentity, defaultJobs, threadsPerJob } from './local.js';
import { doneSummary, type CaseSummary } from './summary.js';
import { DEFAULT_ATTEMPTS, DEFAULT_LOCK_MS, DEFAULT_STALLED_CHECK_MS, QUEUE_NAME } from './queue-settings.js';

/** What a worker returns for a job: stored by BullMQ as the job's return value. */
export interface JobResult {
  status: 'done' | 'skipped';
  timeMs: number;
  worker: string;
}

/** What a worker reports as a job's BullMQ progress: the pipeline's stage and its step counter. */
export interface JobProgress {
  stage: StudyStage;
  done: number;
  total: number;
}

/** How one job stands on the queue (BatchQueue.jobState). */
export interface QueuedJobState {
  /** BullMQ's state: waiting, prioritized, delayed, active, completed, failed, … */
  state: JobState | 'unknown';
  /** The worker's last progress report, while active. */
  progress?: JobProgress;
  /** When a worker took it (its latest try), ms since epoch. */
  processedOn?: number;
  /** Why it failed (its last try). */
  failedReason?: string;
}

/** A connection to the Redis at `url` (redis:// or rediss://), as BullMQ needs it (no per-command retry limit). */
export function redisConnection(url: string): Redis {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CovsegError(`--redis: '${url}' is not a URL; give redis://HOST:PORT`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new CovsegError(`--redis: '${url}' is not a redis:// or rediss:// URL`);
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true });
}

/** Connects, or fails within `timeoutMs` with one line naming the URL and the reason. */
async function connect(url: string, timeoutMs = 10_000): Promise<Redis> {
  const redis = redisConnection(url);
  let last = '';
  redis.on('error', (err: Error) => void (last = err.message));
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.connect().then(() => redis.ping()),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), timeoutMs))),
    ]);
  } catch (err) {
    redis.disconnect();
    throw new CovsegError(`cannot reach Redis at ${url}: ${last || (err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  return redis;
}

export interface EnqueueOptions {
  /** Tries of a job that fails. Defaults to DEFAULT_ATTEMPTS. */
  attempts?: number;
}

/** How each case stands after enqueueing. */
export interface Enqueued {
  /** Already done and verified: not enqueued. */
  done: BatchJob[];
  /** On the queue (new, retried, or already waiting or running). */
  queued: BatchJob[];
}

/** The batch side: enqueue a batch's jobs, wait for them, close. */
export class BatchQueue {
  /** Keys of the jobs found done when enqueued: 'skipped' in the summary; the rest, done by the workers, are 'done'. */
  private readonly doneBefore = new Set<string>();

  private constructor(private readonly redis: Redis, readonly queue: Queue) {}

  static async open(url: string): Promise<BatchQueue> {
    const redis = await connect(url);
    return new BatchQueue(redis, new Queue(QUEUE_NAME, { connection: redis }));
  }

  /**
   * Enqueues every job not done yet. A job already there is not added again (its id is the
   * case's key): a failed one is retried, a completed one whose folder no longer verifies
   * is replaced, a waiting or running one is left as it is.
   */
  async enqueue(jobs: readonly BatchJob[], options: EnqueueOptions = {}): Promise<Enqueued> {
    const result: Enqueued = { done: [], queued: [] };
    for (const job of jobs) {
      if (await verifiedDone(join(job.out, job.name), job.key)) {
        result.done.push(job);
        this.doneBefore.add(job.key);
        continue;
      }
      result.queued.push(job);
      const existing = await this.queue.getJob(job.key);
      const state = existing ? await existing.getState() : 'unknown';
      if (existing && state === 'failed') {
        await existing.retry('failed');
        continue;
      }
      if (existing && state !== 'completed' && state !== 'unknown') continue;
      if (existing) await existing.remove();
      await this.queue.add(job.name, job, {
        jobId: job.key,
        attempts: options.attempts ?? DEFAULT_ATTEMPTS,
        backoff: { type: 'exponential', delay: 5_000 },
      });
    }
    return result;
  }

  /**
   * Waits until every job is completed or has failed its last attempt (polling Redis every
   * `pollMs`), then returns their summary lines from the case folders, in the jobs' order.
   */
  async wait(jobs: readonly BatchJob[], options: { pollMs?: number; onProgress?: ProgressCallback } = {}): Promise<CaseSummary[]> {
    const results = new Map<string, CaseSummary>();
    options.onProgress?.(0, jobs.length);
    while (results.size < jobs.length) {
      for (const job of jobs) {
        if (results.has(job.key)) continue;
        const c = await this.finished(job);
        if (!c) continue;
        results.set(job.key, c);
        options.onProgress?.(results.size, jobs.length, undefined, `${c.name} ${c.status}`);
      }
      if (results.size < jobs.length) await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
    }
    return jobs.map((j) => results.get(j.key)!);
  }

  /** The summary line of `job` once it is finished; undefined while it is not. */
  private async finished(job: BatchJob): Promise<CaseSummary | undefined> {
    const dir = join(job.out, job.name);
    const q = await this.queue.getJob(job.key);
    const state = q ? await q.getState() : 'unknown';
    if (state === 'failed') return { ...caseIdentity(job), status: 'failed', error: q!.failedReason || 'failed' };
    if (state !== 'completed' && q) return undefined;
    // Completed, or not on the queue (done before this batch): the folder must verify.
    const marker = await verifiedDone(dir, job.key);
    if (!marker) return { ...caseIdentity(job), status: 'failed', error: q ? `the job completed but its result in ${dir} is missing or changed (do the workers write to the same storage as this batch?)` : 'not on the queue and not done' };
    // A job's last run may have found the folder done by its own earlier run (a worker that lost its lock): still done in this batch.
    return doneSummary(caseIdentity(job), this.doneBefore.has(job.key) ? 'skipped' : 'done', dir, marker.timeMs, await caseReport(dir));
  }

  /** How job `key` stands; undefined when it is not on the queue. */
  async jobState(key: string): Promise<QueuedJobState | undefined> {
    const q = await this.queue.getJob(key);
    if (!q) return undefined;
    const p = q.progress as Partial<JobProgress> | number;
    return {
      state: await q.getState(),
      ...(typeof p === 'object' && p && typeof p.stage === 'string' ? { progress: p as JobProgress } : {}),
      ...(q.processedOn ? { processedOn: q.processedOn } : {}),
      ...(q.failedReason ? { failedReason: q.failedReason } : {}),
    };
  }

  /**
   * Takes job `key` off the queue. A job a worker holds (active) cannot be: false, and it
   * runs on; BullMQ has no way to stop another machine's job.
   */
  async discard(key: string): Promise<boolean> {
    const q = await this.queue.getJob(key);
    if (!q) return true;
    try {
      await q.remove();
      return true;
    } catch {
      // Locked by a worker.
      return false;
    }
  }

  /** Workers connected to the queue now. */
  async workerCount(): Promise<number> {
    return this.queue.getWorkersCount();
  }

  /** Jobs waiting on the queue now (every producer's: batches and web jobs). */
  async waitingCount(): Promise<number> {
    const c = await this.queue.getJobCounts('waiting', 'prioritized');
    return (c.waiting ?? 0) + (c.prioritized ?? 0);
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.redis.disconnect();
  }
}

/** Reports a case's progress as its BullMQ job's, at each new stage and at most every PROGRESS_EVERY_MS within one (each report is a Redis write). */
const PROGRESS_EVERY_MS = 250;
function progressReporter(job: Job<BatchJob, JobResult>): (stage: StudyStage, done: number, total: number) => void {
  let last: { stage: StudyStage; at: number } | undefined;
  return (stage, done, total) => {
    const now = Date.now();
    if (last && last.stage === stage && done < total && now - last.at < PROGRESS_EVERY_MS) return;
    last = { stage, at: now };
    const p: JobProgress = { stage, done, total };
    // Progress is for display: a lost update is not the job's failure.
    job.updateProgress(p).catch(() => {});
  };
}

export interface WorkerOptions {
  /** Cases at a time, at most the cores. Defaults to defaultJobs(). */
  jobs?: number;
  /** ONNX Runtime threads per case. Defaults to threadsPerJob(jobs). */
  threads?: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Appends one JSON line per case this worker completes. */
  log?: string;
  /** Each job this worker starts and ends, in words ('started CASE', 'done CASE', 'failed CASE: why'). */
  onEvent?: (message: string) => void;
}

/** A running `covseg worker`: takes jobs from the queue until closed. */
export interface RunningWorker {
  worker: Worker;
  /** Finishes the jobs in hand, then stops. */
  close(): Promise<void>;
}

/** Starts a worker on the queue at `url`. */
export async function startWorker(url: string, options: WorkerOptions = {}): Promise<RunningWorker> {
  const cores = availableParallelism();
  const concurrency = Math.max(1, Math.min(options.jobs ?? defaultJobs(cores), cores));
  const threads = options.threads ?? threadsPerJob(concurrency, cores);
  const redis = await connect(url);
  const say = options.onEvent ?? (() => {});
  const worker = new Worker<BatchJob, JobResult>(
    QUEUE_NAME,
    async (job: Job<BatchJob, JobResult>) => {
      say(`started ${job.data.name}`);
      try {
        const outcome = await runCase(job.data, { threads, ...(options.log ? { log: options.log } : {}), onProgress: progressReporter(job) });
        say(`${outcome.status} ${job.data.name}`);
        return { status: outcome.status, timeMs: outcome.marker.timeMs, worker: outcome.marker.worker };
      } catch (err) {
        say(`failed ${job.data.name}: ${caseError(err)}`);
        // Bad input fails the same way every time: no retry. A DICOMweb server that is down
        // or overloaded may not be a minute later: that is retried, with the backoff.
        if (err instanceof CovsegError && !isTransientDicomWebError(err)) throw new UnrecoverableError(caseError(err));
        throw err;
      }
    },
    {
      connection: redis,
      concurrency,
      lockDuration: options.lockDurationMs ?? DEFAULT_LOCK_MS,
      stalledInterval: options.stalledIntervalMs ?? DEFAULT_STALLED_CHECK_MS,
      // A job whose worker died twice is still worth a third try; more looks like a case that kills workers.
      maxStalledCount: 2,
    },
  );
  worker.on('error', (err) => say(`queue error: ${err.message}`));
  return {
    worker,
    async close() {
      await worker.close();
      redis.disconnect();
    },
  };
}
