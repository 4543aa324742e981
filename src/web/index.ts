/** The web stage: `covseg serve`'s HTTP service, job queue and page. */
export { startServer, displayName, type ServeOptions, type RunningServer, type JobJson, type JobFileJson, type WebConfig } from './server.js';
export { JobQueue, QueueFullError, CPU_BUDGET, type JobQueueOptions, type QueueStats, type Reservation, type SegmentJobOptions, type JobEvents, type WebJobQueue } from './job-queue.js';
// RedisJobQueue (`serve --redis`) is './redis-job-queue.js', imported on its own: it loads BullMQ and ioredis.
export { JobStore, jobProgress, JOB_ID_PATTERN, type Job, type JobStatus, type JobOutput, type OutputKind, type JobStoreOptions } from './job-store.js';
export { extractZip, entrySegments, isZip, UnsafeZipError, type ExtractZipOptions, type ExtractZipResult } from './zip.js';
export { prepareInput, type PrepareInputOptions, type PreparedInput } from './ingest.js';
export { listSamples, findSample, type Sample } from './samples.js';
export { HttpError, type ApiErrorBody, type ApiErrorCode } from './http-error.js';
