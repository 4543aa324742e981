/** `covseg serve`: the local web viewer and segmentation service. */
import { UsageError } from '../../util/errors.js';
import { lungModelFlag, maxVoxelsFlag, maxVoxelsHelp, numberFlag, parseFlags, type Command } from '../command.js';
import { LUNG_MODELS } from '../../lungs/models.js';
import { startServer, type ServeOptions } from '../../web/index.js';

const HELP = `Usage: covseg serve [--port 8080] [--host 127.0.0.1] [options]

Starts a web page and JSON API on this computer: drop in a CT (NIfTI, NRRD, MetaImage,
a DICOM file or a .zip of one DICOM series, a PNG/JPEG slice), follow its segmentation,
see the CT with right lung, left lung and lesion overlays in 2D and 3D (NiiVue), read the
report and download every output. Runs until Ctrl-C.

Options:
  --port N             TCP port; 0 picks a free one (default 8080)
  --host ADDR          address to listen on (default 127.0.0.1: this computer only;
                       0.0.0.0 opens it to the network, with no authentication)
  --workers N          jobs segmented at once, 1 or 2; ONNX Runtime threads per job are
                       2/N so the service uses 2 cores (default 1)
  --max-queued N       jobs that may wait for a worker; more uploads get HTTP 429 with
                       Retry-After (default 4)
  --max-upload-mb N    largest upload; larger ones get HTTP 413 (default 1024)
  --max-unzipped-mb N  most one .zip upload may inflate to; checked from the zip's declared
                       sizes before anything is written, larger ones get HTTP 413 (default 2048)
  --disk-budget-mb N   most disk all live jobs may hold together (uploads, unzipped inputs,
                       outputs), counted before each byte is written; beyond it uploads get
                       HTTP 413 until jobs finish and expire (default 8192)
  --upload-timeout-min N
                       an upload still arriving after N minutes gets HTTP 408 and is dropped,
                       freeing its place in the queue (default 10)
  --min-upload-kbps N  an upload receiving less than N kB/s over any --upload-grace-s window
                       gets HTTP 408 and is dropped (default 10; 0: no rate check)
  --upload-grace-s N   the window that rate is measured over, the first one an upload's grace
                       (default 10)
${maxVoxelsHelp(23, true)}
  --job-ttl-min N      minutes a finished job's files are kept before removal (default 60)
  --job-timeout-min N  a job running longer is stopped and fails (default 30)
  --work-dir DIR       where job folders go (default: a new temp folder, removed on exit)
  --lung-model NAME    lung model: ${Object.keys(LUNG_MODELS).join(', ')} (default: default,
                       models/lung-2d.onnx; lungmask's need --lung-weights)
  --lung-weights FILE  the lung model's weights (lungmask's .pth)
  --lesion-model FILE  lesion model ONNX (default models/lesion-2d.onnx)
  --examples DIR       sample cases for the page's button (default: the project's examples/)
  --log                log every request as JSON lines on stdout

Each job's folder holds the upload and out/ (lungs, lesions, ct.nii.gz, report.json,
report.html, overlay PNGs); it is removed --job-ttl-min after the job ends, and all of
them on exit.

Exit codes: 0 stopped with Ctrl-C, 1 could not start (port taken, missing bundle), 2 bad usage.`;

export const command: Command = {
  name: 'serve',
  summary: 'web page and API on 127.0.0.1: upload a CT, see lungs and lesions in 2D/3D, read the report',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, {
      port: { type: 'string' },
      host: { type: 'string' },
      workers: { type: 'string' },
      'max-queued': { type: 'string' },
      'max-upload-mb': { type: 'string' },
      'max-unzipped-mb': { type: 'string' },
      'disk-budget-mb': { type: 'string' },
      'upload-timeout-min': { type: 'string' },
      'min-upload-kbps': { type: 'string' },
      'upload-grace-s': { type: 'string' },
      'job-ttl-min': { type: 'string' },
      'job-timeout-min': { type: 'string' },
      'work-dir': { type: 'string' },
      'lung-model': { type: 'string' },
      'lung-weights': { type: 'string' },
      'lesion-model': { type: 'string' },
      examples: { type: 'string' },
      'max-voxels': { type: 'string' },
      log: { type: 'boolean', default: false },
    });
    if (positionals.length > 0) throw new UsageError(`serve takes no INPUT (got '${positionals[0]}'); upload scans on the page`);
    const positive = (n: number) => n > 0;
    const lungModel = lungModelFlag(values['lung-model'], values['lung-weights']);
    const options: ServeOptions = {
      port: numberFlag('port', values.port, 8080, (n) => Number.isInteger(n) && n >= 0 && n <= 65535),
      host: values.host ?? '127.0.0.1',
      workers: numberFlag('workers', values.workers, 1, (n) => n === 1 || n === 2),
      maxQueued: numberFlag('max-queued', values['max-queued'], 4, (n) => Number.isInteger(n) && n >= 0),
      maxUploadBytes: Math.round(numberFlag('max-upload-mb', values['max-upload-mb'], 1024, positive) * 1024 ** 2),
      maxUnzippedBytes: Math.round(numberFlag('max-unzipped-mb', values['max-unzipped-mb'], 2048, positive) * 1024 ** 2),
      diskBudgetBytes: Math.round(numberFlag('disk-budget-mb', values['disk-budget-mb'], 8192, positive) * 1024 ** 2),
      uploadTimeoutMs: Math.round(numberFlag('upload-timeout-min', values['upload-timeout-min'], 10, positive) * 60_000),
      minUploadBytesPerS: Math.round(numberFlag('min-upload-kbps', values['min-upload-kbps'], 10, (n) => n >= 0) * 1000),
      uploadGraceMs: Math.round(numberFlag('upload-grace-s', values['upload-grace-s'], 10, positive) * 1000),
      jobTtlMs: Math.round(numberFlag('job-ttl-min', values['job-ttl-min'], 60, positive) * 60_000),
      jobTimeoutMs: Math.round(numberFlag('job-timeout-min', values['job-timeout-min'], 30, positive) * 60_000),
      workDir: values['work-dir'],
      examplesDir: values.examples,
      segment: { lungModel, lungWeights: values['lung-weights'], lesionModel: values['lesion-model'], maxVoxels: maxVoxelsFlag(values['max-voxels'], true) },
      logRequests: values.log,
    };
    const server = await startServer(options);
    const s = server.queue.stats();
    process.stderr.write(
      `covseg serve: open ${server.url}\n` +
      `  ${s.workers} worker(s), up to ${server.queue.maxQueued} queued job(s), uploads up to ${values['max-upload-mb'] ?? 1024} MB, ` +
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
