/** The batch stage: many scans, one case folder each, on this machine or over a BullMQ queue of workers. */
export { pseudoLabel, teacherConfidence, UNCERTAIN_BAND, ZENODO_GROUPS, type PseudoLabelOptions, type PseudoLabelResult } from './pseudo-label.js';
export { batchInputs, folderCases, caseBaseName, caseNames, studyCaseName, type BatchCase, type BatchInputs } from './inputs.js';
export { batchJob, studyJob, jobKey, runCase, caseReport, removeLeftovers, type BatchJob, type StudySource, type CaseOptions, type CaseOutcome, type CaseRunOptions } from './case-run.js';
export { DONE_MARKER, verifiedDone, writeDoneMarker, type DoneMarker } from './done.js';
export { runLocalBatch, runCaseSummary, caseIdentity, defaultJobs, threadsPerJob, caseError, type LocalBatchOptions } from './local.js';
export { summaryCsv, writeSummary, doneSummary, type BatchSummary, type CaseSummary, type CaseIdentity, type CaseStatus } from './summary.js';
export { QUEUE_NAME, DEFAULT_LOCK_MS, DEFAULT_STALLED_CHECK_MS, DEFAULT_ATTEMPTS } from './queue-settings.js';
// The queue itself (BullMQ on Redis) is './queue.js', imported on its own: it loads BullMQ and ioredis.
