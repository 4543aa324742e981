/** Errors the HTTP layer answers with a 4xx/5xx JSON body instead of a crash. */
import { CovsegError } from '../util/errors.js';

/**
 * Stable machine-readable error codes of the JSON API, by HTTP status:
 * - 400 `bad-request`: malformed multipart, missing file field, bad query value;
 * - 400 `unsafe-archive`: a zip with absolute/'..' names, symlinks, encryption or damage;
 * - 403 `forbidden`: a Host header other than the loopback names (DNS rebinding), a
 *   POST or DELETE from another site's page (Origin), or a page path that climbs out of
 *   its folder with '..';
 * - 404 `not-found`: unknown route, job (or expired job), output file or sample;
 * - 408 `timeout`: the upload ran past its time or slowed below the least rate, and was
 *   dropped (its connection closed) to free its place in the queue;
 * - 409 `not-ready`: the job's outputs are asked for (or its comparison) before it finished;
 * - 409 `different-patients`: a comparison of jobs whose scans name different patients
 *   (DICOM PatientID), without `force=1`;
 * - 413 `too-large`: the upload, or what a zip inflates to, is over the server's limit
 *   (per upload, per job) or does not fit in what is left of its disk budget;
 * - 415 `unsupported-type`: the content is not a CT format covseg reads (sniffed, not named);
 * - 429 `queue-full`: all places in the job queue are taken (see Retry-After);
 * - 502 `dicomweb`: the configured DICOMweb server is unreachable, refused, or lacks the
 *   study or its CT series (the message says which);
 * - 500 `internal`: a bug; the message is generic and the details are logged.
 */
export type ApiErrorCode =
  | 'bad-request' | 'unsafe-archive' | 'forbidden' | 'not-found' | 'timeout' | 'not-ready' | 'different-patients'
  | 'too-large' | 'unsupported-type' | 'queue-full' | 'dicomweb' | 'internal';

export class HttpError extends CovsegError {
  constructor(readonly statusCode: number, readonly code: ApiErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'HttpError';
  }
}

/** The JSON body of every API error. */
export interface ApiErrorBody {
  statusCode: number;
  code: ApiErrorCode;
  /** What went wrong and what to do about it. */
  message: string;
}
