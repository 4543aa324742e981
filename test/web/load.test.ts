/**
 * A small version of bench/web-load.ts: 6 clients against a queue of 2 places. Every
 * job must finish, none may be lost, the bound must hold, refused clients must be told
 * when to retry and get in when they do, and memory must stay bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runWebLoad } from '../../bench/web-load.js';
import { lesionModelFor, needsLungModel } from './pipeline-models.js';

test('6 concurrent uploads, 1 worker, 1 queued place: all finish, 429s carry Retry-After, the bound holds', { skip: needsLungModel() }, async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'covseg-load-'));
  try {
    const r = await runWebLoad({ clients: 6, workers: 1, maxQueued: 1, lesionModel: (await lesionModelFor(scratch)).path });
    console.log(`load: ${r.clients} clients, ${r.accepted} accepted after ${r.refused} × 429, ${r.done} done in ${r.wallS.toFixed(1)} s; ` +
      `most admitted ${r.maxAdmitted}/${r.capacity}; health median ${r.healthMs.median.toFixed(1)} ms, max ${r.healthMs.max.toFixed(1)} ms; ` +
      `RSS ${r.rssMb.start} → peak ${r.rssMb.peak} → ${r.rssMb.end} MB`);
    assert.deepEqual(r.errors, []);
    assert.equal(r.done, 6);
    assert.equal(r.failed, 0);
    assert.equal(r.lost, 0);
    assert.equal(r.distinctIds, 6);
    assert.equal(r.accepted, 6);
    assert.ok(r.refused >= 1, 'with 6 clients and 2 places some uploads must be refused');
    assert.equal(r.refusedWithoutRetryAfter, 0);
    assert.equal(r.capacity, 2);
    assert.ok(r.maxAdmitted <= r.capacity, `admitted ${r.maxAdmitted} > ${r.capacity}`);
    assert.ok(r.rssMb.peak - r.rssMb.start < 400, `RSS grew by ${r.rssMb.peak - r.rssMb.start} MB`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
});
