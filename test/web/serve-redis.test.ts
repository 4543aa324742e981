/**
 * `covseg serve --redis`: web jobs on the batch's BullMQ queue, run by a real `covseg worker`
 * process, on a real redis-server (127.0.0.1, a free port, its own folder). And the service
 * without --redis, which must never load BullMQ or ioredis.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUE_NAME, type BatchJob } from '../../src/batch/index.js';
import { RedisJobQueue } from '../../src/web/redis-job-queue.js';
import { writeVolume } from '../../src/io/index.js';
import { createVolume } from '../../src/volume/index.js';
import type { JobJson } from '../../src/web/server.js';
import { noQueueNodeOptions, runCovseg, spawnCovseg, until, type CovsegProcess } from '../helpers/run-cli.js';
import { freePort, needsRedis, startRedis, type TestRedis } from '../batch/redis-server.js';
import { makeScans, needsScans } from '../batch/scans.js';
import { getJson, uploadPath, waitForJob } from './client.js';
import { lesionModelFor, needsLungModel } from './pipeline-models.js';

const skipJobs = needsLungModel() || needsScans();
const skipRedis = needsRedis() || skipJobs;

let redis: TestRedis | undefined;
let dir = '';
const children: ChildProcess[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'covseg-serve-redis-'));
  // The timeout test needs Redis only (its input is a FIFO): Redis starts whenever it is there.
  if (!needsRedis()) redis = await startRedis();
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) process.kill(c.pid!, 'SIGKILL');
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A `covseg` child process, killed when the tests end. */
function covseg(args: string[], env: Record<string, string> = {}): CovsegProcess {
  const p = spawnCovseg(args, env);
  children.push(p.child);
  return p;
}

/** `covseg serve … --port 0` started; its URL and work folder from its banner. */
async function serve(args: string[], env: Record<string, string> = {}): Promise<{ p: CovsegProcess; url: string; workDir: string }> {
  const p = covseg(['serve', '--port', '0', ...args], env);
  let exited = false;
  void p.exit.then(() => void (exited = true));
  const [url, workDir] = await until('serve to print its URL', () => {
    if (exited) throw new Error(`serve exited: ${p.lines.join('\n')}`);
    const u = p.lines.map((l) => /open (http:\/\/\S+)$/.exec(l)?.[1]).find((x) => x);
    const w = p.lines.map((l) => /results kept \d+ min in (\S+)$/.exec(l)?.[1]).find((x) => x);
    return u && w ? [u, w] : undefined;
  }, 60_000);
  return { p, url: url!, workDir: workDir! };
}

async function stop(p: CovsegProcess, signal: NodeJS.Signals): Promise<number | null> {
  p.child.kill(signal);
  return p.exit;
}

test('serve --redis: uploads go on the batch queue, a covseg worker runs them, the page follows them and serves the results', { skip: skipRedis }, async () => {
  const url = redis!.url;
  const lesion = await lesionModelFor(dir);
  const [scan] = await makeScans(join(dir, 'in'), 1);
  // 64×64 of 0–255 values: a NIfTI that is not in Hounsfield units (the pipeline refuses it).
  const notHu = join(dir, 'not-hu.nii.gz');
  await writeVolume(notHu, createVolume(new Int16Array(64 * 64).map((_, i) => i % 256), [64, 64, 1], { spacingMm: [1, 1, 1] }));
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue<BatchJob>(QUEUE_NAME, { connection });
  // The queue's event stream, read from before the first job: every progress report the worker makes is in it.
  const events = new QueueEvents(QUEUE_NAME, { connection: { url } });
  const progress: { jobId: string; stage: string }[] = [];
  events.on('progress', ({ jobId, data }) => void progress.push({ jobId, stage: (data as { stage: string }).stage }));
  await events.waitUntilReady();
  const server = await serve(['--redis', url, '--max-queued', '1', '--lesion-model', lesion.path]);
  try {
    assert.ok(server.p.lines.some((l) => l.includes(`jobs on the queue at ${url} (0 covseg worker(s) connected now), up to 1 job(s) of this server on it`)), server.p.lines.join('\n'));
    const health = await getJson<{ queue: { workers: number; capacity: number; queued: number } }>(`${server.url}/api/health`);
    assert.deepEqual([health.body.queue.workers, health.body.queue.capacity, health.body.queue.queued], [0, 1, 0]);

    // No worker yet: the job waits on the queue, as a batch job would, in the work dir.
    const first = await uploadPath(server.url, scan!);
    assert.equal(first.status, 202, JSON.stringify(first.body));
    assert.equal(first.body.status, 'queued');
    assert.equal(first.body.queuePosition, 1);
    // On the queue once the server's enqueue is through (the 202 does not wait for it).
    const waiting = await until('the job on the queue', async () => (await queue.getJobs(['waiting']))[0], 30_000);
    assert.equal(waiting?.data.name, `${first.body.id}/out`);
    assert.equal(waiting?.data.input.startsWith(join(server.workDir, first.body.id) + '/'), true, waiting?.data.input);
    // --max-queued 1: the server's one place on the queue is taken.
    const full = await uploadPath(server.url, scan!);
    assert.equal(full.status, 429);
    assert.ok(Number(full.headers.get('retry-after')) >= 1);
    // Deleted while waiting: it leaves the queue and frees the place.
    assert.equal((await fetch(`${server.url}/api/jobs/${first.body.id}`, { method: 'DELETE' })).status, 204);
    await until('the deleted job to leave the queue', async () => ((await queue.getJob(waiting!.id!)) ? undefined : true), 30_000);
    assert.equal(existsSync(join(server.workDir, first.body.id)), false);

    const created = await uploadPath(server.url, scan!);
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const id = created.body.id;
    const key = (await until('the job on the queue', async () => (await queue.getJobs(['waiting']))[0], 30_000)).id!;
    const log = join(dir, 'worker.log');
    const worker = covseg(['worker', '--redis', url, '--jobs', '1', '--threads', '1', '--log', log]);
    const done = await waitForJob(server.url, id, 300_000, 200);
    assert.equal(done.status, 'done', done.error);

    // Done by the worker: its audit log and its messages name the job.
    const audit = (await readFile(log, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { key: string; name: string; worker: string });
    assert.deepEqual(audit.map((a) => [a.key, a.name]), [[key, `${id}/out`]]);
    assert.ok(audit[0]!.worker.endsWith(`:${worker.child.pid}`), audit[0]!.worker);
    assert.ok(worker.lines.some((l) => l.endsWith(`: started ${id}/out`)) && worker.lines.some((l) => l.endsWith(`: done ${id}/out`)), worker.lines.join('\n'));
    // It reported its progress through BullMQ: every stage the pipeline runs.
    const stages = new Set(progress.filter((e) => e.jobId === key).map((e) => e.stage));
    for (const s of ['read', 'lungs', 'lesions', 'report', 'write']) assert.ok(stages.has(s), `progress of stage ${s}: ${[...stages].join(', ')}`);

    // Served from the job's out folder as a local job's: the report, the CT for the viewer, the pictures.
    const names = done.files.map((f) => f.name);
    for (const n of ['ct.nii.gz', 'lungs.nii.gz', 'lesions.nii.gz', 'report.json', 'report.html', 'overlays.png']) assert.ok(names.includes(n), names.join(', '));
    assert.ok(!names.includes('batch.json'), 'the done marker is not an output');
    const served = await fetch(`${server.url}/api/jobs/${id}/files/report.json`);
    assert.equal(served.status, 200);
    const report = await served.json() as { input: { path: string } };
    assert.deepEqual(report, JSON.parse(await readFile(join(server.workDir, id, 'out', 'report.json'), 'utf8')));
    assert.deepEqual(done.report, report);
    assert.equal(report.input.path, scan!.split('/').pop(), 'the report names the uploaded file');
    // Every file the worker's report names is offered, lesion-types.nii.gz (HU input) included.
    for (const n of Object.values((report as unknown as { outputs: Record<string, string> }).outputs)) assert.ok(names.includes(n), `${n} not among ${names.join(', ')}`);
    // The finished job left Redis with it.
    await until('the done job to leave Redis', async () => ((await queue.getJob(key)) ? undefined : true), 30_000);

    // Bad input fails on the worker, and the page says why in the web's words.
    const bad = await uploadPath(server.url, notHu, 'not-hu.nii.gz');
    assert.equal(bad.status, 202, JSON.stringify(bad.body));
    const failed = await waitForJob(server.url, bad.body.id, 120_000, 200);
    assert.equal(failed.status, 'failed');
    assert.match(failed.error!, /^not-hu\.nii\.gz: the values are not Hounsfield units .*; upload it again with force=1 \(on the page: tick 'segment even if the input checks fail'\) to segment it anyway$/);
    assert.deepEqual(failed.files, []);
    assert.ok(worker.lines.some((l) => l.includes(`: failed ${bad.body.id}/out: `)), worker.lines.join('\n'));

    const after = await getJson<{ queue: { workers: number } }>(`${server.url}/api/health`);
    assert.equal(after.body.queue.workers, 1);
    assert.equal(await stop(worker, 'SIGTERM'), 0);
  } finally {
    const code = await stop(server.p, 'SIGINT');
    assert.equal(code, 0, server.p.lines.join('\n'));
    assert.equal(existsSync(server.workDir), false, 'the temp work folder is removed');
    await events.close();
    await queue.close();
    connection.disconnect();
  }
});

test('serve --redis: a running job past its timeout, and one deleted while it runs, end on the page at once; the worker runs on, and their folders go when it lets go', { skip: needsRedis() }, async () => {
  const url = redis!.url;
  const root = await mkdtemp(join(dir, 'work-'));
  const jobs = await RedisJobQueue.open(url, { jobTimeoutMs: 1000, pollMs: 100, maxQueued: 1 });
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue<BatchJob>(QUEUE_NAME, { connection });
  const worker = covseg(['worker', '--redis', url, '--jobs', '1', '--threads', '1']);
  try {
    for (const what of ['timeout', 'delete'] as const) {
      const id = (what === 'timeout' ? 'a' : 'b').repeat(32);
      const jobDir = join(root, id);
      await mkdir(jobDir);
      // A FIFO no one writes to yet: the worker blocks reading it, so the job runs until the test ends it.
      const fifo = join(jobDir, 'input.nii');
      execFileSync('mkfifo', [fifo]);
      let started = false;
      const result = jobs.run(jobs.reserve(), { id, input: fifo, outDir: join(jobDir, 'out'), options: {} }, { onStart: () => void (started = true) });
      result.catch(() => {});
      await until('a worker to take the job', () => (started ? true : undefined), 60_000);
      if (what === 'delete') assert.equal(jobs.cancel(id), true);
      await assert.rejects(result, what === 'timeout' ? /^CovsegError: the job ran longer than 1 s \(covseg serve --job-timeout-min\) and was given up; its worker's result will be discarded$/ : /^CovsegError: the job was cancelled$/);
      assert.deepEqual([jobs.stats().running, jobs.stats().queued], [0, 0]);
      // BullMQ cannot stop another machine's job: the worker still holds it.
      const [active] = await queue.getActive();
      assert.equal(active?.data.name, `${id}/out`);
      // Bytes no reader knows end the input: the worker fails the job (bad input, no retry) and lets go.
      // (EPIPE: the worker read what it needed, or the end, and closed the FIFO before this write finished: ended all the same.)
      await writeFile(fifo, 'not a scan').catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EPIPE') throw err; });
      const gone = what === 'timeout' ? join(jobDir, 'out') : jobDir;
      await until('the job off Redis and its folder removed', async () => (!(await queue.getJob(active!.id!)) && !existsSync(gone) ? true : undefined), 60_000);
      assert.ok(worker.lines.some((l) => l.includes(`: failed ${id}/out: `)), worker.lines.join('\n'));
    }
  } finally {
    await stop(worker, 'SIGTERM');
    await jobs.close();
    await queue.close();
    connection.disconnect();
  }
});

test('serve --redis refuses what cannot work: --max-queued 0 (exit 2), a Redis that does not answer (exit 1)', async () => {
  const r = runCovseg(['serve', '--redis', 'redis://127.0.0.1:1', '--max-queued', '0']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--max-queued must be at least 1 with --redis/);
  const port = await freePort();
  const down = runCovseg(['serve', '--port', '0', '--redis', `redis://127.0.0.1:${port}`]);
  assert.equal(down.status, 1, down.stderr);
  assert.match(down.stderr, new RegExp(`^covseg serve: error: cannot reach Redis at redis://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`, 'm'));
});

test('serve without --redis runs jobs on this computer and never loads BullMQ or ioredis', { skip: skipJobs }, async () => {
  const lesion = await lesionModelFor(dir);
  const [scan] = await makeScans(join(dir, 'local'), 1);
  const server = await serve(['--lesion-model', lesion.path], { NODE_OPTIONS: await noQueueNodeOptions(dir) });
  try {
    const created = await uploadPath(server.url, scan!);
    const job: JobJson = await waitForJob(server.url, created.body.id, 300_000, 200);
    assert.equal(job.status, 'done', job.error);
    assert.equal((await fetch(`${server.url}/api/jobs/${job.id}/files/report.json`)).status, 200);
  } finally {
    assert.equal(await stop(server.p, 'SIGINT'), 0, server.p.lines.join('\n'));
  }
  assert.ok(!server.p.lines.some((l) => /loaded the queue/.test(l)), server.p.lines.join('\n'));
});
