/**
 * Progress bars with ETA on stderr, for the commands. On a terminal a bar redraws one line;
 * otherwise (CI logs, pipes) it prints a line at every 10% so logs stay short. Library code
 * reports progress through a ProgressCallback (src/util/progress.ts); StageBars draws one.
 */
import type { ProgressCallback } from '../util/progress.js';

export interface ProgressOptions {
  /** Label printed before the bar. */
  label: string;
  /** Total number of steps. */
  total: number;
  /** Stream to draw on. Defaults to process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Print nothing. Defaults to false (or true when COVSEG_QUIET=1). */
  quiet?: boolean;
}

export class ProgressBar {
  private done = 0;
  private readonly start = Date.now();
  private lastDraw = 0;
  private lastDecile = -1;
  private readonly stream: NodeJS.WriteStream;
  private readonly quiet: boolean;
  private readonly tty: boolean;
  private info = '';

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.quiet = opts.quiet ?? process.env['COVSEG_QUIET'] === '1';
    this.tty = Boolean(this.stream.isTTY);
  }

  /** Advances by `n` steps; `info` is shown after the bar (e.g. "loss 0.31"). */
  tick(n = 1, info?: string): void {
    this.done = Math.min(this.opts.total, this.done + n);
    if (info !== undefined) this.info = info;
    this.draw(false);
  }

  /** Sets the number of steps done (for callbacks that report totals, not increments). */
  update(done: number, info?: string): void {
    this.done = Math.min(this.opts.total, Math.max(0, done));
    if (info !== undefined) this.info = info;
    this.draw(false);
  }

  /** Draws the final state and ends the line. */
  finish(info?: string): void {
    if (info !== undefined) this.info = info;
    this.done = this.opts.total;
    this.draw(true);
  }

  /** Seconds elapsed since the bar was created. */
  elapsedS(): number {
    return (Date.now() - this.start) / 1000;
  }

  private draw(final: boolean): void {
    if (this.quiet) return;
    const now = Date.now();
    const { total, label } = this.opts;
    const frac = total > 0 ? this.done / total : 1;
    const elapsed = (now - this.start) / 1000;
    const eta = this.done > 0 ? (elapsed / this.done) * (total - this.done) : NaN;
    const text = `${label} ${this.done}/${total} ${(frac * 100).toFixed(0)}% ${formatDuration(elapsed)} elapsed` +
      (final || this.done === total ? '' : `, ETA ${Number.isFinite(eta) ? formatDuration(eta) : '?'}`) + (this.info ? ` ${this.info}` : '');
    if (this.tty) {
      if (!final && now - this.lastDraw < 100) return;
      this.lastDraw = now;
      const width = 24;
      const filled = Math.round(frac * width);
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      this.stream.write(`\r\x1b[K${label} ${bar} ${text.slice(label.length + 1)}` + (final ? '\n' : ''));
    } else {
      const decile = Math.floor(frac * 10);
      if (!final && decile === this.lastDecile) return;
      this.lastDecile = decile;
      this.stream.write(text + '\n');
    }
  }
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  if (m < 60) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** --quiet, or COVSEG_QUIET=1 in the environment (the tests set it). */
export function isQuiet(quiet = false): boolean {
  return quiet || process.env['COVSEG_QUIET'] === '1';
}

/**
 * Draws a library's ProgressCallback: one bar per stage, ended when the next stage starts or
 * by end(). Nothing is drawn when quiet (isQuiet).
 */
export class StageBars {
  private bar: ProgressBar | undefined;
  private stage: string | undefined;
  private readonly quiet: boolean;

  constructor(private readonly opts: { /** Label for calls without a stage. */ label?: string; quiet?: boolean; stream?: NodeJS.WriteStream }) {
    this.quiet = isQuiet(opts.quiet);
  }

  readonly onProgress: ProgressCallback = (done, total, stage, detail) => {
    const label = stage ?? this.opts.label ?? '';
    if (!this.bar || label !== this.stage) {
      this.bar?.finish();
      this.stage = label;
      this.bar = new ProgressBar({ label, total, quiet: this.quiet, ...(this.opts.stream ? { stream: this.opts.stream } : {}) });
    }
    // A stage's first call (0 done) starts its clock; the first step draws.
    if (done > 0) this.bar.update(done, detail);
  };

  /** Ends the current bar (drawn full, with `detail` after it); the next call starts a new one. */
  end(detail?: string): void {
    this.bar?.finish(detail);
    this.bar = undefined;
  }
}
