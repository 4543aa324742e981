import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { verifiedDone, QUEUE_NAME, DONE_MARKER, type BatchSummary, type DoneMarker } from '../../src/batch/index.js';
import { runCovseg, spawnCovseg, until, type CovsegProcess } from '../helpers/run-cli.js';
import { lesionModelFor, needsLungModel } from '../web/pipeline-models.js';
import { makeScans, needsScans } from './scans.js';
import { needsRedis, startRedis, type TestRedis } from './redis-server.js';

const skip = needsRedis() || needsLungModel() || needsScans();

let redis: TestRedis | undefined;
let dir = '';
const children: ChildProcess[] = [];

before(async () => {
  if (skip) return;
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), 'covseg-batch-queue-'));
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) process.kill(c.pid!, 'SIGKILL');
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A `covseg` child process, killed when the tests end. */
function covseg(args: string[]): CovsegProcess {
  const p = spawnCovseg(args);
  children.push(p.child);
  return p;
}

test('batch over 2 workers on Redis: a worker killed mid-job, every scan completed exactly once and complete', { skip }, async () => {
  const url = redis!.url;
  const lesion = await lesionModelFor(dir);
  const scans = await makeScans(join(dir, 'in'), 12);
  const list = join(dir, 'list.txt');
  await writeFile(list, scans.join('\n') + '\n');
  const out = join(dir, 'out');
  const batchArgs = ['batch', '--redis', url, '--input', list, '--out', out, '--lesion-model', lesion.path];

  // Enqueued twice: one job per scan (the job id is the scan's key).
  for (let i = 0; i < 2; i++) {
    const r = runCovseg([...batchArgs, '--no-wait']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /12 scan\(s\) on the queue/);
  }
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE_NAME, { connection });
  try {
    assert.equal((await queue.getJobCounts()).waiting, 12);

    // Short locks so the dead worker's job comes back within seconds.
    const workerArgs = (log: string) => ['worker', '--redis', url, '--jobs', '1', '--threads', '1', '--lock-ms', '15000', '--stalled-check-ms', '1000', '--log', log];
    const logA = join(dir, 'a.log');
    const logB = join(dir, 'b.log');
    // The waiting batch first, so that it finds every scan on the queue and none done.
    const waiter = covseg(batchArgs);
    await until('the batch to enqueue', () => (waiter.lines.some((l) => /12 scan\(s\) on the queue/.test(l)) ? true : undefined));
    const a = covseg(workerArgs(logA));
    const b = covseg(workerArgs(logB));

    // Kill A while it holds a job: it said it started one, and the queue has it active.
    const victim = await until('worker A to start a job', async () => {
      const name = a.lines.map((l) => /: started (\S+)$/.exec(l)?.[1]).find((n) => n);
      if (!name) return undefined;
      const active = await queue.getActive();
      return active.some((j) => j.data.name === name) ? name : undefined;
    });
    process.kill(a.child.pid!, 'SIGKILL');
    await a.exit;

    assert.equal(await waiter.exit, 0, waiter.lines.join('\n'));
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as BatchSummary;
    assert.deepEqual(summary.counts, { done: 12, skipped: 0, failed: 0 });

    // Exactly once: one completion line per scan over both workers' logs.
    const lines = [logA, logB].flatMap((f) => readFile(f, 'utf8').catch(() => ''));
    const completed = (await Promise.all(lines)).join('').trim().split('\n').map((l) => JSON.parse(l) as { key: string; name: string; worker: string });
    assert.equal(completed.length, 12, JSON.stringify(completed));
    assert.equal(new Set(completed.map((c) => c.key)).size, 12);
    const victimLine = completed.find((c) => c.name === victim)!;
    assert.ok(victimLine.worker.endsWith(`:${b.child.pid}`), `the killed worker's scan ${victim} was completed by the other worker (${victimLine.worker})`);

    // Complete: every folder verifies against its done marker and has its report.
    for (const c of summary.cases) {
      const marker = JSON.parse(await readFile(join(out, c.name, DONE_MARKER), 'utf8')) as DoneMarker;
      assert.ok(await verifiedDone(join(out, c.name), marker.key), c.name);
      assert.ok(marker.files['report.json'] && marker.files['overlays.png'], c.name);
    }
    // The killed worker's half-written folder is gone with the batch.
    assert.deepEqual((await readdir(out)).filter((e) => e.includes('.tmp-')), []);
    const counts = await queue.getJobCounts();
    assert.equal(counts.completed, 12);
    assert.equal(counts.failed, 0);

    // A rerun enqueues nothing: every scan is done.
    const again = runCovseg(batchArgs);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /0 scan\(s\) on the queue at .*, 12 done earlier/);

    process.kill(b.child.pid!, 'SIGTERM');
    assert.equal(await b.exit, 0);
  } finally {
    await queue.close();
    connection.disconnect();
  }
});
