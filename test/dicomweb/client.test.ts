/**
 * The DICOMweb client's refusals that a well-behaved Orthanc never shows, against a small
 * in-process server: a series that changes between its metadata and its retrieve, a part
 * larger than the series' metadata allows, a STOW-RS answer with a FailedSOPSequence, a
 * server that goes silent. Also: credentials in the URL become basic authentication, and
 * https:// goes through fetch's TLS (a self-signed server refused, trusted with NODE_EXTRA_CA_CERTS).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../helpers/shared-data.js';
import { freePort } from '../helpers/orthanc.js';
import { DicomWebClient, fetchCtSeries, isTransientDicomWebError, parseStudyQuery, queryStudies, TAG, type DicomJson } from '../../src/dicomweb/index.js';
import { writeSyntheticCtSeries, type WrittenSeries } from '../helpers/synthetic-dicom.js';

let dir = '';
let series: WrittenSeries;
let server: Server;
let base = '';
/** What the fake server does for the current test. */
let handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void = () => {};
const dims: [number, number, number] = [16, 12, 3];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'covseg-dicomweb-client-'));
  const hu = Float32Array.from({ length: dims[0] * dims[1] * dims[2] }, (_, i) => (i % 300) - 1000);
  series = writeSyntheticCtSeries(join(dir, 'ct'), { dims, spacingMm: [1, 1, 2], origin: [0, 0, 0], hu });
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/dicom-web`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const v = (vr: string, ...Value: unknown[]) => ({ vr, Value });
const study = () => ({ [TAG.studyInstanceUid]: v('UI', series.studyInstanceUid) });
/** The metadata of instance z of the synthetic series. */
const metadata = (z: number): DicomJson => ({
  ...study(),
  [TAG.seriesInstanceUid]: v('UI', series.seriesInstanceUid),
  [TAG.sopInstanceUid]: v('UI', series.sopInstanceUids[z]!),
  [TAG.modality]: v('CS', 'CT'),
  [TAG.imageType]: v('CS', 'ORIGINAL', 'PRIMARY', 'AXIAL'),
  [TAG.rows]: v('US', dims[1]),
  [TAG.columns]: v('US', dims[0]),
  [TAG.bitsAllocated]: v('US', 16),
  [TAG.pixelSpacing]: v('DS', 1, 1),
  [TAG.imageOrientationPatient]: v('DS', 1, 0, 0, 0, 1, 0),
  [TAG.imagePositionPatient]: v('DS', 0, 0, 2 * z),
  [TAG.instanceNumber]: v('IS', z + 1),
});

/** A DICOMweb server over the synthetic series whose WADO-RS retrieve sends `parts`. */
function fakePacs(parts: () => Buffer[]) {
  handler = (req, res) => {
    const url = new URL(req.url!, 'http://x');
    const json = (body: unknown) => { res.writeHead(200, { 'Content-Type': 'application/dicom+json' }); res.end(JSON.stringify(body)); };
    if (url.pathname.endsWith('/studies')) return json([study()]);
    if (url.pathname.endsWith('/series')) return json([{ ...study(), [TAG.seriesInstanceUid]: v('UI', series.seriesInstanceUid), [TAG.modality]: v('CS', 'CT') }]);
    if (url.pathname.endsWith('/metadata')) return json([0, 1, 2].map(metadata));
    const b = 'b0undary';
    res.writeHead(200, { 'Content-Type': `multipart/related; type="application/dicom"; boundary=${b}` });
    for (const p of parts()) res.write(Buffer.concat([Buffer.from(`--${b}\r\nContent-Type: application/dicom\r\n\r\n`), p, Buffer.from('\r\n')]));
    res.end(`--${b}--\r\n`);
  };
}

function emptyDir(name: string): string {
  const d = join(dir, name);
  mkdirSync(d);
  return d;
}

test('a series whose instances change between metadata and retrieve is refused, whatever changed', async () => {
  const files = series.files.map((f) => readFileSync(f));
  const client = new DicomWebClient(base);
  fakePacs(() => files);
  const ok = await fetchCtSeries(client, series.studyInstanceUid, emptyDir('ok'));
  assert.equal(ok.files.length, 3);
  assert.equal(ok.seriesInstanceUid, series.seriesInstanceUid);

  fakePacs(() => files.slice(0, 2));
  await assert.rejects(fetchCtSeries(client, series.studyInstanceUid, emptyDir('fewer')), /series [\d.]+ changed while it was read \(its metadata listed 3 instances, the retrieve sent 2: 1 listed not sent, 0 sent not listed\); nothing was segmented/);
  fakePacs(() => [files[0]!, files[1]!, files[1]!]);
  await assert.rejects(fetchCtSeries(client, series.studyInstanceUid, emptyDir('twice')), /changed while it was read \(its metadata listed 3 instances, the retrieve sent 3: 1 listed not sent, 0 sent not listed\)/);
  fakePacs(() => [...files, files[0]!]);
  await assert.rejects(fetchCtSeries(client, series.studyInstanceUid, emptyDir('more')), /changed while it was read \(the server sent more than the 3 instance\(s\) its metadata listed\)/);
});

test('a retrieve larger than the series metadata allows is cut off with a clear error', async () => {
  const huge = Buffer.alloc(dims[0] * dims[1] * 2 + 1024 * 1024 + 1);
  fakePacs(() => [huge]);
  await assert.rejects(fetchCtSeries(new DicomWebClient(base), series.studyInstanceUid, emptyDir('huge')), /sent an instance of more than 1 MiB \(the series' rows × columns allow\) while retrieving series/);
  await assert.rejects(fetchCtSeries(new DicomWebClient(base), series.studyInstanceUid, emptyDir('capped'), { maxVoxels: 100 }), /16 × 12 × 3 = 576 voxels is more than the limit of 100 \(--max-voxels\)/);
  assert.deepEqual(readdirSync(join(dir, 'capped')), [], 'refused from the metadata, before any pixel');
});

test('STOW-RS: a FailedSOPSequence or an unconfirmed instance names what was and was not stored', async () => {
  const items = series.files.slice(0, 2).map((f, i) => ({ name: `out${i}.dcm`, bytes: readFileSync(f), sopInstanceUid: series.sopInstanceUids[i]! }));
  let received = '';
  const answer = (status: number, body: DicomJson) => {
    handler = (req, res, bodyIn) => {
      received = `${req.method} ${req.url} ${req.headers['content-type']} ${bodyIn.length}`;
      res.writeHead(status, { 'Content-Type': 'application/dicom+json' });
      res.end(JSON.stringify(body));
    };
  };
  const ref = (uid: string) => ({ [TAG.referencedSopInstanceUid]: v('UI', uid) });
  const client = new DicomWebClient(base);
  answer(200, { [TAG.referencedSopSequence]: v('SQ', ref(items[0]!.sopInstanceUid), ref(items[1]!.sopInstanceUid)) });
  assert.deepEqual((await client.store(items)).stored, items.map((i) => i.sopInstanceUid));
  assert.match(received, /^POST \/dicom-web\/studies multipart\/related; type="application\/dicom"; boundary=covseg-[\w-]+ \d+$/);

  answer(202, { [TAG.referencedSopSequence]: v('SQ', ref(items[0]!.sopInstanceUid)), [TAG.failedSopSequence]: v('SQ', { ...ref(items[1]!.sopInstanceUid), [TAG.failureReason]: v('US', 0xa700) }) });
  await assert.rejects(client.store(items), /did not store 1 of 2 instance\(s\): out1\.dcm \(failure reason 0xA700\); stored: out0\.dcm$/);
  answer(200, {});
  await assert.rejects(client.store(items), /did not store 2 of 2 instance\(s\): out0\.dcm \(not confirmed\), out1\.dcm \(not confirmed\); stored: none/);
});

test('a server that goes silent is aborted after the timeout; user:password@ in the URL is basic authentication', async () => {
  let authorization: string | undefined;
  handler = (req, res) => {
    authorization = req.headers.authorization;
    res.writeHead(200, { 'Content-Type': 'application/dicom+json' });
    res.write('[');
    // ... and nothing more.
  };
  const client = new DicomWebClient(base.replace('http://', 'http://ann:s%3Acret@'), { timeoutMs: 300 });
  assert.equal(client.url, base, 'no credentials in the URL it shows');
  await assert.rejects(client.searchStudies(), /^CovsegError: DICOMweb server http:\/\/127\.0\.0\.1:\d+\/dicom-web sent nothing for 0\.3 s while searching studies \(--dicomweb-timeout\)$/);
  // Silence, an unreachable server and 503 are worth a retry (a queue's); 404 and 401 are not.
  const failure = async (c: DicomWebClient) => c.searchStudies().then(() => assert.fail('no error'), (e: unknown) => e);
  assert.equal(isTransientDicomWebError(await failure(client)), true, 'silent');
  assert.equal(isTransientDicomWebError(await failure(new DicomWebClient(`http://127.0.0.1:${await freePort()}/dicom-web`))), true, 'unreachable');
  for (const [status, transient] of [[503, true], [404, false], [401, false]] as const) {
    handler = (_req, res) => void res.writeHead(status).end();
    assert.equal(isTransientDicomWebError(await failure(new DicomWebClient(base))), transient, String(status));
  }
  assert.equal(authorization, `Basic ${Buffer.from('ann:s:cret').toString('base64')}`);
  assert.throws(() => new DicomWebClient('ftp://pacs/dicom-web'), /a DICOMweb URL is http:\/\/ or https:\/\//);
  assert.throws(() => new DicomWebClient(base, { auth: { user: 'a', token: 't' } }), /not both/);
});

const openssl = spawnSync('openssl', ['version']).status === 0 ? false : 'openssl not installed (makes the test certificate)';

test('https:// works through fetch: a self-signed server is refused with the reason, trusted with NODE_EXTRA_CA_CERTS', { skip: openssl }, async () => {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const tls = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => handler(req, res, Buffer.alloc(0)));
  await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
  try {
    const url = `https://127.0.0.1:${(tls.address() as { port: number }).port}/dicom-web`;
    fakePacs(() => []);
    await assert.rejects(new DicomWebClient(url).searchStudies(), /cannot reach DICOMweb server https:\/\/127\.0\.0\.1:\d+\/dicom-web: TLS certificate not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\); give the hospital's CA with NODE_EXTRA_CA_CERTS=ca\.pem/);
    const index = resolve(PROJECT_ROOT, 'dist/src/dicomweb/index.js');
    const script = `const { DicomWebClient } = await import(${JSON.stringify(index)}); process.stdout.write(JSON.stringify(await new DicomWebClient(${JSON.stringify(url)}).searchStudies()));`;
    assert.ok(existsSync(index));
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: cert } });
    assert.deepEqual(JSON.parse(stdout), [study()]);
  } finally {
    tls.closeAllConnections();
    await new Promise((r) => tls.close(r));
  }
});

test('queryStudies: the query passed as QIDO-RS defines it, read in pages of limit/offset, each study once; a server that ignores offset ends the paging', async () => {
  const all = Array.from({ length: 450 }, (_, i) => ({ [TAG.studyInstanceUid]: v('UI', `1.2.3.${i}`), [TAG.patientId]: v('LO', `P${i}`) }));
  const asked: URLSearchParams[] = [];
  let honourOffset = true;
  handler = (req, res) => {
    const q = new URL(req.url!, 'http://x').searchParams;
    asked.push(q);
    const offset = honourOffset ? Number(q.get('offset') ?? 0) : 0;
    res.writeHead(200, { 'Content-Type': 'application/dicom+json' });
    res.end(JSON.stringify(all.slice(offset, offset + Number(q.get('limit') ?? all.length))));
  };
  const client = new DicomWebClient(base);
  const query = parseStudyQuery('ModalitiesInStudy=CT&StudyDate=20200101-20201231&PatientName=DOE%5EJ*');
  assert.deepEqual(query, [['ModalitiesInStudy', 'CT'], ['StudyDate', '20200101-20201231'], ['PatientName', 'DOE^J*']]);
  const found = await queryStudies(client, query);
  assert.equal(found.length, 450);
  assert.equal(new Set(found.map((s) => s.studyInstanceUid)).size, 450);
  assert.equal(found[449]!.patientId, 'P449');
  assert.deepEqual(asked.map((q) => [q.get('limit'), q.get('offset')]), [['200', '0'], ['200', '200'], ['200', '400']]);
  for (const q of asked) {
    assert.equal(q.get('ModalitiesInStudy'), 'CT');
    assert.equal(q.get('StudyDate'), '20200101-20201231');
    assert.equal(q.get('PatientName'), 'DOE^J*');
  }
  // The query's own limit: one request, as asked.
  asked.length = 0;
  assert.equal((await queryStudies(client, parseStudyQuery('limit=5'))).length, 5);
  assert.deepEqual(asked.map((q) => [q.get('limit'), q.get('offset')]), [['5', null]]);
  // A server that ignores offset answers the first page again: no new study, the paging stops.
  asked.length = 0;
  honourOffset = false;
  assert.equal((await queryStudies(client, [])).length, 200);
  assert.equal(asked.length, 2);
  assert.throws(() => parseStudyQuery('StudyDate'), /--query: 'StudyDate' is not KEY=VALUE/);
  handler = (_req, res) => void res.writeHead(200, { 'Content-Type': 'application/dicom+json' }).end('[]');
  await assert.rejects(queryStudies(client, parseStudyQuery('PatientID=X')), /no study on DICOMweb server http:\/\/127\.0\.0\.1:\d+\/dicom-web matches the query 'PatientID=X'/);
});
