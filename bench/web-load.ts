/**
 * Bounded load on covseg serve over loopback: N clients upload a bundled example at
 * once, each retrying after Retry-After when the queue is full (429), then polling its
 * job to the end. Reports whether every job finished (none lost), the most jobs the
 * queue ever admitted against its bound, /api/health latency under load, and the
 * process's RSS (server, its worker threads and the clients share this process).
 *   node dist/bench/web-load.js [--clients 16] [--workers 1] [--max-queued 4] [--file PATH] [--quick]
 * (--quick: 3 clients)
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startServer, type JobJson } from '../src/web/index.js';

export interface WebLoadOptions {
  /** Concurrent clients, one job each. Defaults to 16. */
  clients?: number;
  /** The file every client uploads. Defaults to examples/zenodo20-slices/ct/1316.png. */
  file?: string;
  /** Server worker threads. Defaults to 1. */
  workers?: number;
  /** Server queue bound. Defaults to 4. */
  maxQueued?: number;
  /** Lesion model for the jobs. Defaults to the pipeline's default. */
  lesionModel?: string;
}

export interface WebLoadResult {
  clients: number;
  capacity: number;
  /** Uploads answered 202. */
  accepted: number;
  /** Uploads answered 429, each followed by a retry after its Retry-After. */
  refused: number;
  /** 429 answers that lacked a usable Retry-After header. */
  refusedWithoutRetryAfter: number;
  done: number;
  failed: number;
  /** Accepted jobs that vanished (404) before finishing. */
  lost: number;
  /** Most jobs admitted at once (running + queued + uploads in flight), sampled every 10 ms. */
  maxAdmitted: number;
  distinctIds: number;
  wallS: number;
  /** Seconds from a client's first upload attempt to its job's end: median and max. */
  jobS: { median: number; max: number };
  healthMs: { median: number; max: number; samples: number };
  rssMb: { start: number; peak: number; end: number };
  errors: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => Math.round(bytes / 1024 ** 2);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;

export async function runWebLoad(options: WebLoadOptions = {}): Promise<WebLoadResult> {
  const clients = options.clients ?? 16;
  const file = options.file ?? fileURLToPath(new URL('../../examples/zenodo20-slices/ct/1316.png', import.meta.url));
  const bytes = new Uint8Array(await readFile(file));
  const name = file.split('/').pop()!;
  const workDir = await mkdtemp(join(tmpdir(), 'covseg-web-load-'));
  const server = await startServer({
    port: 0, workDir, workers: options.workers ?? 1, maxQueued: options.maxQueued ?? 4,
    ...(options.lesionModel ? { segment: { lesionModel: options.lesionModel } } : {}),
  });
  const result: WebLoadResult = {
    clients, capacity: server.queue.stats().capacity, accepted: 0, refused: 0, refusedWithoutRetryAfter: 0, done: 0, failed: 0, lost: 0,
    maxAdmitted: 0, distinctIds: 0, wallS: 0, jobS: { median: 0, max: 0 }, healthMs: { median: 0, max: 0, samples: 0 },
    rssMb: { start: mb(process.memoryUsage().rss), peak: 0, end: 0 }, errors: [],
  };
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    const s = server.queue.stats();
    result.maxAdmitted = Math.max(result.maxAdmitted, s.running + s.queued + s.reserved);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 10);
  const healthMs: number[] = [];
  let running = true;
  const healthProbe = (async () => {
    while (running) {
      const t0 = performance.now();
      await (await fetch(`${server.url}/api/health`)).json();
      healthMs.push(performance.now() - t0);
      await sleep(100);
    }
  })();

  const ids: string[] = [];
  const jobS: number[] = [];
  const client = async (index: number) => {
    const t0 = performance.now();
    let job: JobJson | undefined;
    while (!job) {
      const form = new FormData();
      form.append('file', new Blob([bytes]), `${index}-${name}`);
      const response = await fetch(`${server.url}/api/jobs`, { method: 'POST', body: form });
      const body = await response.json();
      if (response.status === 202) {
        result.accepted++;
        job = body as JobJson;
      } else if (response.status === 429) {
        result.refused++;
        const retryAfter = Number(response.headers.get('retry-after'));
        if (!(Number.isInteger(retryAfter) && retryAfter >= 1)) result.refusedWithoutRetryAfter++;
        await sleep(1000 * (retryAfter >= 1 ? retryAfter : 1));
      } else {
        throw new Error(`client ${index}: upload answered ${response.status}: ${body.message}`);
      }
    }
    ids.push(job.id);
    for (;;) {
      await sleep(150);
      const response = await fetch(`${server.url}${job.url}`);
      if (response.status === 404) {
        result.lost++;
        return;
      }
      job = (await response.json()) as JobJson;
      if (job.status === 'done') result.done++;
      else if (job.status === 'failed') {
        result.failed++;
        result.errors.push(job.error ?? '?');
      } else continue;
      jobS.push((performance.now() - t0) / 1000);
      return;
    }
  };

  const start = performance.now();
  const settled = await Promise.allSettled(Array.from({ length: clients }, (_, i) => client(i)));
  result.wallS = (performance.now() - start) / 1000;
  for (const s of settled) if (s.status === 'rejected') result.errors.push(String(s.reason));
  running = false;
  await healthProbe;
  clearInterval(sampler);
  result.distinctIds = new Set(ids).size;
  result.jobS = { median: median(jobS), max: Math.max(...jobS) };
  result.healthMs = { median: median(healthMs), max: Math.max(...healthMs), samples: healthMs.length };
  result.rssMb.peak = mb(peakRss);
  result.rssMb.end = mb(process.memoryUsage().rss);
  await server.close();
  await rm(workDir, { recursive: true, force: true });
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, clients: { type: 'string' }, workers: { type: 'string', default: '1' }, 'max-queued': { type: 'string', default: '4' }, file: { type: 'string' }, 'lesion-model': { type: 'string' } },
  });
  const result = await runWebLoad({
    clients: Number(values.clients ?? (values.quick ? 3 : 16)), workers: Number(values.workers), maxQueued: Number(values['max-queued']),
    ...(values.file ? { file: values.file } : {}), ...(values['lesion-model'] ? { lesionModel: values['lesion-model'] } : {}),
  });
  console.log(JSON.stringify({ bench: 'web-load', ...result }));
}
