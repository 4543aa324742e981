/**
 * `covseg serve --lobe-weights`: every web job gets the lobes (lobes.nii.gz, downloadable),
 * the lobar TSS (0–20) and Pan (0–25) scores with their per-lobe evidence, and the page's
 * report panel shows them beside the zone score. The official LTRCLobes weights cannot be
 * downloaded here: as in test/segment/lobes.test.ts, the lungs and lobes are the lungmask
 * fixture's networks (the real architectures with narrow layers, trained on the fixture CT).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { readVolume, writeVolume } from '../../src/io/index.js';
import type { JobJson } from '../../src/web/server.js';
import type { SegmentReport } from '../../src/segment/index.js';
import { PROJECT_ROOT } from '../helpers/shared-data.js';
import { CHROMIUM, CHROMIUM_ARGS, needsChromium } from '../helpers/chromium.js';
import { fixturePath, scoredCt } from '../lungs/fixtures.js';
import { getJson, uploadPath, waitForJob } from './client.js';
import { lesionModelFor } from './pipeline-models.js';
import { checkClinicalCells } from './report-cells.js';

const CLI = join(PROJECT_ROOT, 'dist/src/cli/main.js');
const LUNGS = ['--lung-model', 'r231', '--lung-weights', fixturePath('r231-tiny.pth')];

let scratch = '';
let child: ChildProcess | undefined;
let url = '';
let input = '';

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'covseg-web-lobes-'));
  input = join(scratch, 'scored.nii.gz');
  await writeVolume(input, scoredCt());
  const lesion = await lesionModelFor(scratch);
  child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...LUNGS, '--lobe-weights', fixturePath('lobes-tiny-legacy.pth'), '--lesion-model', lesion.path], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  url = await new Promise<string>((resolve, reject) => {
    child!.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = stderr.match(/open (http:\/\/127\.0\.0\.1:\d+)\n/);
      if (m) resolve(m[1]!);
    });
    child!.on('exit', (code) => reject(new Error(`serve exited early (${code}): ${stderr}`)));
  });
});
after(async () => {
  if (child && child.exitCode === null) {
    const exit = new Promise((r) => child!.once('exit', r));
    child.kill('SIGINT');
    await exit;
  }
  await rm(scratch, { recursive: true, force: true });
});

/** The job's report.json, fetched as a file (not the job JSON's copy). */
async function reportOf(job: JobJson): Promise<SegmentReport> {
  const file = job.files.find((f) => f.kind === 'report-json')!;
  return JSON.parse(await (await fetch(url + file.url)).text()) as SegmentReport;
}

test('serve --lobe-weights: a job writes lobes.nii.gz (downloadable, the five LTRCLobes labels) and reports the lobar TSS and Pan scores with per-lobe evidence', async () => {
  const created = await uploadPath(url, input);
  assert.equal(created.status, 202, JSON.stringify(created.body));
  const job = await waitForJob(url, created.body.id, 180_000);
  assert.equal(job.status, 'done', job.error);
  const lobes = job.files.find((f) => f.kind === 'lobes');
  assert.ok(lobes, `a lobes output in ${job.files.map((f) => f.name).join(', ')}`);
  assert.equal(lobes.name, 'lobes.nii.gz');
  const bytes = new Uint8Array(await (await fetch(url + lobes.url)).arrayBuffer());
  assert.equal(bytes.length, lobes.bytes);
  const downloaded = join(scratch, 'lobes-downloaded.nii.gz');
  await writeFile(downloaded, bytes);
  assert.deepEqual([...new Set((await readVolume(downloaded)).data)].sort(), [0, 1, 2, 3, 4, 5]);

  const report = await reportOf(job);
  assert.equal(report.models.lobes, 'ltrclobes:lobes-tiny-legacy.pth');
  assert.equal(report.severity.category !== null, true, 'a graded scan: the scores are given');
  const { lobarTss, pan, zone } = report.clinical!.scores;
  assert.equal(zone.available, true, JSON.stringify(zone));
  assert.equal(lobarTss.available, true, JSON.stringify(lobarTss));
  assert.equal(pan.available, true, JSON.stringify(pan));
  if (!lobarTss.available || !pan.available) return;
  assert.deepEqual(lobarTss.lobes.map((l) => l.lobe), ['RUL', 'RML', 'RLL', 'LUL', 'LLL']);
  assert.equal(lobarTss.total, lobarTss.lobes.reduce((a, l) => a + l.score, 0));
  assert.equal(pan.total, pan.lobes.reduce((a, l) => a + l.score, 0));
  assert.deepEqual(report.clinical!.lobes!.map((l) => l.percentAffected), lobarTss.lobes.map((l) => l.percentAffected));
  // The job JSON's report is the file's.
  assert.deepEqual((await getJson<JobJson>(`${url}/api/jobs/${job.id}`)).body.report!.clinical, report.clinical);
});

test('serve --lobe-weights, the page: its report panel shows the ground glass / consolidation split, the zone, lobar TSS and Pan scores of report.json', { skip: needsChromium() }, async () => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset['state'] === 'ready', null, { timeout: 30_000 });
    await page.setInputFiles('#file', input);
    await page.waitForFunction(() => ['viewer-ready', 'error'].includes(document.body.dataset['state'] ?? ''), null, { timeout: 180_000 });
    assert.equal(await page.evaluate(() => document.body.dataset['state']), 'viewer-ready', (await page.textContent('#error')) ?? '');
    const job = await page.evaluate(() => window.covseg!.job!);
    const report = await reportOf(job);
    assert.equal(report.clinical!.scores.pan.available, true);
    await checkClinicalCells(page, report);
    assert.match((await page.textContent('#models')) ?? '', /Lobe model: ltrclobes:lobes-tiny-legacy\.pth\./);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('serve --lobe-weights with a file that is not LTRCLobes weights: exits 1 at start with one line naming the file', () => {
  const r = spawnSync(process.execPath, [CLI, 'serve', '--port', '0', ...LUNGS, '--lobe-weights', fixturePath('r231-tiny.pth')], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /r231-tiny\.pth: not usable as lobe weights \(lungmask's LTRCLobes, unet_ltrclobes-3a07043d\.pth\): the weights have 3 classes but model 'ltrclobes' has 6/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});
