/**
 * The JSON API against bad input, over real HTTP on loopback: every refusal is a 4xx
 * JSON body with a stable code and a message, nothing is left on disk, and the server
 * keeps serving. These need no models: every request here is refused before a job runs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { startServer, type RunningServer } from '../../src/web/server.js';
import { CONSOLIDATION, GROUND_GLASS, LEFT_LUNG, LESION, RIGHT_LUNG } from '../../src/figures/colors.js';
import { PROJECT_ROOT } from '../helpers/shared-data.js';

const MAX_UPLOAD = 100_000;
let server: RunningServer;
/** What each bad input got, printed at the end as evidence. */
const log: string[] = [];

before(async () => {
  server = await startServer({ port: 0, maxUploadBytes: MAX_UPLOAD, maxZipEntries: 50, maxUnzippedBytes: 1_000_000 });
});
after(async () => {
  console.log(`bad inputs and the answers they got:\n${log.join('\n')}`);
  await server.close();
});

interface Answer { status: number; headers: Headers; body: { statusCode?: number; code?: string; message?: string } & Record<string, unknown> }

async function call(path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(server.url + path, init);
  const text = await response.text();
  let body: Answer['body'];
  try {
    body = JSON.parse(text);
  } catch {
    body = { raw: text.slice(0, 100) };
  }
  return { status: response.status, headers: response.headers, body };
}

function upload(name: string, bytes: Uint8Array | string, query = ''): Promise<Answer> {
  const form = new FormData();
  form.append('file', new Blob([typeof bytes === 'string' ? bytes : new Uint8Array(bytes)]), name);
  return call(`/api/jobs${query}`, { method: 'POST', body: form });
}

/** Raw HTTP, for requests fetch will not send (broken multipart, chunked bodies, forged Host). */
function raw(method: string, path: string, headers: Record<string, string>, body?: string | Uint8Array): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // Options, not a URL string: a URL would be normalised ('..' removed) before sending.
    const req = httpRequest({ hostname: '127.0.0.1', port: server.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode!, headers: new Headers(res.headers as Record<string, string>), body: text ? JSON.parse(text) : {} });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function expectError(what: string, answer: Answer, status: number, code: string, message: RegExp): void {
  log.push(`  ${what.padEnd(44)} → ${answer.status} ${answer.body.code}: ${String(answer.body.message).slice(0, 110)}`);
  assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer.body)}`);
  assert.deepEqual(Object.keys(answer.body).sort(), ['code', 'message', 'statusCode'], what);
  assert.equal(answer.body.statusCode, status, what);
  assert.equal(answer.body.code, code, what);
  assert.match(answer.body.message!, message, what);
}

async function noJobsLeft(): Promise<void> {
  assert.deepEqual(await readdir(server.workDir), [], 'no job folder is left behind');
  assert.equal(server.store.list().length, 0);
  assert.equal(server.queue.stats().reserved, 0, 'every reservation was released');
}

test('health and config answer; config carries the figure colours', async () => {
  const health = await call('/api/health');
  assert.equal(health.status, 200);
  assert.equal(health.body['ok'], true);
  assert.deepEqual(health.body['queue'], { workers: 1, running: 0, queued: 0, reserved: 0, capacity: 5 });
  const config = await call('/api/config');
  assert.deepEqual(config.body['colors'], { rightLung: RIGHT_LUNG, leftLung: LEFT_LUNG, lesion: LESION });
  assert.deepEqual(config.body['lesionTypeColors'], { groundGlass: GROUND_GLASS, consolidation: CONSOLIDATION });
  assert.equal(config.body['maxUploadBytes'], MAX_UPLOAD);
  assert.match(String(config.body['modeText']), /^Mode: local service/);
});

test('the page, its script and the self-hosted NiiVue bundle are served; nothing else from node_modules', async () => {
  const cases: [string, number, RegExp][] = [
    ['/', 200, /text\/html/],
    ['/index.html', 200, /text\/html/],
    ['/style.css', 200, /text\/css/],
    ['/app.js', 200, /javascript/],
    ['/vendor/niivue/index.js', 200, /javascript/],
    ['/vendor/niivue/index.min.js', 404, /json/],
    ['/vendor/niivue/../package.json', 404, /json/],
    ['/vendor/niivue/%2e%2e/package.json', 404, /json/],
    ['/app.ts', 404, /json/],
    ['/server.js', 404, /json/],
  ];
  for (const [path, status, type] of cases) {
    const response = await fetch(server.url + path);
    await response.arrayBuffer();
    assert.equal(response.status, status, path);
    assert.match(response.headers.get('content-type') ?? '', type, path);
  }
  const html = await (await fetch(server.url + '/')).text();
  assert.match(html, /<canvas id="gl">/);
});

test('oversize upload, streamed past the limit: 413, nothing kept', async () => {
  const answer = await upload('big.nii.gz', new Uint8Array(MAX_UPLOAD + 1000).fill(1));
  expectError('oversize (streamed, 101 kB > 100 kB)', answer, 413, 'too-large', /larger than the server's limit of 100000 bytes; restart covseg serve with a larger --max-upload-mb/);
  await noJobsLeft();
});

test('oversize upload, declared by Content-Length: 413 before the body is read', async () => {
  const answer = await upload('huge.nii.gz', new Uint8Array(MAX_UPLOAD + 70 * 1024));
  expectError('oversize (Content-Length 170 kB)', answer, 413, 'too-large', /larger than the server's limit/);
  assert.equal(answer.headers.get('connection'), 'close');
  await noJobsLeft();
});

test('oversize chunked upload without Content-Length: 413', async () => {
  const boundary = 'xYzBoundary';
  const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.nii"\r\nContent-Type: application/octet-stream\r\n\r\n${'x'.repeat(MAX_UPLOAD + 10)}\r\n--${boundary}--\r\n`;
  const answer = await raw('POST', '/api/jobs', { 'content-type': `multipart/form-data; boundary=${boundary}`, 'transfer-encoding': 'chunked' }, body);
  expectError('oversize (chunked, no Content-Length)', answer, 413, 'too-large', /larger than the server's limit/);
  await noJobsLeft();
});

test('wrong type: a text file named scan.nii.gz is sniffed and refused with 415', async () => {
  const answer = await upload('scan.nii.gz', 'this is a text file, not a NIfTI image\n'.repeat(20));
  expectError('text file named scan.nii.gz', answer, 415, 'unsupported-type', /^scan\.nii\.gz: unsupported or unrecognised image format; covseg reads NIfTI/);
  await noJobsLeft();
});

test('not multipart: JSON and plain bodies get 415', async () => {
  const json = await call('/api/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"file":"x"}' });
  expectError('POST /api/jobs with a JSON body', json, 415, 'unsupported-type', /multipart\/form-data with one file field named 'file'/);
  const octets = await call('/api/jobs', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(10) });
  expectError('POST /api/jobs with raw bytes', octets, 415, 'unsupported-type', /this Content-Type is not accepted here: upload scans to \/api\/jobs as multipart\/form-data/);
  await noJobsLeft();
});

test('malformed multipart: cut-off parts and missing boundaries get 400', async () => {
  const b = 'BoUnDaRy';
  const cases: [string, Record<string, string>, string, RegExp][] = [
    ['multipart cut off mid-file', { 'content-type': `multipart/form-data; boundary=${b}` }, `--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.dcm"\r\n\r\nDICM partial`, /the multipart upload is malformed/],
    ['multipart with no boundary parameter', { 'content-type': 'multipart/form-data' }, 'whatever', /the multipart upload is malformed/],
    ['multipart with a garbage body', { 'content-type': `multipart/form-data; boundary=${b}` }, 'no boundary anywhere in here', /the form has no file|malformed/],
    ['multipart with a field but no file', { 'content-type': `multipart/form-data; boundary=${b}` }, `--${b}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n--${b}--\r\n`, /send one file \(field 'file'\) per upload and nothing else in the form/],
    ['multipart with no parts at all', { 'content-type': `multipart/form-data; boundary=${b}` }, `--${b}--\r\n`, /the form has no file; send the scan in a file field named 'file'/],
  ];
  for (const [what, headers, body, message] of cases) {
    expectError(what, await raw('POST', '/api/jobs', headers, body), 400, 'bad-request', message);
  }
  const png = new Uint8Array(await readFile(join(PROJECT_ROOT, 'examples/zenodo20-slices/ct/1316.png')));
  const two = new FormData();
  two.append('file', new Blob([png]), 'a.png');
  two.append('file', new Blob([png]), 'b.png');
  expectError('two files in one upload', await call('/api/jobs', { method: 'POST', body: two }), 400, 'bad-request', /send one file \(field 'file'\) per upload/);
  const extra = new FormData();
  extra.append('file', new Blob([png]), 'a.png');
  extra.append('force', '1');
  expectError('a file and a form field', await call('/api/jobs', { method: 'POST', body: extra }), 400, 'bad-request', /send one file \(field 'file'\) per upload/);
  await noJobsLeft();
});

test('a client that drops the connection mid-upload leaves nothing behind', async () => {
  const boundary = 'AbOrT';
  await new Promise<void>((resolve) => {
    const req = httpRequest({ hostname: '127.0.0.1', port: server.port, path: '/api/jobs', method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': '50000' } });
    req.on('error', () => resolve());
    req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.nii"\r\n\r\n${'x'.repeat(20_000)}`);
    // Drop the connection only once the server holds a job for it: a fixed delay would let a
    // slow machine check for leftovers before the upload had even arrived.
    void (async () => {
      while (server.store.list().length === 0) await new Promise((r) => setTimeout(r, 5));
      req.destroy();
      resolve();
    })();
  });
  // The server notices the drop asynchronously: wait for everything noJobsLeft asserts (the
  // reservation, the job and its folder, removed last) rather than for part of it.
  const deadline = Date.now() + 30_000;
  const settled = async () => server.queue.stats().reserved === 0 && server.store.list().length === 0 && (await readdir(server.workDir)).length === 0;
  while (!(await settled()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await noJobsLeft();
  log.push(`  ${'connection dropped mid-upload'.padEnd(44)} → (no answer possible) reservation released, job folder removed`);
});

test('archives: zip-slip, symlink and zip bomb are refused, nothing is written outside', async () => {
  const slip = await upload('series.zip', zipSync({ 'ok/IM1': new Uint8Array(10), '../../../../tmp/covseg-evil.sh': new TextEncoder().encode('#!/bin/sh') }));
  expectError("zip-slip ('../../../../tmp/covseg-evil.sh')", slip, 400, 'unsafe-archive', /^series\.zip: entry '\.\.\/\.\.\/\.\.\/\.\.\/tmp\/covseg-evil\.sh' climbs out of the archive/);
  const link = await upload('series.zip', zipSync({ 'IM1': [new TextEncoder().encode('/etc/passwd'), { os: 3, attrs: 0o120777 << 16 }] }));
  expectError('zip holding a symlink', link, 400, 'unsafe-archive', /'IM1' is a symbolic link/);
  const bomb = await upload('series.zip', zipSync({ 'IM1': [new Uint8Array(5_000_000), { level: 9 }] }));
  expectError('zip bomb (5 MB of zeros in 5 kB)', bomb, 413, 'too-large', /inflate to more than 1000000 bytes/);
  const many = await upload('series.zip', zipSync(Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`IM${i}`, new Uint8Array(1)]))));
  expectError('zip with 51 entries (limit 50)', many, 413, 'too-large', /51 entries, more than the server's limit of 50/);
  // Names no file system takes, or a file where a folder must go: bad uploads (400), not a server error.
  const longName = await upload('series.zip', zipSync({ [`${'x'.repeat(300)}.dcm`]: new Uint8Array(10) }));
  expectError('zip entry name of 304 bytes', longName, 400, 'unsafe-archive', /^series\.zip: entry 'x{57}…' has a name part of 304 bytes, more than the 255/);
  const deep = await upload('series.zip', zipSync({ [Array.from({ length: 40 }, () => 'd').join('/') + '/IM1']: new Uint8Array(10) }));
  expectError('zip entry 40 folders deep', deep, 400, 'unsafe-archive', /is nested 40 folders deep, more than the 32 allowed/);
  const clash = await upload('series.zip', zipSync({ 'a': new Uint8Array(10), 'a/b.dcm': new Uint8Array(10) }));
  expectError("zip with a file 'a' beside 'a/b.dcm'", clash, 400, 'unsafe-archive', /entry 'a' is a file, and other entries are inside a folder of that name/);
  const empty = await upload('series.zip', zipSync({ 'notes.txt': new TextEncoder().encode('no images') }));
  expectError('zip without any image', empty, 415, 'unsupported-type', /no DICOM slice/);
  await noJobsLeft();
});

test('unknown jobs, forged ids and traversal in download names: 404 or 409, never a file', async () => {
  const unknown = '0123456789abcdef0123456789abcdef';
  expectError('unknown job id', await call(`/api/jobs/${unknown}`), 404, 'not-found', /no job '0123456789abcdef0123456789abcdef'/);
  expectError('malformed job id', await call('/api/jobs/not-an-id'), 404, 'not-found', /no job 'not-an-id'/);
  expectError('DELETE unknown job', await call(`/api/jobs/${unknown}`, { method: 'DELETE' }), 404, 'not-found', /no job/);
  expectError('file of an unknown job', await call(`/api/jobs/${unknown}/files/report.json`), 404, 'not-found', /no job/);
  expectError('encoded traversal as job id', await call('/api/jobs/..%2F..%2Fetc/files/passwd'), 404, 'not-found', /no job '\.\.\/\.\.\/etc'/);
  // Unnormalised '..' paths reach the static file plugin, which refuses them.
  expectError('traversal in the URL path', await raw('GET', '/api/jobs/../../../etc/passwd', {}), 403, 'forbidden', /the path climbs out of its folder with '\.\.'/);
  expectError('traversal out of the page folder', await raw('GET', '/../../package.json', {}), 403, 'forbidden', /the path climbs out of its folder with '\.\.'/);
  expectError('traversal out of the NiiVue folder', await raw('GET', '/vendor/niivue/../../package.json', {}), 403, 'forbidden', /the path climbs out of its folder with '\.\.'/);
  // A job that exists but has not finished: its (nonexistent) outputs are not served, whatever the name.
  const job = await server.store.create('x.dcm');
  try {
    for (const name of ['..%2F..%2F..%2Fetc%2Fpasswd', '%2Fetc%2Fpasswd', 'upload', 'report.json']) {
      expectError(`download '${decodeURIComponent(name)}' of a queued job`, await call(`/api/jobs/${job.id}/files/${name}`), 409, 'not-ready', /is queued; its files exist once it is done/);
    }
  } finally {
    await server.store.remove(job.id);
  }
});

test('over-long job ids and page paths are a 404, not a traversal 403', async () => {
  const long = 'a'.repeat(5000);
  expectError('5000-character job id', await call(`/api/jobs/${long}`), 404, 'not-found', /^no job 'a{64}': the id is wrong/);
  expectError('DELETE a 5000-character job id', await call(`/api/jobs/${long}`, { method: 'DELETE' }), 404, 'not-found', /^no job 'a{64}'/);
  expectError('file of a 5000-character job id', await call(`/api/jobs/${long}/files/report.json`), 404, 'not-found', /^no job 'a{64}'/);
  expectError('5000-character file name', await call(`/api/jobs/0123456789abcdef0123456789abcdef/files/${long}`), 404, 'not-found', /^no job '0123456789abcdef0123456789abcdef'/);
  expectError('5000-character page path', await call(`/${long}.html`), 404, 'not-found', /^no route GET \/a{100}/);
  await noJobsLeft();
});

test('bad query values, unknown routes and forged Host headers', async () => {
  expectError('force=maybe', await upload('a.png', new Uint8Array(10), '?force=maybe'), 400, 'bad-request', /force=maybe: use force=1 or force=0/);
  expectError('unknown route', await call('/api/nothing'), 404, 'not-found', /no route GET \/api\/nothing/);
  expectError('Host: evil.example (DNS rebinding)', await raw('GET', '/api/health', { host: 'evil.example:80' }), 403, 'forbidden', /Host 'evil\.example' is not this computer/);
  expectError('POST from another site (Origin)', await raw('POST', '/api/samples/jobs', { origin: 'https://evil.example', 'content-type': 'application/json' }, '{"name":"chest-ct-dicom-slice"}'), 403, 'forbidden', /cross-site request from 'https:\/\/evil\.example' refused/);
  expectError('DELETE from another site (Origin)', await raw('DELETE', '/api/jobs/0123456789abcdef0123456789abcdef', { origin: `http://localhost:${server.port + 1}` }), 403, 'forbidden', /cross-site request/);
  expectError('POST with Origin: null (sandboxed page)', await raw('POST', '/api/samples/jobs', { origin: 'null', 'content-type': 'application/json' }, '{}'), 403, 'forbidden', /cross-site request from 'null'/);
  const ok = await raw('GET', '/api/health', { host: `localhost:${server.port}` });
  assert.equal(ok.status, 200);
  await noJobsLeft();
});

test('samples: listed from examples/; unknown or forged names are a 404, extra fields a 400', async () => {
  const list = await call('/api/samples');
  const names = (list.body['samples'] as { name: string }[]).map((s) => s.name);
  assert.ok(names.includes('chest-ct-dicom-slice'), names.join());
  assert.ok(names.includes('zenodo20-slices/ct/1316.png'), names.join());
  assert.ok(!names.some((n) => n.includes('covid/') || n.includes('lungs/')), 'masks are not cases');
  assert.equal(list.body['default'], 'chest-ct-dicom-slice');
  const post = (body: unknown) => call('/api/samples/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expectError('sample ../../package.json', await post({ name: '../../package.json' }), 404, 'not-found', /no sample case '\.\.\/\.\.\/package\.json'; the samples are: chest-ct-dicom-slice, /);
  expectError('sample with an extra field', await post({ name: 'chest-ct-dicom-slice', path: '/etc/passwd' }), 400, 'bad-request', /must NOT have additional properties/);
  expectError('sample without a name', await post({}), 400, 'bad-request', /must have required property 'name'/);
  expectError('sample body that is not JSON', await call('/api/samples/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' }), 400, 'bad-request', /JSON/);
  await noJobsLeft();
});

test('after every refusal the server still serves', async () => {
  const health = await call('/api/health');
  assert.equal(health.status, 200);
  const page = await fetch(server.url + '/');
  assert.equal(page.status, 200);
  assert.ok((await readFile(join(PROJECT_ROOT, 'src/web/page/index.html'), 'utf8')).length > 0);
  await page.arrayBuffer();
});
