/**
 * The queue bound: places are reserved before uploads are read, and refused when all are taken;
 * a worker process that dies mid-job fails the job with the reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CovsegError } from '../../src/util/errors.js';
import { describeExit, JobQueue, QueueFullError } from '../../src/web/job-queue.js';

test('reserve: workers + maxQueued places, then QueueFullError with a Retry-After estimate', async () => {
  const cases: [number, number][] = [[1, 0], [1, 2], [2, 3]];
  for (const [workers, maxQueued] of cases) {
    const queue = new JobQueue({ workers, maxQueued });
    const held = Array.from({ length: workers + maxQueued }, () => queue.reserve());
    assert.deepEqual(queue.stats(), { workers, running: 0, queued: 0, reserved: workers + maxQueued, capacity: workers + maxQueued });
    assert.throws(() => queue.reserve(), (err: unknown) =>
      err instanceof QueueFullError && err.retryAfterS >= 1 && err.retryAfterS <= 600 &&
      err.message === `the job queue is full (${workers + maxQueued} jobs admitted); retry in about ${err.retryAfterS} s`);
    held[0]!.release();
    held[0]!.release(); // a second release frees nothing more
    assert.equal(queue.stats().reserved, workers + maxQueued - 1);
    queue.reserve();
    assert.throws(() => queue.reserve(), QueueFullError);
    await queue.close();
  }
});

test('run refuses a reservation that was released', async () => {
  const queue = new JobQueue();
  const r = queue.reserve();
  r.release();
  assert.throws(() => queue.run(r, { id: 'x', input: 'in', outDir: 'out', options: {} }), /run: the reservation was already used or released/);
  await queue.close();
});

test('a closed queue refuses new reservations', async () => {
  const queue = new JobQueue();
  await queue.close();
  assert.throws(() => queue.reserve(), (err: unknown) => err instanceof CovsegError && /shutting down/.test(err.message));
});

test('constructor: workers 1 or 2 (the CPU budget), maxQueued a whole number', () => {
  for (const workers of [0, 3, 1.5]) assert.throws(() => new JobQueue({ workers }), new RegExp(`workers must be 1 or 2 \\(the service's CPU budget\\), got ${workers}`));
  for (const maxQueued of [-1, 0.5]) assert.throws(() => new JobQueue({ maxQueued }), new RegExp(`maxQueued must be a whole number ≥ 0, got ${maxQueued}`));
});

test('a worker killed mid-job (as the out-of-memory killer does) fails the job naming the signal; the next job gets a fresh worker', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'covseg-queue-'));
  // A FIFO no one writes to: the worker blocks opening it, so the job can only end by the kill.
  const fifo = join(dir, 'never.nii');
  execFileSync('mkfifo', [fifo]);
  const queue = new JobQueue();
  try {
    const pids: number[] = [];
    const killed = queue.run(queue.reserve(), { id: 'k', input: fifo, outDir: join(dir, 'out-k'), options: {} }, {
      onStart: (pid) => pids.push(pid!),
      // The first progress ('read') comes as the worker starts reading the input: it is busy, with nothing sent yet.
      onProgress: () => { if (pids.length === 1) process.kill(pids[0]!, 'SIGKILL'); },
    });
    await assert.rejects(killed, (err: unknown) => err instanceof CovsegError && err.message === 'the segmentation process was killed by SIGKILL (out of memory?)');
    const next = queue.run(queue.reserve(), { id: 'n', input: join(dir, 'missing.nii'), outDir: join(dir, 'out-n'), options: {} }, { onStart: (pid) => pids.push(pid!) });
    await assert.rejects(next, /missing\.nii: cannot open: no such file or folder/);
    assert.equal(pids.length, 2);
    assert.notEqual(pids[1], pids[0], 'a fresh worker process');
    assert.equal(queue.stats().running, 0);
  } finally {
    await queue.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('describeExit: a signal is named, SIGKILL as the likely out-of-memory kill; an exit code is given', () => {
  assert.equal(describeExit(null, 'SIGKILL'), 'the segmentation process was killed by SIGKILL (out of memory?)');
  assert.equal(describeExit(null, 'SIGSEGV'), 'the segmentation process was killed by SIGSEGV');
  assert.equal(describeExit(3, null), 'the segmentation process exited with code 3 before it finished');
});
