import { availableParallelism } from 'node:os';
import { flag, lungModelFlag, optionsHelp, parseCommandLine, type Command } from '../command.js';
import { CovsegError, UsageError } from '../../util/errors.js';
import { checkLobeWeights } from '../../segment/index.js';
import { checkOutputDir } from '../../util/output-target.js';
import { ProgressBar, isQuiet } from '../progress.js';
import { batchInputs, batchJob, defaultJobs, removeLeftovers, runLocalBatch, studyCaseName, studyJob, writeSummary, type BatchJob, type CaseOptions, type CaseSummary } from '../../batch/index.js';
import { parseStudyQuery, queryStudies, type DicomWebConnection } from '../../dicomweb/index.js';
import { DICOMWEB_FLAGS, dicomWebClients } from '../dicomweb-flags.js';
// The queue (BullMQ, ioredis) loads only for --redis.
import { DEFAULT_ATTEMPTS } from '../../batch/queue-settings.js';

const FLAGS = {
  input: flag.string({ arg: 'LIST|FOLDER', help: "the scans: a text file with one path per line (relative to the file's folder; '#' comments), or a folder whose image files and DICOM series subfolders are each a scan" }),
  dicomweb: flag.string({ arg: 'URL', help: "instead of --input: the studies on this DICOMweb server (its base URL, e.g. http://pacs:8042/dicom-web) that --query matches, one job per study, each run as 'covseg segment --dicomweb URL --study UID' runs it: its largest CT series fetched, segmented, the DICOM SEG and SR stored back (STOW-RS). A study with no CT series is a failed row; the batch goes on" }),
  query: flag.string({ arg: 'QUERY', help: "with --dicomweb: the QIDO-RS study query, KEY=VALUE&… with the attributes and values QIDO-RS defines, e.g. 'ModalitiesInStudy=CT&StudyDate=20200101-20201231'; every matching study (read in pages unless it gives limit/offset). Without it, every study of the server" }),
  ...DICOMWEB_FLAGS,
  out: flag.string({ arg: 'DIR', help: "one folder per scan in DIR, named after the input (a study: PatientID_StudyDate_HASH, HASH from its StudyInstanceUID), laid out as 'covseg segment --out' writes it; summary.csv and summary.json beside them. A rerun into the same DIR skips the scans done (and unchanged), retries the failed" }),
  jobs: flag.number({ arg: 'N', shownDefault: `one per 2 cores, here ${defaultJobs()}`, check: (n) => Number.isInteger(n) && n >= 1, help: 'scans at a time on this machine; the cores are shared out between them as ONNX Runtime threads' }),
  threads: flag.number({ arg: 'N', shownDefault: 'cores / --jobs', check: (n) => Number.isInteger(n) && n >= 1, help: 'ONNX Runtime threads of each scan' }),
  redis: flag.string({ arg: 'URL', help: "run on a BullMQ queue in the Redis at URL (redis://HOST:PORT) instead of here: the scans are enqueued for 'covseg worker --redis URL' on any number of machines (which must see the same paths as this command), and this command waits for them and writes the summary" }),
  'no-wait': flag.boolean({ help: 'with --redis: enqueue and exit; rerun without it to wait and write the summary' }),
  attempts: flag.number({ arg: 'N', default: DEFAULT_ATTEMPTS, check: (n) => Number.isInteger(n) && n >= 1, help: 'with --redis: tries of a scan that fails (bad input is not retried, a DICOMweb server down or busy is; a worker that dies does not use one up)' }),
  'lung-model': flag.lungModel(),
  'lung-weights': flag.lungWeights(),
  'lobe-weights': flag.lobeWeights(),
  'lesion-model': flag.string({ arg: 'FILE', shownDefault: 'models/lesion-2d.onnx', help: "lesion model (2D or 3D ONNX from 'covseg train')" }),
  force: flag.boolean({ help: 'segment input that fails the checks (not CT, not in Hounsfield units) anyway, with a warning' }),
  'max-voxels': flag.maxVoxels(),
  quiet: flag.boolean({ help: 'no progress output' }),
};

const HELP = `covseg batch --input LIST|FOLDER --out DIR [options]
covseg batch --dicomweb URL [--query QUERY] [--dicomweb-out URL] --out DIR [options]

Segments many chest CTs, one job per scan, on this machine (--jobs at a time) or on a
queue of workers (--redis). A scan that fails is reported and the batch goes on.

With --dicomweb, the scans are the studies a QIDO-RS query returns, e.g.
  COVSEG_DICOMWEB_PASSWORD=… covseg batch --dicomweb https://pacs/dicom-web --dicomweb-user covseg \\
    --query 'ModalitiesInStudy=CT&StudyDate=20200101-20201231' --out DIR
Each study runs as 'covseg segment --dicomweb URL --study UID --out DIR/NAME' runs it,
its DICOM SEG and SR stored in the study (or on --dicomweb-out). The password or token
comes from the environment of the process that runs the study: over --redis each
worker's own COVSEG_DICOMWEB_PASSWORD / COVSEG_DICOMWEB_TOKEN; the queue carries the
URLs and the user only, never a secret (a password in the URL is refused).

Options:
${optionsHelp(FLAGS)}

Writes (in DIR):
  NAME/                   per scan, what 'covseg segment' writes, plus batch.json (the
                          done marker: sha256 of every file, written into the folder
                          before it is renamed into place): a scan folder is complete
                          or absent; a rerun redoes a scan whose files changed
  summary.csv             a row per scan: its input (a study: URL/studies/UID), the
                          StudyInstanceUID (study_uid, DICOMweb batches), status (done,
                          skipped = done earlier, failed),
                          time, error, severity, % affected per lung, lung coverage,
                          warnings, then the clinical export's columns
  summary.json            the same as JSON, with counts
Exit codes: 0 every scan done, 1 a scan failed (the summary says why) or the batch
could not start, 2 bad usage.`;

export const command: Command = {
  name: 'batch',
  help: HELP,
  flags: FLAGS,
  async run(argv) {
    const { values, positionals } = parseCommandLine('batch', argv, FLAGS, { positionals: false });
    void positionals;
    if (!values.input && !values.dicomweb) throw new UsageError('--input LIST|FOLDER or --dicomweb URL is required');
    if (values.input && values.dicomweb) throw new UsageError('give either --input or --dicomweb, not both');
    if (values.query !== undefined && !values.dicomweb) throw new UsageError('--query needs --dicomweb URL');
    if (!values.out) throw new UsageError('--out DIR is required');
    if (values['no-wait'] && !values.redis) throw new UsageError('--no-wait needs --redis');
    const lungModel = lungModelFlag(values['lung-model'], values['lung-weights']);
    const quiet = isQuiet(values.quiet);
    await checkOutputDir(values.out, '--out');
    const lobeWeights = values['lobe-weights'];
    if (lobeWeights !== undefined) await checkLobeWeights(lobeWeights);
    const options = { lungModel, lungWeights: values['lung-weights'], lobeWeights, lesionModel: values['lesion-model'], force: values.force, maxVoxels: values['max-voxels'] };
    let jobs: BatchJob[];
    if (values.dicomweb) {
      jobs = await studyJobs({ ...values, dicomweb: values.dicomweb }, values.query ?? '', values.out, options);
    } else {
      // --dicomweb-out and --dicomweb-user without --dicomweb: the usage error.
      dicomWebClients(values);
      const { cases, notes } = await batchInputs(values.input!);
      for (const n of notes) process.stderr.write(`covseg batch: note: ${n}\n`);
      jobs = cases.map((c) => batchJob(c.input, c.name, values.out!, options));
    }
    const bar = new ProgressBar({ label: 'batch', total: jobs.length, quiet });
    // The last step is drawn by finish(), once.
    const onProgress = (done: number, total: number, _stage?: string, detail?: string) => (done < total ? bar.update(done, detail) : undefined);

    let results: CaseSummary[];
    if (values.redis) {
      const { BatchQueue } = await import('../../batch/queue.js');
      const queue = await BatchQueue.open(values.redis);
      try {
        const { done, queued } = await queue.enqueue(jobs, { attempts: values.attempts });
        process.stderr.write(`covseg batch: ${queued.length} scan(s) on the queue at ${values.redis}, ${done.length} done earlier\n`);
        if (values['no-wait']) return;
        results = await queue.wait(jobs, { onProgress });
      } finally {
        await queue.close();
      }
    } else {
      const parallel = values.jobs ?? defaultJobs();
      if (parallel > availableParallelism()) process.stderr.write(`covseg batch: warning: --jobs ${parallel} is more than the ${availableParallelism()} core(s) of this machine\n`);
      results = await runLocalBatch(jobs, { jobs: parallel, ...(values.threads ? { threads: values.threads } : {}), onProgress });
    }
    bar.finish();
    await removeLeftovers(jobs);
    const summary = await writeSummary(values.out, results);
    for (const c of results.filter((r) => r.status === 'failed')) process.stderr.write(`covseg batch: failed: ${c.name}: ${c.error}\n`);
    const { done, skipped, failed } = summary.counts;
    process.stdout.write(`${results.length} scan(s): ${done} done, ${skipped} skipped (done earlier), ${failed} failed\nsummary: ${values.out}/summary.csv\n`);
    if (failed > 0) throw new CovsegError(`${failed} of ${results.length} scan(s) failed; summary.csv says why`, { file: values.out });
  },
};

/**
 * The jobs of a DICOMweb batch: one per study the query matches on the --dicomweb server.
 * The jobs carry the connection without its secrets (the URLs stripped of user:password@,
 * the user), so that a worker elsewhere reaches the server with its own environment's.
 */
async function studyJobs(values: { dicomweb: string; 'dicomweb-out': string | undefined; 'dicomweb-user': string | undefined; 'dicomweb-timeout': number }, query: string, out: string, options: CaseOptions): Promise<BatchJob[]> {
  const pairs = parseStudyQuery(query);
  for (const [flagName, url] of [['--dicomweb', values.dicomweb], ['--dicomweb-out', values['dicomweb-out']]] as const) {
    // A password in a URL would travel in every job: over --redis, into Redis.
    if (url !== undefined && URL.canParse(url) && new URL(url).password !== '') throw new UsageError(`${flagName}: give the password in COVSEG_DICOMWEB_PASSWORD, not in the URL (a batch's jobs carry the URL)`);
  }
  const { source, target } = dicomWebClients(values)!;
  const urlUser = decodeURIComponent(new URL(values.dicomweb).username);
  const user = values['dicomweb-user'] ?? (urlUser || undefined);
  const connection: DicomWebConnection = { url: source.url, ...(target ? { targetUrl: target.url } : {}), ...(user !== undefined ? { user } : {}), timeoutMs: values['dicomweb-timeout'] * 1000 };
  const studies = await queryStudies(source, pairs);
  process.stderr.write(`covseg batch: ${studies.length} stud${studies.length === 1 ? 'y' : 'ies'} on ${source.url} match${studies.length === 1 ? 'es' : ''} the query\n`);
  return studies.map((s) => studyJob({ connection, studyInstanceUid: s.studyInstanceUid }, studyCaseName(s), out, options));
}
