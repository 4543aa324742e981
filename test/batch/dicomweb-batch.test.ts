/**
 * `covseg batch --dicomweb URL --query …` against a real Orthanc: two CT studies made from
 * the real chest slice and one study with only an MR series. Run on this machine: each CT
 * study segmented into its own folder, its DICOM SEG and SR stored back in the study, the MR
 * study a failed row naming why; a rerun skips the done studies and stores nothing again.
 * Then over a real Redis with one worker: the jobs carry the server's URL and user, and
 * no key of Redis holds the password (the worker reads it from its own environment).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { readImage, readDicomHeader } from '../../src/io/index.js';
import { DONE_MARKER, studyCaseName, type BatchSummary } from '../../src/batch/index.js';
import { DEFAULT_LESION_MODEL_PATH } from '../../src/segment/index.js';
import { DEFAULT_LUNG_MODEL_PATH } from '../../src/lungs/default-model.js';
import { orthancMissing, startOrthanc, uploadChestStudies, type Orthanc } from '../helpers/orthanc.js';
import { CLI_MAIN, runCovseg } from '../helpers/run-cli.js';
import { PROJECT_ROOT } from '../helpers/shared-data.js';
import { writeSeriesFromSlice, type WrittenSeries } from '../helpers/synthetic-dicom.js';
import { needsRedis, startRedis, type TestRedis } from './redis-server.js';

const skip = orthancMissing() || (!(existsSync(DEFAULT_LUNG_MODEL_PATH) && existsSync(DEFAULT_LESION_MODEL_PATH)) && 'shipped models missing in models/');

let dir = '';
let pacs: Orthanc;
let ctA: WrittenSeries;
let ctB: WrittenSeries;
let mr: WrittenSeries;
let redis: TestRedis | undefined;
const children: ChildProcess[] = [];

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'covseg-test-batch-dicomweb-'));
  pacs = await startOrthanc();
  ({ ct: ctA, mr } = await uploadChestStudies(pacs, dir));
  // A second CT study: another patient, another day.
  const { volume: slice } = await readImage(resolve(PROJECT_ROOT, 'examples/chest-ct-dicom-slice/chest-ct.dcm'));
  ctB = writeSeriesFromSlice(join(dir, 'ct-b'), slice, { uidRoot: '1.2.826.0.1.3680043.8.498.1603', patientId: 'SYN0002', studyDate: '20200415' });
  for (const f of ctB.files) await pacs.upload(new Uint8Array(await readFile(f)));
});
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) process.kill(c.pid!, 'SIGKILL');
  await redis?.stop();
  if (skip) return;
  await pacs?.stop();
  await rm(dir, { recursive: true, force: true });
});

const auth = () => ({ COVSEG_DICOMWEB_PASSWORD: pacs.password });
const modalities = async (study: string) => (await pacs.seriesOf(study)).map((s) => s.modality).sort();

test('batch --dicomweb --query: one folder per CT study, SEG and SR stored back, the MR study a failed row; a rerun skips the done studies', { skip }, async () => {
  const out = join(dir, 'out');
  const args = ['batch', '--dicomweb', pacs.dicomweb, '--dicomweb-user', pacs.user, '--query', 'StudyDate=20200101-20201231', '--out', out, '--jobs', '1', '--threads', '1'];
  const first = runCovseg(args, auth());
  assert.equal(first.status, 1, first.stderr);
  assert.match(first.stderr, /3 studies on http:\/\/127\.0\.0\.1:\d+\/dicom-web match the query/);
  assert.match(first.stdout, /3 scan\(s\): 2 done, 0 skipped \(done earlier\), 1 failed/);

  const s1 = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as BatchSummary;
  assert.deepEqual(s1.counts, { done: 2, skipped: 0, failed: 1 });
  const row = (uid: string) => s1.cases.find((c) => c.study === uid)!;
  const failed = row(mr.studyInstanceUid);
  assert.equal(failed.status, 'failed');
  assert.match(failed.error!, /has no CT series; it holds MR 'synthetic chest' \(3 instances\)/);
  assert.equal(failed.input, `${pacs.dicomweb}/studies/${mr.studyInstanceUid}`);

  for (const [ct, patient, date] of [[ctA, 'SYN0001', '20200401'], [ctB, 'SYN0002', '20200415']] as const) {
    const c = row(ct.studyInstanceUid);
    assert.equal(c.status, 'done', c.error);
    // Named after the study: PatientID, StudyDate, a hash of the StudyInstanceUID.
    assert.equal(c.name, studyCaseName({ studyInstanceUid: ct.studyInstanceUid, patientId: patient, studyDate: date }));
    assert.match(c.name, new RegExp(`^${patient}_${date}_[0-9a-f]{12}$`));
    const folder = join(out, c.name);
    for (const f of ['report.json', 'report.html', 'segmentation.dcm', 'report-sr.dcm', DONE_MARKER]) await stat(join(folder, f));
    assert.equal((await readDicomHeader(join(folder, 'segmentation.dcm'))).studyInstanceUid, ct.studyInstanceUid);
    assert.equal(typeof c.percentAffected?.total, 'number');
    // The SEG and SR are in the study on the PACS, next to the CT.
    assert.deepEqual(await modalities(ct.studyInstanceUid), ['CT', 'SEG', 'SR']);
  }
  assert.deepEqual(await modalities(mr.studyInstanceUid), ['MR'], 'nothing stored in the study without CT');
  assert.deepEqual((await readdir(out)).filter((e) => e.includes('.tmp-')), []);

  const csv = (await readFile(join(out, 'summary.csv'), 'utf8')).trim().split('\n');
  assert.equal(csv.length, 4);
  assert.match(csv[0]!, /^case,input,study_uid,status,/);
  for (const ct of [ctA, ctB, mr]) assert.equal(csv.filter((l) => l.includes(`,${ct.studyInstanceUid},`)).length, 1, `one row with study_uid ${ct.studyInstanceUid}`);

  // A rerun: the done studies are skipped (nothing stored again), the failed one is tried again.
  const instances = await pacs.instanceCount();
  const second = runCovseg(args, auth());
  assert.equal(second.status, 1, second.stderr);
  const s2 = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as BatchSummary;
  assert.deepEqual(s2.counts, { done: 0, skipped: 2, failed: 1 });
  assert.equal(await pacs.instanceCount(), instances, 'a rerun stores nothing for the done studies');

  // Bad usage, each one line.
  for (const [a, error] of [
    [['--query', 'ModalitiesInStudy'], /--query: 'ModalitiesInStudy' is not KEY=VALUE/],
    [['--dicomweb', 'http://u:secret@127.0.0.1:9/dicom-web'], /--dicomweb: give the password in COVSEG_DICOMWEB_PASSWORD, not in the URL/],
  ] as const) {
    const base = a[0] === '--query' ? ['batch', '--dicomweb', pacs.dicomweb, '--dicomweb-user', pacs.user, ...a] : ['batch', ...a];
    const r = runCovseg([...base, '--out', join(dir, 'unused')], auth());
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, error);
  }
  const none = runCovseg(['batch', '--dicomweb', pacs.dicomweb, '--dicomweb-user', pacs.user, '--query', 'PatientID=NOBODY', '--out', join(dir, 'unused')], auth());
  assert.equal(none.status, 1, none.stderr);
  assert.match(none.stderr, /no study on DICOMweb server http:\/\/127\.0\.0\.1:\d+\/dicom-web matches the query 'PatientID=NOBODY'/);
});

test('batch --dicomweb --redis with one worker: the studies done by the worker with its own credentials, no secret in Redis', { skip: skip || needsRedis() }, async () => {
  redis = await startRedis();
  const out = join(dir, 'out-queue');
  const worker = spawn(process.execPath, [CLI_MAIN, 'worker', '--redis', redis.url, '--jobs', '1', '--threads', '1'], { env: { ...process.env, COVSEG_QUIET: '1', ...auth() }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(worker);
  let log = '';
  worker.stderr!.on('data', (d) => void (log += d));
  const exited = new Promise<number | null>((r) => worker.once('exit', (code) => r(code)));
  const args = ['batch', '--redis', redis.url, '--dicomweb', pacs.dicomweb, '--dicomweb-user', pacs.user, '--query', 'ModalitiesInStudy=CT', '--out', out];
  // Enqueued without waiting, so that the queue's content can be read before the worker ends.
  const r = runCovseg([...args, '--no-wait'], auth());
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /2 studies on .* match the query/);
  const waited = runCovseg(args, auth());
  assert.equal(waited.status, 0, waited.stderr + log);
  const s = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as BatchSummary;
  assert.deepEqual(s.counts, { done: 2, skipped: 0, failed: 0 });
  assert.deepEqual(s.cases.map((c) => c.study).sort(), [ctA.studyInstanceUid, ctB.studyInstanceUid].sort());
  for (const c of s.cases) {
    const marker = JSON.parse(await readFile(join(out, c.name, DONE_MARKER), 'utf8')) as { worker: string };
    assert.ok(marker.worker.endsWith(`:${worker.pid}`), `${c.name} done by the worker (${marker.worker})`);
  }
  // Each CT study now holds a second SEG and SR, from the worker.
  for (const ct of [ctA, ctB]) assert.deepEqual(await modalities(ct.studyInstanceUid), ['CT', 'SEG', 'SEG', 'SR', 'SR']);

  // Every value of every key in Redis: the URL and the user are there, the password is not.
  const conn = new Redis(redis.url);
  try {
    let all = '';
    for (const key of await conn.keys('*')) {
      const type = await conn.type(key);
      const v = type === 'hash' ? await conn.hgetall(key) : type === 'string' ? await conn.get(key) : type === 'list' ? await conn.lrange(key, 0, -1) : type === 'zset' ? await conn.zrange(key, 0, -1) : type === 'set' ? await conn.smembers(key) : type === 'stream' ? await conn.xrange(key, '-', '+') : null;
      all += `${key} ${JSON.stringify(v)}\n`;
    }
    assert.ok(all.includes(pacs.dicomweb.replace(/\//g, '\\/')) || all.includes(pacs.dicomweb), 'the jobs carry the server URL');
    assert.ok(!all.includes(pacs.password), 'no key of Redis holds the password');
  } finally {
    conn.disconnect();
  }
  process.kill(worker.pid!, 'SIGTERM');
  assert.equal(await exited, 0, log);
});
