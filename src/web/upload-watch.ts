/**
 * Drops uploads that stall. An upload holds a place in the job queue from its first byte,
 * so a handful of connections trickling a byte every few seconds would keep everyone else
 * at 429 for as long as they like. Each upload must end within `timeoutMs` and receive at
 * least `minBytesPerS` over every window of `graceMs` (the first window is its grace);
 * otherwise `onStall` is told why, with the 408 to answer.
 */
import type { Socket } from 'node:net';
import { HttpError } from './http-error.js';

export interface UploadLimits {
  /** Longest an upload may take, from the request's headers to its last byte, in ms. */
  timeoutMs: number;
  /** Least bytes per second an upload must receive over each window; 0 checks no rate. */
  minBytesPerS: number;
  /** The window the rate is measured over, in ms: an upload's first `graceMs` are its grace. */
  graceMs: number;
}

export interface UploadWatch {
  /** Why the upload was dropped, once it was. */
  readonly error: HttpError | undefined;
  /** Stops watching: the upload is complete, or failed otherwise. */
  stop(): void;
}

/** Seconds, for a message: at most one decimal. */
function seconds(ms: number): string {
  return `${+(ms / 1000).toFixed(1)} s`;
}

/** Watches the upload arriving on `socket` (its bytes read) against `limits`. */
export function watchUpload(socket: Socket, limits: UploadLimits, onStall: (err: HttpError) => void): UploadWatch {
  const started = Date.now();
  let windowStart = started;
  let windowBytes = socket.bytesRead;
  let error: HttpError | undefined;
  const check = () => {
    const now = Date.now();
    if (now - started >= limits.timeoutMs) {
      return stall(`the upload took longer than ${seconds(limits.timeoutMs)} (covseg serve --upload-timeout-min) and was dropped; upload the scan again over a faster connection, or a smaller (cropped or zipped) one`);
    }
    if (limits.minBytesPerS > 0 && now - windowStart >= limits.graceMs) {
      const received = socket.bytesRead - windowBytes;
      if (received / ((now - windowStart) / 1000) < limits.minBytesPerS) {
        return stall(
          `the upload received ${received < 10_000 ? `${received} bytes` : `${+(received / 1000).toFixed(1)} kB`} in ${seconds(now - windowStart)}, less than the ${+(limits.minBytesPerS / 1000).toFixed(3)} kB/s ` +
          `it must keep up (covseg serve --min-upload-kbps, measured over every --upload-grace-s), and was dropped to free its place in the queue; upload the scan again`);
      }
      windowStart = now;
      windowBytes = socket.bytesRead;
    }
  };
  const stall = (message: string) => {
    clearInterval(timer);
    error = new HttpError(408, 'timeout', message);
    onStall(error);
  };
  // A few checks per window, at most one a second.
  const timer = setInterval(check, Math.max(5, Math.min(1000, limits.graceMs / 4, limits.timeoutMs / 4)));
  timer.unref();
  return {
    get error() { return error; },
    stop: () => clearInterval(timer),
  };
}
