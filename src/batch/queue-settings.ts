/** The queue's settings and their defaults, apart from queue.ts so that reading them loads neither BullMQ nor ioredis. */

/** The queue's name in Redis. */
export const QUEUE_NAME = 'covseg-batch';
/** A worker's lock on a job lasts this long unless renewed (it renews at half of it): a dead worker's job is free again after it. */
export const DEFAULT_LOCK_MS = 60_000;
/** How often each worker looks for jobs whose lock ran out. */
export const DEFAULT_STALLED_CHECK_MS = 30_000;
/** Tries of a job that fails (a worker crash counts as a stall, not as a try; bad input is not retried). */
export const DEFAULT_ATTEMPTS = 3;
