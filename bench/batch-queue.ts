/**
 * Throughput of a batch on the BullMQ queue: N small scans (copies of the bundled example
 * slices) run by 1, then 2 `covseg worker` processes on a real redis-server on loopback;
 * scans per minute from the batch's start to its summary, and the queue's overhead per job:
 * the batch's wall time with one worker less the cases' own times, per job.
 *   node dist/bench/batch-queue.js [--scans 8] [--quick]      (--quick: 4 scans)
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BatchSummary } from '../src/batch/index.js';
import { needsRedis, startRedis } from '../test/batch/redis-server.js';
import { lesionModelFor } from '../test/web/pipeline-models.js';
import { PROJECT_ROOT_DIR } from './paths.js';

const CLI = join(PROJECT_ROOT_DIR, 'dist/src/cli/main.js');
const EXAMPLES = ['examples/zenodo20-slices/ct/1316.png', 'examples/zenodo20-slices/ct/1397.png', 'examples/chest-ct-dicom-slice/chest-ct.dcm'].map((p) => join(PROJECT_ROOT_DIR, p));

/** Starts `workers` worker processes, runs the batch to its summary, stops them; returns wall seconds and the summary. */
async function runBatch(url: string, list: string, out: string, lesion: string, workers: number): Promise<{ wallS: number; summary: BatchSummary }> {
  const procs = Array.from({ length: workers }, () => spawn(process.execPath, [CLI, 'worker', '--redis', url, '--jobs', '1', '--threads', '1', '--stalled-check-ms', '1000'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, COVSEG_QUIET: '1' } }));
  // Timed from when every worker waits for scans: worker start-up is not the queue's.
  await Promise.all(procs.map((p) => new Promise<void>((resolve) => {
    let text = '';
    p.stderr!.on('data', (d) => {
      text += d;
      if (text.includes('waiting for scans')) resolve();
    });
  })));
  const start = performance.now();
  const r = spawnSync(process.execPath, [CLI, 'batch', '--redis', url, '--input', list, '--out', out, '--lesion-model', lesion], { encoding: 'utf8', env: { ...process.env, COVSEG_QUIET: '1' } });
  const wallS = (performance.now() - start) / 1000;
  for (const p of procs) p.kill('SIGTERM');
  await Promise.all(procs.map((p) => new Promise((resolve) => (p.exitCode !== null ? resolve(null) : p.once('exit', resolve)))));
  if (r.status !== 0) throw new Error(`covseg batch failed: ${r.stderr}`);
  return { wallS, summary: JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as BatchSummary };
}

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, scans: { type: 'string' } } });
const n = Number(values.scans ?? (values.quick ? 4 : 8));
const skip = needsRedis();
if (skip) {
  console.log(JSON.stringify({ bench: 'batch-queue', skipped: skip }));
} else {
  const dir = await mkdtemp(join(tmpdir(), 'covseg-bench-batch-'));
  const redis = await startRedis();
  try {
    const lesion = await lesionModelFor(dir);
    await mkdir(join(dir, 'in'));
    const scans: string[] = [];
    for (let i = 0; i < n; i++) {
      const src = EXAMPLES[i % EXAMPLES.length]!;
      const p = join(dir, 'in', `scan-${String(i).padStart(3, '0')}${src.endsWith('.dcm') ? '.dcm' : '.png'}`);
      await copyFile(src, p);
      scans.push(p);
    }
    const list = join(dir, 'list.txt');
    await writeFile(list, scans.join('\n') + '\n');
    const rows = [];
    for (const workers of [1, 2]) {
      const { wallS, summary } = await runBatch(redis.url, list, join(dir, `out-${workers}`), lesion.path, workers);
      const caseS = summary.cases.reduce((s, c) => s + (c.timeS ?? 0), 0);
      rows.push({
        workers, scans: n, done: summary.counts.done, failed: summary.counts.failed, wallS: +wallS.toFixed(2),
        scansPerMinute: +((60 * n) / wallS).toFixed(1), meanCaseS: +(caseS / n).toFixed(2),
        // With one worker the jobs run one after another: what the wall time has beyond the cases is the queue's (enqueue, hand-out, polling, summary).
        ...(workers === 1 ? { queueOverheadPerJobS: +((wallS - caseS) / n).toFixed(3) } : {}),
      });
    }
    console.log(JSON.stringify({ bench: 'batch-queue', cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, lesionModel: lesion.shipped ? 'shipped' : 'random stand-in', results: rows }));
  } finally {
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
