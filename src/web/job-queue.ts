/**
 * The bounded job queue behind `covseg serve`: a fixed pool of worker processes, each
 * running segmentCase on one job at a time, and a waiting line of at most `maxQueued`
 * jobs. Processes rather than threads: a job stopped mid-inference (cancel, timeout) is
 * killed with its process, and ONNX Runtime's native code cannot take the server down
 * with it (terminating a worker thread inside an inference aborted the whole process).
 * Uploads reserve their place before their bytes are read, so concurrent uploads can
 * never overshoot the bound, and a full queue is answered at once (HTTP 429).
 *
 * CPU budget: the target machine has 2 cores. ONNX Runtime runs each job's inference on
 * 2 intra-op threads, so the default is 1 worker; with 2 workers each job gets 1
 * thread, keeping the total at 2 either way.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CovsegError } from '../util/errors.js';
import type { SegmentOptions, SegmentResult, SegmentStage } from '../segment/index.js';

/** The CPU cores the service may use in total (worker processes × ONNX Runtime threads). */
export const CPU_BUDGET = 2;

/** The parts of SegmentOptions a job may set; all survive structured cloning into a worker. */
export type SegmentJobOptions = Pick<SegmentOptions, 'lungModel' | 'lungWeights' | 'lobeWeights' | 'lesionModel' | 'force' | 'inputName' | 'maxVoxels'>;

/** Message to a worker: segment `input` into `outDir`. */
export interface WorkerTask {
  id: string;
  input: string;
  outDir: string;
  options: SegmentJobOptions & { threads: number };
}

/** Messages from a worker. */
export type WorkerReply =
  | { type: 'progress'; id: string; stage: SegmentStage; done: number; total: number }
  | { type: 'done'; id: string; result: SegmentResult }
  | { type: 'failed'; id: string; message: string };

export interface JobQueueOptions {
  /** Worker processes, each running one job at a time: 1 or 2. Defaults to 1 (ONNX Runtime then uses both cores inside the job). */
  workers?: number;
  /** Jobs that may wait for a free worker; beyond that, `reserve` throws QueueFullError. Defaults to 4. */
  maxQueued?: number;
  /** A job running longer than this fails and its worker is replaced. Defaults to 30 minutes. */
  jobTimeoutMs?: number;
}

export interface JobEvents {
  /** The job left the waiting line and a worker process (`pid`; none for a `covseg worker`'s job, RedisJobQueue) started it. */
  onStart?: (pid?: number) => void;
  /** A pipeline stage advanced. */
  onProgress?: (stage: SegmentStage, done: number, total: number) => void;
}

export interface QueueStats {
  /** Worker processes (JobQueue); `covseg worker`s connected to the queue (RedisJobQueue). */
  workers: number;
  /** Jobs on a worker now. */
  running: number;
  /** Jobs waiting for a worker. */
  queued: number;
  /** Uploads admitted whose job is not created yet. */
  reserved: number;
  /** Most jobs admitted at once: workers + maxQueued (JobQueue); maxQueued (RedisJobQueue). */
  capacity: number;
  /** RedisJobQueue: every job waiting on the shared queue, batches' included. */
  queueWaiting?: number;
}

/** The queue is full; `retryAfterS` estimates when a place frees up. */
export class QueueFullError extends CovsegError {
  constructor(readonly retryAfterS: number, capacity: number) {
    super(`the job queue is full (${capacity} jobs admitted); retry in about ${retryAfterS} s`);
    this.name = 'QueueFullError';
  }
}

/** A place in the queue held for an upload in progress. Release it if the upload fails. */
export interface Reservation {
  readonly released: boolean;
  release(): void;
}

/**
 * What the routes need of a job queue: this file's JobQueue (worker processes on this
 * machine) and redis-job-queue.ts's RedisJobQueue (`serve --redis`: the batch's BullMQ
 * queue, run by `covseg worker`s) both are one.
 */
export interface WebJobQueue {
  /** Jobs that may wait (JobQueue) or be on the shared queue (RedisJobQueue) before uploads get 429. */
  readonly maxQueued: number;
  stats(): QueueStats;
  position(id: string): number;
  reserve(): Reservation;
  run(reservation: Reservation, task: Omit<WorkerTask, 'options'> & { options: SegmentJobOptions }, events?: JobEvents): Promise<SegmentResult>;
  cancel(id: string): boolean;
  close(): Promise<void>;
}

/** A reservation that calls `onRelease` once, when it is released. */
export function reservation(onRelease: () => void): Reservation {
  let released = false;
  return {
    get released() { return released; },
    release: () => {
      if (released) return;
      released = true;
      onRelease();
    },
  };
}

interface Waiting {
  task: WorkerTask;
  events: JobEvents;
  resolve: (result: SegmentResult) => void;
  reject: (err: Error) => void;
  startedAt?: number;
}

interface Slot {
  worker: ChildProcess;
  job: Waiting | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** Seconds a job is assumed to take before one has finished (a 2D slice takes ~1 s, a CT volume ~30 s). */
const INITIAL_JOB_S = 3;

export class JobQueue implements WebJobQueue {
  readonly workers: number;
  readonly maxQueued: number;
  private readonly jobTimeoutMs: number;
  private readonly slots: Slot[] = [];
  private readonly waiting: Waiting[] = [];
  private reserved = 0;
  private meanJobS = INITIAL_JOB_S;
  private finishedJobs = 0;
  private closed = false;

  constructor(options: JobQueueOptions = {}) {
    this.workers = options.workers ?? 1;
    this.maxQueued = options.maxQueued ?? 4;
    this.jobTimeoutMs = options.jobTimeoutMs ?? 30 * 60_000;
    if (!Number.isInteger(this.workers) || this.workers < 1 || this.workers > CPU_BUDGET) {
      throw new CovsegError(`workers must be 1 or ${CPU_BUDGET} (the service's CPU budget), got ${this.workers}`);
    }
    if (!Number.isInteger(this.maxQueued) || this.maxQueued < 0) {
      throw new CovsegError(`maxQueued must be a whole number ≥ 0, got ${this.maxQueued}`);
    }
  }

  stats(): QueueStats {
    const running = this.slots.filter((s) => s.job).length;
    return { workers: this.workers, running, queued: this.waiting.length, reserved: this.reserved, capacity: this.workers + this.maxQueued };
  }

  /** 1-based place of job `id` in the waiting line; 0 when it is running or unknown. */
  position(id: string): number {
    return this.waiting.findIndex((w) => w.task.id === id) + 1;
  }

  /** Holds a place for a job, or throws QueueFullError when workers + maxQueued jobs are admitted already. */
  reserve(): Reservation {
    if (this.closed) throw new CovsegError('the server is shutting down; retry later');
    const s = this.stats();
    if (s.running + s.queued + s.reserved >= s.capacity) throw new QueueFullError(this.retryAfterS(), s.capacity);
    this.reserved++;
    return reservation(() => void this.reserved--);
  }

  /**
   * Runs a job on the next free worker, turning `reservation` into a queued job.
   * Resolves with segmentCase's result; rejects with a CovsegError carrying its message.
   */
  run(reservation: Reservation, task: Omit<WorkerTask, 'options'> & { options: SegmentJobOptions }, events: JobEvents = {}): Promise<SegmentResult> {
    if (reservation.released) throw new CovsegError('run: the reservation was already used or released');
    reservation.release();
    const full: WorkerTask = { ...task, options: { ...task.options, threads: CPU_BUDGET / this.workers } };
    return new Promise((resolve, reject) => {
      this.waiting.push({ task: full, events, resolve, reject });
      this.pump();
    });
  }

  /** Stops job `id`: a waiting job is dropped, a running one's worker is terminated. Returns whether it was found. */
  cancel(id: string): boolean {
    const i = this.waiting.findIndex((w) => w.task.id === id);
    if (i >= 0) {
      const [job] = this.waiting.splice(i, 1);
      job!.reject(new CovsegError('the job was cancelled'));
      return true;
    }
    const slot = this.slots.find((s) => s.job?.task.id === id);
    if (!slot) return false;
    this.replaceWorker(slot, new CovsegError('the job was cancelled'));
    return true;
  }

  /** Fails waiting jobs, terminates the workers. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.waiting.splice(0)) job.reject(new CovsegError('the server shut down before the job started'));
    const workers = this.slots.splice(0).map((s) => {
      if (s.timer) clearTimeout(s.timer);
      s.job?.reject(new CovsegError('the server shut down while the job ran'));
      return stopProcess(s.worker);
    });
    await Promise.all(workers);
  }

  /** A place frees when any admitted job ends: about one mean job time per worker, whatever the line's length. */
  private retryAfterS(): number {
    return Math.min(600, Math.max(1, Math.ceil(this.meanJobS / this.workers)));
  }

  private pump(): void {
    while (!this.closed && this.waiting.length > 0) {
      let slot = this.slots.find((s) => !s.job);
      if (!slot) {
        if (this.slots.length >= this.workers) return;
        slot = this.spawn();
      }
      const job = this.waiting.shift()!;
      this.start(slot, job);
    }
  }

  /** Workers start on first use: each loads ONNX Runtime (~100 MB), which an idle server need not hold. */
  private spawn(): Slot {
    const worker = fork(fileURLToPath(new URL('./segment-worker.js', import.meta.url)), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const slot: Slot = { worker, job: undefined, timer: undefined };
    // An idle worker must not keep the server's process alive (a busy one does: see start/finish).
    setRef(worker, false);
    slot.worker.on('message', (msg: WorkerReply) => this.onMessage(slot, msg));
    slot.worker.on('error', (err) => this.replaceWorker(slot, new CovsegError(`the segmentation process failed: ${err.message}`, { cause: err })));
    slot.worker.on('exit', (code, signal) => {
      if (this.slots.includes(slot)) this.replaceWorker(slot, new CovsegError(describeExit(code, signal)));
    });
    this.slots.push(slot);
    return slot;
  }

  private start(slot: Slot, job: Waiting): void {
    slot.job = job;
    job.startedAt = Date.now();
    slot.timer = setTimeout(() => {
      this.replaceWorker(slot, new CovsegError(`the job ran longer than ${+(this.jobTimeoutMs / 1000).toFixed(1)} s (covseg serve --job-timeout-min) and was stopped`));
    }, this.jobTimeoutMs);
    slot.timer.unref();
    job.events.onStart?.(slot.worker.pid!);
    setRef(slot.worker, true);
    slot.worker.send(job.task);
  }

  private onMessage(slot: Slot, msg: WorkerReply): void {
    const job = slot.job;
    if (!job || msg.id !== job.task.id) return;
    if (msg.type === 'progress') {
      job.events.onProgress?.(msg.stage, msg.done, msg.total);
      return;
    }
    this.finish(slot);
    const tookS = (Date.now() - (job.startedAt ?? Date.now())) / 1000;
    this.finishedJobs++;
    this.meanJobS += (tookS - this.meanJobS) / Math.min(this.finishedJobs, 10);
    if (msg.type === 'done') job.resolve(msg.result);
    else job.reject(new CovsegError(msg.message));
    this.pump();
  }

  private finish(slot: Slot): void {
    setRef(slot.worker, false);
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.job = undefined;
  }

  /** Fails the slot's job (if any) with `err` and puts a fresh worker in its place. */
  private replaceWorker(slot: Slot, err: Error): void {
    const job = slot.job;
    this.finish(slot);
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    void stopProcess(slot.worker);
    job?.reject(err);
    this.pump();
  }
}

/**
 * Why a worker process ended in the middle of a job, in words. SIGKILL that the queue did not
 * send is most often the kernel's out-of-memory killer.
 */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal === 'SIGKILL') return 'the segmentation process was killed by SIGKILL (out of memory?)';
  if (signal) return `the segmentation process was killed by ${signal}`;
  return `the segmentation process exited with code ${code} before it finished`;
}

/** Whether a worker process (and its IPC channel) keeps this process's event loop alive. */
function setRef(child: ChildProcess, ref: boolean): void {
  const channel = child.channel as { ref?: () => void; unref?: () => void } | undefined;
  if (ref) {
    child.ref();
    channel?.ref?.();
  } else {
    child.unref();
    channel?.unref?.();
  }
}

/** Kills a worker process and resolves once it is gone. */
function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    // Referenced again, so that whoever awaits the stop is still running when it happens.
    setRef(child, true);
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
