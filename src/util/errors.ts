/**
 * Errors covseg raises on purpose. The CLI prints their message (no stack) and
 * exits 1; a `UsageError` exits 2.
 */
export class CovsegError extends Error {
  /** The file the problem is about, when there is one. */
  readonly file: string | undefined;
  constructor(message: string, options: { file?: string; cause?: unknown } = {}) {
    super(options.file ? `${options.file}: ${message}` : message, { cause: options.cause });
    this.name = 'CovsegError';
    this.file = options.file;
  }
}

/** Bad command-line usage: wrong flag, missing argument. Exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
