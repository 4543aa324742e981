/**
 * `covseg serve --dicomweb` against a real Orthanc: the page's API lists the PACS's studies,
 * runs one as a job (its CT series fetched by the server), and sends the job's DICOM SEG and SR to
 * the PACS, through the API and through the page in chromium; a study that is not there,
 * or has no CT, is a 502 with the client's message.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DicomWebClient } from '../../src/dicomweb/index.js';
import { startServer, type RunningServer } from '../../src/web/server.js';
import type { WrittenSeries } from '../helpers/synthetic-dicom.js';
import { orthancMissing, startOrthanc, uploadChestStudies, type Orthanc } from '../helpers/orthanc.js';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, needsChromium } from '../helpers/chromium.js';
import { getJson, waitForJob } from '../web/client.js';
import { needsLungModel, startJobServer, type JobServer } from '../web/pipeline-models.js';

const skip = orthancMissing() || needsLungModel();
let dir = '';
let pacs: Orthanc;
let ct: WrittenSeries;
let mr: WrittenSeries;
let jobServer: JobServer;
let server: RunningServer;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'covseg-test-serve-pacs-'));
  pacs = await startOrthanc();
  ({ ct, mr } = await uploadChestStudies(pacs, dir));
  jobServer = await startJobServer({ dicomweb: { source: new DicomWebClient(pacs.dicomweb, { auth: { user: pacs.user, password: pacs.password } }) } });
  server = jobServer.server;
});
after(async () => {
  if (skip) return;
  await jobServer?.close();
  await pacs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const post = <T>(path: string, body?: unknown) =>
  getJson<T & { code?: string; message?: string }>(server.url + path, body === undefined ? { method: 'POST' } : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('serve --dicomweb: the studies listed, one run as a job, its SEG sent to the PACS', { skip }, async () => {
  const list = await getJson<{ server: string; studies: { studyInstanceUid: string; modalities: string[]; patientId?: string }[] }>(`${server.url}/api/dicomweb/studies`);
  assert.equal(list.status, 200);
  assert.equal(list.body.server, pacs.dicomweb);
  const listed = list.body.studies.find((s) => s.studyInstanceUid === ct.studyInstanceUid);
  assert.ok(listed, JSON.stringify(list.body));
  assert.deepEqual(listed.modalities, ['CT']);
  assert.equal(listed.patientId, 'SYN0001');

  const created = await post<{ id: string; inputName: string }>('/api/dicomweb/jobs', { study: ct.studyInstanceUid });
  assert.equal(created.status, 202, created.body.message);
  assert.equal(created.body.inputName, `${pacs.dicomweb}/studies/${ct.studyInstanceUid}/series/${ct.seriesInstanceUid}`);
  const job = await waitForJob(server.url, created.body.id, 120_000);
  assert.equal(job.status, 'done', job.error);
  assert.ok(job.files.some((f) => f.name === 'segmentation.dcm'), job.files.map((f) => f.name).join(', '));
  assert.equal(job.report!.input.path, created.body.inputName, 'the report names the study on the PACS');

  assert.deepEqual((await pacs.seriesOf(ct.studyInstanceUid)).map((s) => s.modality), ['CT'], 'nothing is stored before it is asked for');
  const sent = await post<{ server: string; stored: string[] }>(`/api/jobs/${job.id}/dicomweb`);
  assert.equal(sent.status, 200, sent.body.message);
  assert.deepEqual(sent.body, { server: pacs.dicomweb, stored: ['segmentation.dcm', 'report-sr.dcm'] });
  assert.deepEqual((await pacs.seriesOf(ct.studyInstanceUid)).map((s) => s.modality).sort(), ['CT', 'SEG', 'SR']);
});

test('the page: the PACS row lists the study, runs it into the viewer, and "Send results to PACS" stores the SEG', { skip: skip || needsChromium() }, async () => {
  const segs = async () => (await pacs.seriesOf(ct.studyInstanceUid)).filter((s) => s.modality === 'SEG').length;
  const before = await segs();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    await page.goto(server.url);
    await page.waitForFunction(() => document.body.dataset['state'] === 'ready', null, { timeout: 30_000 });
    assert.equal(await page.isVisible('#pacs-row'), true);
    await page.selectOption('#pacs-study', ct.studyInstanceUid);
    assert.equal(await page.isVisible('#pacs-send-row'), false, 'nothing to send before a job');
    await page.click('#pacs-run');
    await page.waitForFunction(() => ['viewer-ready', 'error'].includes(document.body.dataset['state'] ?? ''), null, { timeout: 120_000 });
    assert.equal(await page.evaluate(() => document.body.dataset['state']), 'viewer-ready', (await page.textContent('#error')) ?? '');
    await page.click('#pacs-send');
    await page.waitForFunction(() => /^stored /.test(document.getElementById('pacs-sent')?.textContent ?? ''), null, { timeout: 30_000 });
    assert.equal(await page.textContent('#pacs-sent'), `stored segmentation.dcm, report-sr.dcm in ${pacs.dicomweb}`);
    assert.equal(await segs(), before + 1);
  } finally {
    await browser.close();
  }
});

test('serve --dicomweb refusals: unknown study and no CT series are 502 with the reason; nothing queued', { skip }, async () => {
  const jobs = server.store.list().length;
  const unknown = await post('/api/dicomweb/jobs', { study: '1.2.3.4.5' });
  assert.equal(unknown.status, 502);
  assert.equal(unknown.body.code, 'dicomweb');
  assert.match(unknown.body.message!, /^no study 1\.2\.3\.4\.5 on DICOMweb server http:\/\/127\.0\.0\.1:\d+\/dicom-web$/);
  const noCt = await post('/api/dicomweb/jobs', { study: mr.studyInstanceUid });
  assert.equal(noCt.status, 502);
  assert.match(noCt.body.message!, /has no CT series; it holds MR 'synthetic chest' \(3 instances\)/);
  const bad = await post('/api/dicomweb/jobs', { study: '../../etc' });
  assert.equal(bad.status, 400, 'a study UID is digits and dots');
  assert.equal(server.store.list().length, jobs, 'the refused jobs are gone');
  assert.equal(server.queue.stats().reserved, 0, 'and their queue places freed');
});

test('serve --dicomweb: a study larger than what is left of the disk budget is a 413, its instances given back', { skip }, async () => {
  // 600 kB: one 512 × 512 slice (524 kB) fits, the second does not.
  const small = await startServer({ port: 0, diskBudgetBytes: 600_000, dicomweb: { source: new DicomWebClient(pacs.dicomweb, { auth: { user: pacs.user, password: pacs.password } }) } });
  try {
    const r = await getJson<{ code: string; message: string }>(`${small.url}/api/dicomweb/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ study: ct.studyInstanceUid }) });
    assert.equal(r.status, 413);
    assert.match(r.body.message, /^study [\d.]+: the next instance \(.+\) is more than the .+ left of the service's disk budget/);
    assert.equal(small.store.list().length, 0);
    assert.equal(small.store.disk.usedBytes, 0, 'the instances written are given back with the job');
  } finally {
    await small.close();
  }
});

test('serve without --dicomweb: no studies and no PACS server listed; the DICOMweb routes say how to configure one', async () => {
  const plain = await startServer({ port: 0 });
  try {
    const list = await getJson(`${plain.url}/api/dicomweb/studies`);
    assert.deepEqual(list.body, { server: null, studies: [] });
    const run = await getJson<{ code: string; message: string }>(`${plain.url}/api/dicomweb/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ study: '1.2.3' }) });
    assert.equal(run.status, 404);
    assert.match(run.body.message, /no DICOMweb server is configured; start covseg serve with --dicomweb URL/);
  } finally {
    await plain.close();
  }
});
