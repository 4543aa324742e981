/**
 * `covseg serve --redis URL`: the service's jobs on the batch's BullMQ queue (src/batch/queue.ts),
 * run by `covseg worker --redis URL` processes, on this machine or others, instead of by
 * worker processes of the server. A web job is a batch job like any other (batchJob,
 * runCase): its input is the upload in the job's folder under the serve work dir, its case
 * folder that job's `out/`, so every worker must see serve's --work-dir at the same path (one
 * machine, or shared storage), as every worker of a batch sees the batch's --out. The server
 * follows each job by polling its state on the queue: queued, running with the progress the
 * worker reports, done once the case folder's done marker verifies, failed with the reason.
 *
 * Of JobQueue's limits: the waiting line's bound (429) counts this server's jobs on the queue,
 * waiting or running; the timeout runs from when a worker takes a job, and a job past it fails
 * here but runs on (no one can stop another machine's job): its result is discarded, as is a
 * cancelled running job's, when the worker finishes.
 */
import { rm } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { batchJob, verifiedDone, type BatchJob } from '../batch/index.js';
import { BatchQueue } from '../batch/queue.js';
import { readSegmentResult, type SegmentResult } from '../segment/index.js';
import { CovsegError } from '../util/errors.js';
import { QueueFullError, reservation, type JobEvents, type QueueStats, type Reservation, type SegmentJobOptions, type WebJobQueue, type WorkerTask } from './job-queue.js';
import { webJobError } from './user-message.js';

export interface RedisJobQueueOptions {
  /** This server's jobs that may be on the queue at once (waiting or running); beyond that, `reserve` throws QueueFullError. Defaults to 4. */
  maxQueued?: number;
  /** A job running longer than this (since a worker took it) fails. Defaults to 30 minutes. */
  jobTimeoutMs?: number;
  /** How often the jobs' states are read from Redis, in ms. Defaults to 500. */
  pollMs?: number;
  /** Tries of a job that fails (bad input is not retried; a worker that dies does not use one up). Defaults to the batch's. */
  attempts?: number;
}

type Task = Omit<WorkerTask, 'options'> & { options: SegmentJobOptions };

interface Tracked {
  task: Task;
  job: BatchJob;
  events: JobEvents;
  resolve: (result: SegmentResult) => void;
  reject: (err: Error) => void;
  /** Whether the job is on the queue yet (until then the poll leaves it alone). */
  enqueued: boolean;
  enqueuedAt: number;
  /** Set once a worker took it. */
  startedAt?: number;
}

/** Seconds a job is assumed to take before one has finished (as JobQueue assumes). */
const INITIAL_JOB_S = 3;

export class RedisJobQueue implements WebJobQueue {
  readonly maxQueued: number;
  private readonly jobTimeoutMs: number;
  private readonly pollMs: number;
  private readonly attempts: number | undefined;
  private readonly jobs = new Map<string, Tracked>();
  /** Keys of cancelled or timed-out jobs a worker may still be running → the folder to remove once it stops. */
  private readonly discarding = new Map<string, string>();
  private reserved = 0;
  private workersSeen = 0;
  private waitingOnQueue = 0;
  private meanJobS = INITIAL_JOB_S;
  private finishedJobs = 0;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  private constructor(private readonly queue: BatchQueue, readonly url: string, options: RedisJobQueueOptions) {
    this.maxQueued = options.maxQueued ?? 4;
    this.jobTimeoutMs = options.jobTimeoutMs ?? 30 * 60_000;
    this.pollMs = options.pollMs ?? 500;
    this.attempts = options.attempts;
    if (!Number.isInteger(this.maxQueued) || this.maxQueued < 1) {
      throw new CovsegError(`maxQueued must be a whole number ≥ 1 with a Redis queue (no job runs on the server itself), got ${this.maxQueued}`);
    }
  }

  /** Connects to the Redis at `url` (a one-line error naming it when it cannot) and starts following jobs. */
  static async open(url: string, options: RedisJobQueueOptions = {}): Promise<RedisJobQueue> {
    const queue = await BatchQueue.open(url);
    let q: RedisJobQueue;
    try {
      q = new RedisJobQueue(queue, url, options);
    } catch (err) {
      await queue.close();
      throw err;
    }
    await q.tick();
    return q;
  }

  stats(): QueueStats {
    let running = 0;
    let queued = 0;
    for (const t of this.jobs.values()) {
      if (t.startedAt !== undefined) running++;
      else queued++;
    }
    return { workers: this.workersSeen, running, queued, reserved: this.reserved, capacity: this.maxQueued, queueWaiting: this.waitingOnQueue };
  }

  /** 1-based place among this server's jobs waiting on the queue (jobs of batches may be ahead of them); 0 when running or unknown. */
  position(id: string): number {
    const t = this.jobs.get(id);
    if (!t || t.startedAt !== undefined) return 0;
    return [...this.jobs.values()].filter((o) => o.startedAt === undefined && o.enqueuedAt <= t.enqueuedAt).length;
  }

  reserve(): Reservation {
    if (this.closed) throw new CovsegError('the server is shutting down; retry later');
    const s = this.stats();
    if (s.running + s.queued + s.reserved >= s.capacity) throw new QueueFullError(Math.min(600, Math.max(1, Math.ceil(this.meanJobS))), s.capacity);
    this.reserved++;
    return reservation(() => void this.reserved--);
  }

  /** Puts `task` on the queue; resolves with the result a worker wrote into its out folder. */
  run(reserved: Reservation, task: Task, events: JobEvents = {}): Promise<SegmentResult> {
    if (reserved.released) throw new CovsegError('run: the reservation was already used or released');
    reserved.release();
    // The case folder `out` of the job folder, relative to the work dir: the case's name in the workers' logs starts with the job id.
    const caseDir = resolve(task.outDir);
    const root = dirname(dirname(caseDir));
    const { lungWeights, lobeWeights, lesionModel, ...rest } = task.options;
    // Model paths absolute: a worker's current folder is not the server's.
    const options = { ...rest, ...(lungWeights ? { lungWeights: resolve(lungWeights) } : {}), ...(lobeWeights ? { lobeWeights: resolve(lobeWeights) } : {}), ...(lesionModel ? { lesionModel: resolve(lesionModel) } : {}), writeViewerCt: true };
    const job = batchJob(task.input, relative(root, caseDir), root, options);
    return new Promise((resolvePromise, reject) => {
      const t: Tracked = { task, job, events, resolve: resolvePromise, reject, enqueued: false, enqueuedAt: Date.now() };
      this.jobs.set(task.id, t);
      this.queue.enqueue([job], { ...(this.attempts ? { attempts: this.attempts } : {}) }).then(
        () => {
          if (this.jobs.has(task.id)) t.enqueued = true;
          // Cancelled (or the server closed) while being enqueued: off the queue again.
          else this.discard(job.key, dirname(task.outDir));
        },
        (err: unknown) => this.settle(task.id, new CovsegError(`the job could not be put on the queue at ${this.url}: ${(err as Error).message}`)),
      );
    });
  }

  /** Stops following job `id`: a waiting job leaves the queue; a running one runs on and its result is removed when it ends. */
  cancel(id: string): boolean {
    const t = this.jobs.get(id);
    if (!t) return false;
    this.settle(id, new CovsegError('the job was cancelled'));
    this.discard(t.job.key, dirname(t.task.outDir));
    return true;
  }

  /** Stops following jobs (those still waiting leave the queue; running ones finish on their worker, unused) and disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    await this.polling;
    for (const [id, t] of [...this.jobs]) {
      this.settle(id, new CovsegError(t.startedAt === undefined ? 'the server shut down before the job started' : 'the server shut down while the job ran'));
      await this.queue.discard(t.job.key).catch(() => false);
    }
    await this.queue.close();
  }

  /** Ends job `id` here with `outcome` (an error, or its result) and forgets it. */
  private settle(id: string, outcome: Error | SegmentResult): void {
    const t = this.jobs.get(id);
    if (!t) return;
    this.jobs.delete(id);
    if (outcome instanceof Error) t.reject(outcome);
    else {
      this.finishedJobs++;
      this.meanJobS += ((Date.now() - t.enqueuedAt) / 1000 - this.meanJobS) / Math.min(this.finishedJobs, 10);
      t.resolve(outcome);
    }
  }

  /** Takes job `key` off the queue and removes `dir`; when a worker holds the job, both wait until it lets go (see sweepDiscarded). */
  private discard(key: string, dir: string): void {
    this.discarding.set(key, dir);
    void this.queue.discard(key).then(async (gone) => {
      if (!gone || !this.discarding.has(key)) return;
      this.discarding.delete(key);
      await rm(dir, { recursive: true, force: true });
    }, () => {});
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.tick(), this.pollMs);
    // The HTTP server keeps the process alive, not the polling.
    this.timer.unref();
  }

  /** One look at every job on the queue; a Redis error is left to the next look (ioredis reconnects). */
  private tick(): Promise<void> {
    this.polling ??= (async () => {
      try {
        this.workersSeen = await this.queue.workerCount();
        this.waitingOnQueue = await this.queue.waitingCount();
        for (const [id, t] of [...this.jobs]) if (t.enqueued) await this.follow(id, t);
        await this.sweepDiscarded();
      } catch {
        // Redis unreachable for now: the jobs keep their last state until it answers again.
      } finally {
        this.polling = undefined;
        this.schedule();
      }
    })();
    return this.polling;
  }

  private async follow(id: string, t: Tracked): Promise<void> {
    const st = await this.queue.jobState(t.job.key);
    if (!this.jobs.has(id)) return;
    if (!st) return this.settle(id, new CovsegError(`the job is no longer on the queue at ${this.url} (removed from Redis by someone else?)`));
    if (st.state === 'failed') {
      this.settle(id, new CovsegError(webJobError(st.failedReason ?? 'the worker gave no reason', t.task.input, t.task.options.inputName)));
      await this.queue.discard(t.job.key);
      return;
    }
    if (st.state === 'completed') return this.complete(id, t);
    if (st.state !== 'active') return;
    if (t.startedAt === undefined) {
      t.startedAt = st.processedOn ?? Date.now();
      t.events.onStart?.();
    }
    // A web job is a file job: the DICOMweb stages (fetch, store) are a PACS batch's only.
    const p = st.progress;
    if (p && p.stage !== 'fetch' && p.stage !== 'store') t.events.onProgress?.(p.stage, p.done, p.total);
    if (Date.now() - t.startedAt > this.jobTimeoutMs) {
      this.settle(id, new CovsegError(`the job ran longer than ${+(this.jobTimeoutMs / 1000).toFixed(1)} s (covseg serve --job-timeout-min) and was given up; its worker's result will be discarded`));
      this.discard(t.job.key, t.task.outDir);
    }
  }

  /** A completed job is done once its out folder verifies (the worker wrote it where this server reads). */
  private async complete(id: string, t: Tracked): Promise<void> {
    const dir = join(t.job.out, t.job.name);
    if (!(await verifiedDone(dir, t.job.key))) {
      this.settle(id, new CovsegError(`a worker completed the job but its result is not in ${dir}: covseg worker must see serve's --work-dir at the same path (one machine, or shared storage)`));
    } else {
      try {
        this.settle(id, await readSegmentResult(dir));
      } catch (err) {
        this.settle(id, err as Error);
      }
    }
    await this.queue.discard(t.job.key);
  }

  /** Cancelled and timed-out jobs whose worker has let go: off the queue, folder removed. */
  private async sweepDiscarded(): Promise<void> {
    for (const [key, dir] of [...this.discarding]) {
      if (!(await this.queue.discard(key))) continue;
      this.discarding.delete(key);
      await rm(dir, { recursive: true, force: true });
    }
  }
}
