import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { flag, optionsHelp, parseCommandLine, type Command } from '../command.js';
import { UsageError } from '../../util/errors.js';
import { defaultJobs } from '../../batch/index.js';
import { DEFAULT_LOCK_MS, DEFAULT_STALLED_CHECK_MS } from '../../batch/queue-settings.js';

const FLAGS = {
  redis: flag.string({ arg: 'URL', help: "the Redis of the queue (redis://HOST:PORT), the one 'covseg batch --redis' enqueues on" }),
  jobs: flag.number({ arg: 'N', shownDefault: `one per 2 cores, here ${defaultJobs()}`, check: (n) => Number.isInteger(n) && n >= 1, help: "scans at a time; at most this machine's cores" }),
  threads: flag.number({ arg: 'N', shownDefault: 'cores / --jobs', check: (n) => Number.isInteger(n) && n >= 1, help: 'ONNX Runtime threads of each scan' }),
  'lock-ms': flag.number({ arg: 'MS', default: DEFAULT_LOCK_MS, check: (n) => Number.isInteger(n) && n >= 1000, help: "how long a scan stays this worker's without news (the worker renews it at half of that): when a worker dies, its scans go to another worker after this. Raise it when single steps of a scan block longer (very large CTs)" }),
  'stalled-check-ms': flag.number({ arg: 'MS', default: DEFAULT_STALLED_CHECK_MS, check: (n) => Number.isInteger(n) && n >= 500, help: 'how often this worker looks for scans of dead workers' }),
  log: flag.string({ arg: 'FILE', help: 'append one JSON line per scan this worker completes (case, worker, time): an audit trail' }),
  quiet: flag.boolean({ help: 'print nothing per scan' }),
};

const HELP = `covseg worker --redis URL [options]

Takes scans from the queue that 'covseg batch --redis URL' and 'covseg serve --redis URL'
fill and segments them, each into its folder under the batch's --out, or into the web
job's folder under serve's --work-dir (so every worker must see those paths: one machine,
or shared storage). Run one per machine, as many machines as there are; a worker
that dies leaves its scans to the others.

A job of 'covseg batch --dicomweb' carries the DICOMweb server's URL and user, never a
secret: this worker reads the password from its own environment's COVSEG_DICOMWEB_PASSWORD
(or a bearer token from COVSEG_DICOMWEB_TOKEN), and NODE_EXTRA_CA_CERTS for a hospital's
own CA, as 'covseg segment --dicomweb' does. Stops, after the scans in hand, on SIGINT or
SIGTERM.

Options:
${optionsHelp(FLAGS)}
Exit codes: 0 stopped, 1 could not start (the message says why), 2 bad usage.`;

export const command: Command = {
  name: 'worker',
  help: HELP,
  flags: FLAGS,
  async run(argv) {
    const { values } = parseCommandLine('worker', argv, FLAGS, { positionals: false });
    if (!values.redis) throw new UsageError('--redis URL is required');
    const cores = availableParallelism();
    if (values.jobs !== undefined && values.jobs > cores) process.stderr.write(`covseg worker: warning: --jobs ${values.jobs} is more than the ${cores} core(s) of this machine; using ${cores}\n`);
    const say = values.quiet ? () => {} : (m: string) => void process.stderr.write(`covseg worker ${process.pid}: ${m}\n`);
    const { startWorker } = await import('../../batch/queue.js');
    const running = await startWorker(values.redis, {
      ...(values.jobs !== undefined ? { jobs: values.jobs } : {}),
      ...(values.threads !== undefined ? { threads: values.threads } : {}),
      lockDurationMs: values['lock-ms'], stalledIntervalMs: values['stalled-check-ms'],
      ...(values.log ? { log: resolve(values.log) } : {}),
      onEvent: say,
    });
    say(`waiting for scans on ${values.redis}`);
    await new Promise<void>((done) => {
      const stop = () => void running.close().then(done);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
};
