/**
 * Stalled uploads are dropped: an upload holds a place in the queue, so one that stops
 * sending (or trickles) is answered 408 once it runs past its time or below the least
 * rate, and its place is freed for the next upload. Tiny limits; what is asserted is the
 * outcome (the place freed, the next upload admitted), never how long it took.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer, type RunningServer, type ServeOptions } from '../../src/web/server.js';
import { PROJECT_ROOT } from '../helpers/shared-data.js';
import { postUpload } from './client.js';

const PNG = join(PROJECT_ROOT, 'examples/zenodo20-slices/ct/1316.png');
const BOUNDARY = 'sTaLlEd';

/** What a stalled client got: the server's answer, or the connection closed under it. */
type Outcome = { status: number; body: { code?: string; message?: string } } | { closed: string };

/** An upload that sends its headers and the start of its file, then `trickle` (or nothing). */
function stalledUpload(server: RunningServer, trickle?: (req: ClientRequest) => void): { req: ClientRequest; outcome: Promise<Outcome> } {
  const req = httpRequest({
    hostname: '127.0.0.1', port: server.port, path: '/api/jobs', method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': '1000000' },
  });
  const outcome = new Promise<Outcome>((resolve) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      res.on('error', (err) => resolve({ closed: err.message }));
    });
    req.on('error', (err) => resolve({ closed: err.message }));
  });
  req.write(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="slow.nii"\r\n\r\n0123456789`);
  trickle?.(req);
  return { req, outcome };
}

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000; // a bound for a broken build, not a measurement
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** One place in all (1 worker, none queued), so a held place shuts everyone else out. */
async function withServer(options: ServeOptions, fn: (server: RunningServer) => Promise<void>): Promise<void> {
  const server = await startServer({ port: 0, workers: 1, maxQueued: 0, ...options });
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

/**
 * The stalled upload is answered 408 with `message` (`strict`: the client sent nothing since
 * its first packet, so the answer cannot be lost to the close); then its place is free and
 * the next upload is admitted. Before the fix it was never answered and held the only place.
 */
async function checkDropped(server: RunningServer, stalled: { req: ClientRequest; outcome: Promise<Outcome> }, message: RegExp, strict: boolean): Promise<void> {
  const outcome = await stalled.outcome;
  stalled.req.destroy();
  console.log(`stalled upload: ${'status' in outcome ? `${outcome.status} ${outcome.body.message}` : `connection closed (${outcome.closed})`}`);
  // A client still sending may see the close before the answer.
  if (strict || 'status' in outcome) {
    assert.ok('status' in outcome, `no answer: ${JSON.stringify(outcome)}`);
    assert.equal(outcome.status, 408);
    assert.equal(outcome.body.code, 'timeout');
    assert.match(outcome.body.message!, message);
  }
  await until('its place is freed, its job folder removed and its bytes given back', () =>
    server.queue.stats().reserved === 0 && server.store.list().length === 0 && server.store.disk.usedBytes === 0);
  const admitted = await postUpload(server.url, new Uint8Array(await readFile(PNG)), 'other.png');
  assert.equal(admitted.status, 202, admitted.body.message);
  assert.equal((await fetch(`${server.url}${admitted.body.url}`, { method: 'DELETE' })).status, 204);
}

/** A bound for a build where stalled uploads are never dropped (the test would wait forever), not a measurement. */
const BOUND = { timeout: 120_000 };

test('an upload that stops sending is dropped below the least rate (408) and its place freed', BOUND, async () => {
  await withServer({ uploadGraceMs: 200, minUploadBytesPerS: 1000, uploadTimeoutMs: 10 * 60_000 }, async (server) => {
    const stalled = stalledUpload(server);
    await checkDropped(server, stalled, /^the upload received \d+ bytes in [\d.]+ s, less than the 1 kB\/s it must keep up \(covseg serve --min-upload-kbps, measured over every --upload-grace-s\), and was dropped to free its place in the queue/, true);
  });
});

test('an upload trickling a byte at a time is dropped below the least rate and its place freed', BOUND, async () => {
  await withServer({ uploadGraceMs: 200, minUploadBytesPerS: 1000, uploadTimeoutMs: 10 * 60_000 }, async (server) => {
    let timer: NodeJS.Timeout | undefined;
    const stalled = stalledUpload(server, (req) => { timer = setInterval(() => { if (!req.destroyed) req.write('x'); }, 20); });
    try {
      await checkDropped(server, stalled, /^the upload received \d+ bytes in [\d.]+ s, less than the 1 kB\/s it must keep up/, false);
    } finally {
      clearInterval(timer);
    }
  });
});

test('an upload still arriving after the upload timeout is dropped (408) and its place freed', BOUND, async () => {
  await withServer({ uploadTimeoutMs: 300, uploadGraceMs: 10 * 60_000 }, async (server) => {
    const stalled = stalledUpload(server);
    await checkDropped(server, stalled, /^the upload took longer than 0\.3 s \(covseg serve --upload-timeout-min\) and was dropped/, true);
  });
});
