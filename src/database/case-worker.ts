/** Worker-thread entry of build-db: runs jobs posted by the pool, one at a time. */
import { parentPort } from 'node:worker_threads';
import { runJob, type CaseJob } from './jobs.js';

if (!parentPort) throw new Error('case-worker.js runs only as a worker thread (started by build-db)');
const port = parentPort;
port.on('message', (job: CaseJob) => {
  runJob(job).then(
    (outcomes) => port.postMessage({ ok: true, outcomes }),
    (err: unknown) => port.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
