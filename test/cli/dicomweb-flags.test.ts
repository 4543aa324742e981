/** The DICOMweb flags segment and serve share: which credentials go where, and what is refused. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { dicomWebClients } from '../../src/cli/dicomweb-flags.js';

const flags = (over: Partial<Parameters<typeof dicomWebClients>[0]> = {}) => ({ dicomweb: undefined, 'dicomweb-out': undefined, 'dicomweb-user': undefined, 'dicomweb-timeout': 60, ...over });

test('dicomweb flags: basic from --dicomweb-user + COVSEG_DICOMWEB_PASSWORD, bearer from COVSEG_DICOMWEB_TOKEN, the same for --dicomweb-out', async () => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.url} ${req.headers.authorization ?? '-'}`);
    res.writeHead(200, { 'Content-Type': 'application/dicom+json' });
    res.end('[]');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const basic = dicomWebClients(flags({ dicomweb: `${base}/a`, 'dicomweb-out': `${base}/b`, 'dicomweb-user': 'ann' }), { COVSEG_DICOMWEB_PASSWORD: 'pw' })!;
    await basic.source.searchStudies();
    await basic.target!.searchStudies();
    const bearer = dicomWebClients(flags({ dicomweb: `${base}/c` }), { COVSEG_DICOMWEB_TOKEN: 'tok' })!;
    assert.equal(bearer.target, undefined, 'results go back to the source');
    await bearer.source.searchStudies();
    const none = dicomWebClients(flags({ dicomweb: `${base}/d` }), {})!;
    await none.source.searchStudies();
    const b64 = Buffer.from('ann:pw').toString('base64');
    assert.deepEqual(seen, [`/a/studies Basic ${b64}`, `/b/studies Basic ${b64}`, '/c/studies Bearer tok', '/d/studies -']);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('dicomweb flags: refusals are usage errors', () => {
  assert.equal(dicomWebClients(flags(), {}), undefined);
  assert.throws(() => dicomWebClients(flags({ 'dicomweb-out': 'http://x/' }), {}), /--dicomweb-out needs --dicomweb URL/);
  assert.throws(() => dicomWebClients(flags({ dicomweb: 'http://x/' }), { COVSEG_DICOMWEB_PASSWORD: 'pw' }), /COVSEG_DICOMWEB_PASSWORD is set but --dicomweb-user is not/);
  assert.throws(() => dicomWebClients(flags({ dicomweb: 'http://x/', 'dicomweb-user': 'a' }), { COVSEG_DICOMWEB_TOKEN: 't' }), /a bearer token or a user and password for DICOMweb, not both/);
  assert.throws(() => dicomWebClients(flags({ dicomweb: 'pacs:8042' }), {}), /a DICOMweb URL is http:\/\/ or https:\/\//);
  assert.throws(() => dicomWebClients(flags({ dicomweb: 'not a url' }), {}), /not a URL: not a url/);
});
