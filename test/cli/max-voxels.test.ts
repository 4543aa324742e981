/**
 * --max-voxels on every command that decodes an image (segment, lungs, info, evaluate,
 * serve's jobs): an image above the limit is refused from its header, naming the
 * dimensions, and the limit can be raised or lowered.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { encodePng } from '../../src/io/raster.js';
import { DEFAULT_LUNG_MODEL_PATH } from '../../src/lungs/default-model.js';
import { DEFAULT_LESION_MODEL_PATH } from '../../src/segment/index.js';
import { PROJECT_ROOT } from '../helpers/shared-data.js';
import { getJson, uploadPath, waitForJob } from '../web/client.js';

const CLI = resolve(PROJECT_ROOT, 'dist/src/cli/main.js');
const PNG = resolve(PROJECT_ROOT, 'examples/zenodo20-slices/ct/1316.png');
const skip = !(existsSync(DEFAULT_LUNG_MODEL_PATH) && existsSync(DEFAULT_LESION_MODEL_PATH)) && 'shipped models missing in models/';
const covseg = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, COVSEG_QUIET: '1' } });

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'covseg-max-voxels-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A 64×64 PNG whose IHDR claims `size`² pixels: only the header can be read before the refusal. */
function claimingPng(name: string, size: number): string {
  const png = Uint8Array.from(encodePng({ width: 64, height: 64, channels: 1, data: new Uint8Array(64 * 64) }));
  new DataView(png.buffer).setUint32(16, size);
  new DataView(png.buffer).setUint32(20, size);
  const path = join(dir, name);
  writeFileSync(path, png);
  return path;
}

test('covseg segment: a 10000² PNG is refused by the default limit from its header, and writes nothing', () => {
  const out = join(dir, 'seg-big');
  const r = covseg('segment', claimingPng('big.png', 10000), '--out', out, '--quiet');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /big\.png: a slice of 10000 × 10000 = 100 M pixels is more than the 67\.1 M \(8192 × 8192\) a CT slice can have\n$/);
  assert.ok(!existsSync(out));
});

test('--max-voxels on segment, lungs, info and evaluate: below the image refuses it, a bad value is bad usage', () => {
  const message = /1316\.png: 256 × 256 × 1 = 65536 voxels is more than the limit of 1000 \(--max-voxels\)/;
  const runs: [string, string[]][] = [
    ['segment', ['segment', PNG, '--out', join(dir, 'seg'), '--max-voxels', '1000']],
    ['lungs', ['lungs', PNG, join(dir, 'lungs.nii.gz'), '--max-voxels', '1000']],
    ['info', ['info', PNG, '--max-voxels', '1000']],
  ];
  for (const [name, args] of runs) {
    const r = covseg(...args);
    assert.equal(r.status, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr, message, name);
  }
  // evaluate: the images folder's slice is refused the same way.
  const images = join(dir, 'eval-images');
  const masks = join(dir, 'eval-masks');
  mkdirSync(images);
  mkdirSync(masks);
  writeFileSync(join(images, 'a.png'), encodePng({ width: 40, height: 40, channels: 1, data: new Uint8Array(1600) }));
  writeFileSync(join(masks, 'a.png'), encodePng({ width: 40, height: 40, channels: 1, data: new Uint8Array(1600) }));
  const evaluate = covseg('evaluate', '--model', DEFAULT_LESION_MODEL_PATH, '--images', images, '--masks', masks, '--lung-model', 'none', '--max-voxels', '1000', '--quiet');
  assert.equal(evaluate.status, 1, evaluate.stderr);
  assert.match(evaluate.stderr, /a\.png: 40 × 40 × 1 = 1600 voxels is more than the limit of 1000 \(--max-voxels\)/);
  // Raised above the image, info reads it.
  assert.equal(covseg('info', PNG, '--max-voxels', '65536').status, 0);
  const commands: [string, string[]][] = [
    ['segment', [PNG, '--out', join(dir, 'seg')]],
    ['lungs', [PNG, join(dir, 'lungs.nii.gz')]],
    ['info', [PNG]],
    ['evaluate', ['--model', DEFAULT_LESION_MODEL_PATH, '--images', images, '--masks', masks]],
    ['serve', []],
  ];
  for (const [command, args] of commands) {
    const r = covseg(command, ...args, '--max-voxels', '0');
    assert.equal(r.status, 2, `${command}: ${r.stderr}`);
    assert.match(r.stderr, /--max-voxels: invalid value '0'/, command);
    assert.match(covseg(command, '--help').stdout, /--max-voxels N +refuse a larger image, from its header, before decoding/, command);
  }
});

test('covseg serve --max-voxels: the limit reaches the segment worker, and the job fails naming the dimensions', { skip }, async () => {
  // --work-dir inside this test's folder: a default covseg-serve-* temp folder would come and go under
  // the eyes of serve-cli.test.ts, which counts those folders while the suite runs files in parallel.
  const work = join(dir, 'serve-work');
  mkdirSync(work);
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--max-voxels', '1000', '--work-dir', work], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const m = /open (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`serve exited early (${code}): ${stderr}`)));
    });
    const created = await uploadPath(url, PNG, '1316.png');
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const job = await waitForJob(url, created.body.id);
    assert.equal(job.status, 'failed');
    assert.match(job.error!, /256 × 256 × 1 = 65536 voxels is more than the limit of 1000 \(--max-voxels\)$/);
    assert.equal((await getJson(`${url}/api/health`)).status, 200);
  } finally {
    const exit = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await exit;
  }
});
