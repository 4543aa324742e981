/** `covseg serve`: the local web viewer and segmentation service. */
import { UsageError } from '../../util/errors.js';
import { flag, lungModelFlag, optionsHelp, parseCommandLine, type Command } from '../command.js';
import { startServer, type ServeOptions } from '../../web/index.js';
import { checkLobeWeights } from '../../segment/index.js';
import { DICOMWEB_FLAGS, dicomWebClients } from '../dicomweb-flags.js';

const positive = (n: number) => n > 0;

const FLAGS = {
  port: flag.number({ arg: 'N', default: 8080, check: (n) => Number.isInteger(n) && n >= 0 && n <= 65535, help: 'TCP port; 0 picks a free one' }),
  host: flag.string({
    arg: 'ADDR', default: '127.0.0.1',
    help: 'address to listen on (127.0.0.1: this computer only; 0.0.0.0 opens it to the network, with no authentication)',
  }),
  workers: flag.number({
    arg: 'N', default: 1, check: (n) => n === 1 || n === 2,
    help: 'jobs segmented at once, 1 or 2; ONNX Runtime threads per job are 2/N so the service uses 2 cores (not with --redis: the covseg workers run the jobs)',
  }),
  'max-queued': flag.number({
    arg: 'N', default: 4, check: (n) => Number.isInteger(n) && n >= 0,
    help: 'jobs that may wait for a worker; more uploads get HTTP 429 with Retry-After. With --redis: the jobs of this server on the queue, waiting or running (at least 1)',
  }),
  redis: flag.string({
    arg: 'URL',
    help: "run the jobs on the BullMQ queue in the Redis at URL (redis://HOST:PORT), the one 'covseg batch --redis URL' fills, by 'covseg worker --redis URL' processes instead of on this computer; the workers must see --work-dir at the same path (see below)",
  }),
  'max-upload-mb': flag.number({ arg: 'N', default: 1024, check: positive, help: 'largest upload; larger ones get HTTP 413' }),
  'max-unzipped-mb': flag.number({
    arg: 'N', default: 2048, check: positive,
    help: "most one .zip upload may inflate to; checked from the zip's declared sizes before anything is written, larger ones get HTTP 413",
  }),
  'disk-budget-mb': flag.number({
    arg: 'N', default: 8192, check: positive,
    help: 'most disk all live jobs may hold together (uploads, unzipped inputs, outputs), counted before each byte is written; beyond it uploads get HTTP 413 until jobs finish and expire',
  }),
  'upload-timeout-min': flag.number({
    arg: 'N', default: 10, check: positive,
    help: 'an upload still arriving after N minutes gets HTTP 408 and is dropped, freeing its place in the queue',
  }),
  'min-upload-kbps': flag.number({
    arg: 'N', default: 10, check: (n) => n >= 0,
    help: 'an upload receiving less than N kB/s over any --upload-grace-s window gets HTTP 408 and is dropped (0: no rate check)',
  }),
  'upload-grace-s': flag.number({ arg: 'N', default: 10, check: positive, help: "the window that rate is measured over, the first one an upload's grace" }),
  'max-voxels': flag.maxVoxels(true),
  'job-ttl-min': flag.number({ arg: 'N', default: 60, check: positive, help: "minutes a finished job's files are kept before removal" }),
  'job-timeout-min': flag.number({ arg: 'N', default: 30, check: positive, help: 'a job running longer is stopped and fails (with --redis: fails, counted from when a worker takes it; its worker finishes it and the result is discarded)' }),
  'work-dir': flag.string({ arg: 'DIR', shownDefault: 'a new temp folder, removed on exit', help: 'where job folders go' }),
  'lung-model': flag.lungModel(),
  'lung-weights': flag.lungWeights(),
  'lobe-weights': flag.lobeWeights({
    help: "lungmask's LTRCLobes weights (unet_ltrclobes-3a07043d.pth, from\nhttps://github.com/JoHof/lungmask/releases/tag/v0.0): every job also gets the\nlobes (lobes.nii.gz), the lobar TSS 0–20 and Pan 0–25 scores; HU volumes only",
  }),
  'lesion-model': flag.string({ arg: 'FILE', shownDefault: 'models/lesion-2d.onnx', help: 'lesion model ONNX' }),
  examples: flag.string({ arg: 'DIR', shownDefault: "the project's examples/", help: "sample cases for the page's button" }),
  log: flag.boolean({ help: 'log every request as JSON lines on stdout' }),
  dicomweb: flag.string({ arg: 'URL', help: "a DICOMweb server (PACS, its base URL, e.g. http://pacs:8042/dicom-web): the page lists its studies, runs one, and sends a job's DICOM SEG and SR to it ('send results to PACS')" }),
  ...DICOMWEB_FLAGS,
};

const HELP = `Usage: covseg serve [--port 8080] [--host 127.0.0.1] [options]

Starts a web page and JSON API on this computer: drop in a CT (NIfTI, NRRD, MetaImage,
a DICOM file or a .zip of one DICOM series, a PNG/JPEG slice), follow its segmentation,
see the CT with right lung, left lung and lesion overlays in 2D and 3D (NiiVue), read the
report and download every output. Runs until Ctrl-C.

Options:
${optionsHelp(FLAGS)}

Each job's folder holds the upload and out/ (lungs, lesions, lesion types, with
--lobe-weights lobes, ct.nii.gz, report.json, report.html, overlay PNGs); it is removed
--job-ttl-min after the job ends, and all of them on exit.

With --redis URL, a job (an upload, a sample, a PACS study) is a job of the batch queue:
its input is the upload in its folder, its out folder the folder's out/, and whichever
'covseg worker --redis URL' takes it writes out/ there, with batch.json (the done marker)
beside the outputs. So every worker must see --work-dir at the same path: run them on
this computer, or give --work-dir on storage they share, mounted at the same path. The
page follows the job as for a local one (queued, running with the worker's progress,
done, failed with the reason) and serves out/ once its done marker verifies. Jobs wait
on the queue behind the batch jobs enqueued before them. The limits then: --max-queued
counts this server's jobs on the queue; --job-timeout-min runs from when a worker takes
the job; --job-ttl-min, --disk-budget-mb and the upload limits apply as without --redis
(the outputs are on this server's disk). A job deleted on the page, or past its timeout,
while a worker runs it runs on there, and its folder is removed when it ends.

Exit codes: 0 stopped with Ctrl-C, 1 could not start (port taken, missing bundle), 2 bad usage.`;

export const command: Command = {
  name: 'serve',
  help: HELP,
  flags: FLAGS,
  async run(argv) {
    const { values, positionals } = parseCommandLine('serve', argv, FLAGS);
    if (positionals.length > 0) throw new UsageError(`serve takes no INPUT (got '${positionals[0]}'); upload scans on the page`);
    const lungModel = lungModelFlag(values['lung-model'], values['lung-weights']);
    // No job runs on the server itself with --redis: a place on the queue is the only place there is.
    if (values.redis && values['max-queued'] < 1) throw new UsageError('--max-queued must be at least 1 with --redis');
    const lobeWeights = values['lobe-weights'];
    if (lobeWeights !== undefined) await checkLobeWeights(lobeWeights);
    const mb = (n: number) => Math.round(n * 1024 ** 2);
    const options: ServeOptions = {
      port: values.port,
      host: values.host,
      workers: values.workers,
      maxQueued: values['max-queued'],
      maxUploadBytes: mb(values['max-upload-mb']),
      maxUnzippedBytes: mb(values['max-unzipped-mb']),
      diskBudgetBytes: mb(values['disk-budget-mb']),
      uploadTimeoutMs: Math.round(values['upload-timeout-min'] * 60_000),
      minUploadBytesPerS: Math.round(values['min-upload-kbps'] * 1000),
      uploadGraceMs: Math.round(values['upload-grace-s'] * 1000),
      jobTtlMs: Math.round(values['job-ttl-min'] * 60_000),
      jobTimeoutMs: Math.round(values['job-timeout-min'] * 60_000),
      workDir: values['work-dir'],
      examplesDir: values.examples,
      segment: { lungModel, lungWeights: values['lung-weights'], lobeWeights, lesionModel: values['lesion-model'], maxVoxels: values['max-voxels'] },
      logRequests: values.log,
      ...(values.redis ? { redis: values.redis } : {}),
    };
    const pacs = dicomWebClients(values);
    if (pacs) options.dicomweb = pacs;
    const server = await startServer(options);
    const s = server.queue.stats();
    process.stderr.write(
      `covseg serve: open ${server.url}\n` +
      (pacs ? `  studies from ${pacs.source.url}, results to ${(pacs.target ?? pacs.source).url}\n` : '') +
      (values.redis
        ? `  jobs on the queue at ${values.redis} (${s.workers} covseg worker(s) connected now), up to ${server.queue.maxQueued} job(s) of this server on it, uploads up to ${values['max-upload-mb']} MB, `
        : `  ${s.workers} worker(s), up to ${server.queue.maxQueued} queued job(s), uploads up to ${values['max-upload-mb']} MB, `) +
      `results kept ${Math.round(server.store.ttlMs / 60_000)} min in ${server.workDir}\n`,
    );
    if (!['127.0.0.1', 'localhost', '::1'].includes(server.host)) {
      process.stderr.write(`  warning: listening on ${server.host}: anyone who can reach this computer can upload scans and read results (no authentication)\n`);
    }
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.stderr.write('covseg serve: stopping (removing job files)\n');
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        server.close().then(resolve, resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  },
};
