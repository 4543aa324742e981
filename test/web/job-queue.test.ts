/** The queue bound: places are reserved before uploads are read, and refused when all are taken. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CovsegError } from '../../src/util/errors.js';
import { JobQueue, QueueFullError } from '../../src/web/job-queue.js';

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
