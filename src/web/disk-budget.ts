/**
 * The disk the service's live jobs may take, all together: uploads as they stream in, what
 * zips inflate to (their declared sizes, before a byte is written) and the outputs of
 * finished jobs. Each job has an account; bytes are charged before they are written, a
 * charge that would pass the budget is refused with a 413, and a job's bytes come back when
 * it is removed. Without it, a few small zips that each inflate within the per-job limit
 * could still fill the disk together.
 */
import { Transform } from 'node:stream';
import { HttpError } from './http-error.js';

/** `bytes` for a message: MiB above 1 MiB, else bytes. */
export function formatBytes(bytes: number): string {
  return bytes >= 1024 ** 2 ? `${Math.round((bytes / 1024 ** 2) * 10) / 10} MiB` : `${bytes} bytes`;
}

export class DiskBudget {
  private used = 0;

  /** `limitBytes`: most bytes all live jobs may hold (Infinity: no limit). */
  constructor(readonly limitBytes: number) {}

  get usedBytes(): number {
    return this.used;
  }

  /** Bytes still free in the budget. */
  get freeBytes(): number {
    return Math.max(0, this.limitBytes - this.used);
  }

  /** A new job's account. */
  account(): DiskAccount {
    return new DiskAccount(this, (delta) => { this.used += delta; });
  }

  /**
   * The 413 for bytes that do not fit; `lead` says what they are up to the amount left, e.g.
   * "series.zip: the entries inflate to 5 MiB, more than".
   */
  refusal(lead: string): HttpError {
    return new HttpError(413, 'too-large',
      `${lead} the ${formatBytes(this.freeBytes)} left of the service's disk budget of ${formatBytes(this.limitBytes)} ` +
      `(covseg serve --disk-budget-mb; the rest is held by the jobs on the service); retry when they have finished, or restart covseg serve with a larger --disk-budget-mb`);
  }
}

/** One job's bytes on disk, counted in its service's budget until `close`. */
export class DiskAccount {
  private held = 0;
  private closed = false;

  constructor(private readonly budget: DiskBudget, private readonly adjust: (delta: number) => void) {}

  get bytes(): number {
    return this.held;
  }

  /** Counts `bytes` about to be written, or throws the budget's 413 (counting nothing) when they do not fit; `lead` as for `refusal`. */
  charge(bytes: number, lead: string): void {
    if (bytes > this.budget.freeBytes) throw this.budget.refusal(lead);
    this.add(bytes);
  }

  /** Counts `bytes` already written (a finished job's outputs), whether or not they fit. */
  add(bytes: number): void {
    if (this.closed) return;
    this.held += bytes;
    this.adjust(bytes);
  }

  /** Gives back `bytes` of a file the job removed. */
  refund(bytes: number): void {
    const back = Math.min(bytes, this.held);
    this.held -= back;
    this.adjust(-back);
  }

  /** Gives back everything: the job's folder is gone. */
  close(): void {
    this.refund(this.held);
    this.closed = true;
  }

  /** A pass-through stream charging every chunk before it goes on to be written. */
  meter(lead: string): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        try {
          this.charge(chunk.length, lead);
          callback(null, chunk);
        } catch (err) {
          callback(err as Error);
        }
      },
    });
  }
}
