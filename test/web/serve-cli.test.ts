/** `covseg serve` as a process: it prints its URL, serves, and on SIGINT stops and removes its files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../helpers/shared-data.js';

const CLI = join(PROJECT_ROOT, 'dist/src/cli/main.js');

test('serve --port 0: prints the URL and work folder, answers, stops cleanly on SIGINT', async () => {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--job-ttl-min', '5', '--max-queued', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const banner = await new Promise<RegExpMatchArray>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = stderr.match(/open (http:\/\/127\.0\.0\.1:\d+)\n.*results kept 5 min in (\S+)\n/);
      if (m) resolve(m);
    });
    child.on('exit', (code) => reject(new Error(`serve exited early (${code}): ${stderr}`)));
  });
  const [, url, workDir] = banner;
  assert.match(stderr, /1 worker\(s\), up to 2 queued job\(s\), uploads up to 1024 MB/);
  const health = await (await fetch(`${url}/api/health`)).json() as { queue: { capacity: number } };
  assert.equal(health.queue.capacity, 3);
  assert.ok(existsSync(workDir!));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  assert.equal(await exit, 0);
  assert.match(stderr, /stopping \(removing job files\)/);
  assert.equal(existsSync(workDir!), false, 'the temp work folder is removed');
});

test('serve: bad usage exits 2 with the reason', () => {
  const cases: [string[], RegExp][] = [
    [['--workers', '3'], /--workers: invalid value '3'/],
    [['--port', '70000'], /--port: invalid value '70000'/],
    [['--max-upload-mb', '0'], /--max-upload-mb: invalid value '0'/],
    [['--disk-budget-mb', '0'], /--disk-budget-mb: invalid value '0'/],
    [['--upload-timeout-min', '0'], /--upload-timeout-min: invalid value '0'/],
    [['--min-upload-kbps=-1'], /--min-upload-kbps: invalid value '-1'/],
    [['--lung-model', 'r231'], /--lung-model r231 needs --lung-weights/],
    [['--lung-model', 'big'], /--lung-model: 'big' is not one of default, r231/],
    [['scan.nii.gz'], /serve takes no INPUT \(got 'scan\.nii\.gz'\); upload scans on the page/],
    [['--bogus'], /Unknown option '--bogus'/],
  ];
  for (const [args, message] of cases) {
    const r = spawnSync(process.execPath, [CLI, 'serve', ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
});

test('serve: a port in use or a foreign address exits 1 with the reason, leaving no temp folder', async () => {
  // A private TMPDIR for the spawned servers: other tests (or other runs) making covseg-serve-*
  // folders in the shared temp folder at the same time must not change what is counted here.
  const privateTmp = await mkdtemp(join(tmpdir(), 'covseg-serve-cli-'));
  const env = { ...process.env, TMPDIR: privateTmp };
  const tempFolders = async () => (await readdir(privateTmp)).filter((n) => n.startsWith('covseg-serve-')).sort();
  const before = await tempFolders();
  const { createServer } = await import('node:net');
  const blocker = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  const port = (blocker.address() as { port: number }).port;
  try {
    const r = spawnSync(process.execPath, [CLI, 'serve', '--port', String(port)], { encoding: 'utf8', timeout: 20_000, env });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^covseg serve: error: port ${port} on 127\\.0\\.0\\.1 is in use \\(EADDRINUSE; another covseg serve\\?\\); choose another --port, or --port 0 for a free one\n$`));
  } finally {
    blocker.close();
  }
  const r = spawnSync(process.execPath, [CLI, 'serve', '--port', '0', '--host', '203.0.113.7'], { encoding: 'utf8', timeout: 20_000, env });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /203\.0\.113\.7 is not an address of this computer \(EADDRNOTAVAIL\)/);
  assert.deepEqual(await tempFolders(), before, 'a failed start removes its temp work folder');
  await rm(privateTmp, { recursive: true, force: true });
});
