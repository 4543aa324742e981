/**
 * A fixed pool of worker threads for build-db's cases. CT preprocessing is CPU-bound
 * typed-array work, so on the 2-core machines covseg targets two workers let one case
 * resample while the other reads or gzips. `size: 0` runs jobs in the calling thread.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { runJob, transferList, type CaseJob, type JobOutcome } from './jobs.js';

/** The default worker count: two, or one on a one-core machine. */
export function defaultWorkers(): number {
  return Math.min(2, availableParallelism());
}

/**
 * The worker threads a build starts for `requested`: at most the machine's cores
 * (os.availableParallelism()) and the jobs there are, because a thread more than either only
 * costs memory (each holds a whole CT) and start-up time; at least one when any was asked
 * for, so pages can still be drawn when every case is skipped. `warning` says why fewer.
 */
export function boundWorkers(requested: number, jobs: number, cores = availableParallelism()): { workers: number; warning?: string } {
  if (requested <= 0) return { workers: 0 };
  const workers = Math.max(1, Math.min(requested, cores, jobs));
  if (workers === requested) return { workers };
  const why = workers === cores && cores < requested ? `this machine has ${cores} core${cores === 1 ? '' : 's'}` : `there ${jobs === 1 ? 'is 1 job' : `are ${jobs} jobs`} to run`;
  return { workers, warning: `--workers ${requested} lowered to ${workers}: ${why} (more threads than cores or jobs only cost memory)` };
}

interface Pending {
  job: CaseJob;
  resolve: (o: JobOutcome[]) => void;
  reject: (e: Error) => void;
}

export class CasePool {
  private readonly idle: Worker[] = [];
  private readonly queue: Pending[] = [];
  private readonly all: Worker[] = [];

  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./case-worker.js', import.meta.url));
      w.unref();
      this.all.push(w);
      this.idle.push(w);
    }
  }

  run(job: CaseJob): Promise<JobOutcome[]> {
    if (this.size === 0) return runJob(job);
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const { job, resolve, reject } = this.queue.shift()!;
      const onMessage = (msg: { ok: true; outcomes: JobOutcome[] } | { ok: false; error: string }) => {
        cleanup();
        this.idle.push(worker);
        this.pump();
        if (msg.ok) resolve(msg.outcomes);
        else reject(new Error(msg.error));
      };
      const onError = (err: Error) => {
        cleanup();
        // A crashed worker (e.g. out of memory) fails its job; replace it so the build goes on.
        const i = this.all.indexOf(worker);
        const fresh = new Worker(new URL('./case-worker.js', import.meta.url));
        fresh.unref();
        this.all[i] = fresh;
        this.idle.push(fresh);
        this.pump();
        reject(err);
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.postMessage(job, transferList(job));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}
