/**
 * The disk budget: a zip is charged its declared size before a byte is written, an upload
 * every chunk before it is written, a job's bytes come back when it is removed, and what
 * does not fit is a 413 naming the flag. Over real HTTP for the service-wide budget.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { readdir } from 'node:fs/promises';
import { zipSync } from 'fflate';
import { DiskBudget } from '../../src/web/disk-budget.js';
import { HttpError } from '../../src/web/http-error.js';
import { startServer, type RunningServer } from '../../src/web/server.js';
import { postUpload } from './client.js';

test('DiskBudget: charges count across accounts; a charge that does not fit throws 413 and counts nothing; close gives all back', () => {
  const budget = new DiskBudget(1000);
  const a = budget.account();
  const b = budget.account();
  a.charge(600, 'x');
  b.charge(300, 'x');
  assert.equal(budget.usedBytes, 900);
  assert.throws(() => b.charge(101, 'the upload is larger than'), (err: unknown) =>
    err instanceof HttpError && err.statusCode === 413 && err.code === 'too-large' &&
    err.message === "the upload is larger than the 100 bytes left of the service's disk budget of 1000 bytes (covseg serve --disk-budget-mb; the rest is held by the jobs on the service); retry when they have finished, or restart covseg serve with a larger --disk-budget-mb");
  assert.equal(budget.usedBytes, 900, 'the refused charge counted nothing');
  b.charge(100, 'x');
  a.refund(200);
  assert.deepEqual([a.bytes, b.bytes, budget.usedBytes], [400, 400, 800]);
  a.add(5000); // written already (outputs): counted whatever is left
  assert.equal(budget.freeBytes, 0);
  a.close();
  a.add(10); // a closed account holds nothing more
  assert.deepEqual([a.bytes, budget.usedBytes], [0, 400]);
  b.close();
  assert.equal(budget.usedBytes, 0);
});

const BUDGET = 3_000_000;
let server: RunningServer;

before(async () => {
  server = await startServer({ port: 0, maxUploadBytes: 1_000_000, maxUnzippedBytes: 2_000_000, diskBudgetBytes: BUDGET });
});
after(async () => {
  await server.close();
});

/** A job that holds `bytes` of the budget, as a running job's files would. */
async function holder(bytes: number) {
  const job = await server.store.create('other job');
  job.disk.charge(bytes, 'x');
  return job;
}

async function nothingLeft(expectedUsed: number): Promise<void> {
  assert.equal(server.store.disk.usedBytes, expectedUsed, 'the refused upload gave its bytes back');
  assert.equal(server.queue.stats().reserved, 0);
}

test('a zip over the per-job limit: 413 naming --max-unzipped-mb, from its declared sizes', async () => {
  const answer = await postUpload(server.url, zipSync({ 'IM1': [new Uint8Array(2_500_000), { level: 9 }] }), 'series.zip');
  assert.equal(answer.status, 413, answer.body.message);
  assert.equal(answer.body.code, 'too-large');
  assert.match(answer.body.message!, /^series\.zip: the entries inflate to more than 2000000 bytes, the limit for one job \(covseg serve --max-unzipped-mb\)/);
  await nothingLeft(0);
  assert.deepEqual(await readdir(server.workDir), []);
});

test('zips that each fit the per-job limit, but not what other jobs leave of the disk budget: 413 naming --disk-budget-mb; accepted once the other job is gone', async () => {
  const other = await holder(2_200_000);
  const zip = zipSync({ 'notes.txt': [new Uint8Array(1_000_000), { level: 9 }] });
  const refused = await postUpload(server.url, zip, 'series.zip');
  assert.equal(refused.status, 413, refused.body.message);
  assert.equal(refused.body.code, 'too-large');
  assert.match(refused.body.message!, /^series\.zip: the entries inflate to 1000000 bytes, more than the \d+ bytes left of the service's disk budget of 2\.9 MiB \(covseg serve --disk-budget-mb; the rest is held by the jobs on the service\); retry when they have finished/);
  await nothingLeft(2_200_000);
  await server.store.remove(other.id);
  assert.equal(server.store.disk.usedBytes, 0, 'a removed job gives its bytes back');
  // Past the budget now: the zip is unzipped (and refused for what it holds, no image).
  const passed = await postUpload(server.url, zip, 'series.zip');
  assert.equal(passed.status, 415, passed.body.message);
  assert.match(passed.body.message!, /holds 1 file\(s\) but no DICOM slice/);
  await nothingLeft(0);
});

test('an upload larger than what is left of the disk budget: 413 before the body is read (Content-Length) or as it streams (chunked)', async () => {
  const other = await holder(BUDGET - 100_000);
  const bytes = new Uint8Array(300_000).fill(7);
  const declared = await postUpload(server.url, bytes, 'scan.nii');
  assert.equal(declared.status, 413, declared.body.message);
  assert.match(declared.body.message!, /^the upload \(\d+ bytes\) is larger than the 100000 bytes left of the service's disk budget of 2\.9 MiB \(covseg serve --disk-budget-mb;/);
  const boundary = 'dIsKbUdGeT';
  const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.nii"\r\nContent-Type: application/octet-stream\r\n\r\n${'x'.repeat(300_000)}\r\n--${boundary}--\r\n`;
  const streamed = await new Promise<{ status: number; body: { message: string } }>((resolve, reject) => {
    const req = httpRequest({ hostname: '127.0.0.1', port: server.port, path: '/api/jobs', method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'transfer-encoding': 'chunked' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(body);
  });
  assert.equal(streamed.status, 413, streamed.body.message);
  assert.match(streamed.body.message, /^the upload is larger than the \d+ bytes left of the service's disk budget of 2\.9 MiB \(covseg serve --disk-budget-mb;/);
  await nothingLeft(BUDGET - 100_000);
  await server.store.remove(other.id);
  await nothingLeft(0);
  const health = await (await fetch(`${server.url}/api/health`)).json() as { disk: unknown };
  assert.deepEqual(health.disk, { usedBytes: 0, budgetBytes: BUDGET });
});
