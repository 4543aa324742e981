/**
 * Real jobs through covseg serve: a bundled example segmented by a worker process, its
 * outputs downloaded (and nothing else), pipeline errors reported in the web's terms,
 * files removed after the TTL.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { zipSync } from 'fflate';
import { join } from 'node:path';
import type { RunningServer } from '../../src/web/server.js';
import { writeVolume } from '../../src/io/index.js';
import { createVolume } from '../../src/volume/volume.js';
import { PROJECT_ROOT, needsShared, sharedPath } from '../helpers/shared-data.js';
import { getJson, uploadPath, waitForJob } from './client.js';
import { needsLungModel, startJobServer, type JobServer } from './pipeline-models.js';

const PNG = join(PROJECT_ROOT, 'examples/zenodo20-slices/ct/1316.png');
const skip = needsLungModel();
let jobServer: JobServer;
let server: RunningServer;
let scratch: string;

before(async () => {
  if (skip) return;
  jobServer = await startJobServer({ jobTtlMs: 1500 });
  ({ server, scratch } = jobServer);
});
after(async () => {
  await jobServer?.close();
});

test('a PNG slice runs to done; every output downloads with its size and type; report.json is the job\'s report', { skip }, async () => {
  const created = await uploadPath(server.url, PNG, 'slice 1316.png');
  assert.equal(created.status, 202);
  assert.match(created.body.id, /^[0-9a-f]{32}$/);
  assert.equal(created.body.inputName, 'slice 1316.png');
  const job = await waitForJob(server.url, created.body.id);
  assert.equal(job.status, 'done', job.error);
  assert.equal(job.progress, 1);
  assert.ok(job.expiresAt && Date.parse(job.expiresAt) === Date.parse(job.finishedAt!) + 1500);
  const kinds = job.files.map((f) => f.kind).sort();
  for (const kind of ['ct', 'lungs', 'lesions', 'lungs-png', 'lesions-png', 'report-json', 'report-html', 'overlay']) assert.ok(kinds.includes(kind as never), `${kind} in ${kinds}`);
  const types: Record<string, RegExp> = { '.gz': /application\/gzip/, '.json': /application\/json/, '.html': /text\/html/, '.png': /image\/png/ };
  for (const file of job.files) {
    const response = await fetch(server.url + file.url);
    const bytes = new Uint8Array(await response.arrayBuffer());
    assert.equal(response.status, 200, file.name);
    assert.equal(bytes.length, file.bytes, file.name);
    assert.match(response.headers.get('content-type')!, types[file.name.slice(file.name.lastIndexOf('.'))]!, file.name);
    assert.match(response.headers.get('content-security-policy')!, /default-src 'none'/, file.name);
  }
  const report = await getJson(server.url + job.files.find((f) => f.kind === 'report-json')!.url);
  assert.deepEqual(report.body, job.report);
  assert.equal(job.report!.input.path, 'slice 1316.png', 'the report names the uploaded file, not the server copy');
});

test('a zip of a real 20-slice DICOM series runs as one volume', { skip: skip || needsShared('small-ct-volume/example_ct_dicom') }, async () => {
  const dir = sharedPath('small-ct-volume/example_ct_dicom');
  const entries: Record<string, Uint8Array> = {};
  for (const name of await readdir(dir)) entries[`series/${name}`] = new Uint8Array(await readFile(join(dir, name)));
  const zip = join(scratch, 'series.zip');
  await writeFile(zip, zipSync(entries, { level: 6 }));
  const created = await uploadPath(server.url, zip, 'series.zip');
  assert.equal(created.status, 202, created.body.message);
  const job = await waitForJob(server.url, created.body.id);
  assert.equal(job.status, 'done', job.error);
  assert.equal(job.report!.input.format, 'dicom');
  assert.equal(job.report!.input.dims[2], 20);
  assert.deepEqual(job.files.filter((f) => ['ct', 'lungs', 'lesions'].includes(f.kind)).map((f) => f.name), ['ct.nii.gz', 'lungs.nii.gz', 'lesions.nii.gz']);
});

test('download names that are not the job\'s outputs get 404 on a finished job, traversal included', { skip }, async () => {
  const created = await uploadPath(server.url, PNG);
  const job = await waitForJob(server.url, created.body.id);
  assert.equal(job.status, 'done', job.error);
  // ('.' and '..' as whole segments never arrive: clients resolve them before sending.)
  const names = ['upload', 'input.png', '..%2Finput.png', '..%2F..%2F' + job.id + '%2Finput.png', '%2Fetc%2Fpasswd', 'out', '...', 'report.json%00.png', 'REPORT.JSON', 'report.json%2F', 'out%2Freport.json'];
  for (const name of names) {
    const answer = await getJson<{ code: string; message: string }>(`${server.url}/api/jobs/${job.id}/files/${name}`);
    assert.equal(answer.status, 404, name);
    assert.equal(answer.body.code, 'not-found', name);
    assert.match(answer.body.message, new RegExp(`job ${job.id} has no file .*; its files are: ct\\.nii\\.gz, `), name);
  }
});

test('the pipeline\'s refusal is the job\'s error, naming the uploaded file and force=1 (the page\'s checkbox), without the server\'s paths', { skip }, async () => {
  // 64×64 of 0–255 values: a NIfTI that is not in Hounsfield units.
  const path = join(scratch, 'not-hu.nii.gz');
  await writeVolume(path, createVolume(new Int16Array(64 * 64).map((_, i) => i % 256), [64, 64, 1], { spacingMm: [1, 1, 1] }));
  const created = await uploadPath(server.url, path, 'not-hu.nii.gz');
  const job = await waitForJob(server.url, created.body.id);
  assert.equal(job.status, 'failed');
  assert.match(job.error!, /^not-hu\.nii\.gz: the values are not Hounsfield units .*; upload it again with force=1 \(on the page: tick 'segment even if the input checks fail'\) to segment it anyway$/);
  assert.ok(!job.error!.includes(server.workDir), job.error);
  assert.deepEqual(job.files, []);
});

test('finished jobs expire: after the 1.5 s TTL the job is unknown and its folder is gone', { skip }, async () => {
  const created = await uploadPath(server.url, PNG);
  const job = await waitForJob(server.url, created.body.id);
  const dir = join(server.workDir, job.id);
  assert.ok(existsSync(dir));
  const deadline = Date.parse(job.expiresAt!) + 20_000; // generous: a loaded machine sweeps late
  while (existsSync(dir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(existsSync(dir), false, 'folder removed');
  assert.ok(Date.now() >= Date.parse(job.expiresAt!), 'not before its expiry');
  const gone = await getJson<{ code: string }>(`${server.url}/api/jobs/${job.id}`);
  assert.equal(gone.status, 404);
  assert.equal(gone.body.code, 'not-found');
});
