/**
 * Two real finished jobs side by side: `GET /api/compare` gives what `covseg compare` gives
 * on the jobs' result folders (one implementation, src/segment/compare-results.ts), refuses
 * different patients (DICOM PatientID) unless forced, and the page shows both reports, the
 * verdict, the per-lung changes and the matched-level pictures (Playwright; a screenshot
 * goes to the temp folder).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { zipSync } from 'fflate';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { CompareJson, JobJson, RunningServer } from '../../src/web/server.js';
import { readVolume } from '../../src/io/index.js';
import { asLps } from '../../src/volume/index.js';
import { compareResults } from '../../src/segment/index.js';
import { needsShared, sharedPath } from '../helpers/shared-data.js';
import { writeSyntheticCtSeries } from '../helpers/synthetic-dicom.js';
import { CHROMIUM, CHROMIUM_ARGS, needsChromium } from '../helpers/chromium.js';
import { getJson, uploadPath, waitForJob } from './client.js';
import { needsLungModel, startJobServer, type JobServer } from './pipeline-models.js';

const SMALL = 'small-ct-volume/example_ct_sm.nii.gz';
const SEG = 'small-ct-volume/example_seg.nii.gz';
const skip = needsLungModel() || needsShared(SMALL) || needsShared(SEG);

let jobServer: JobServer;
let server: RunningServer;
/** Earlier (patient P1) and later (patient P2, the dorsal lungs made dense) scans of the real small CT. */
let earlier: JobJson;
let later: JobJson;

/** The small CT as a zipped DICOM series of `patientId`; with `denser`, the dorsal half of its lungs (TotalSegmentator's lobes in example_seg) at −350 HU, a lesion that grew. */
async function zippedSeries(name: string, patientId: string, studyDate: string, denser: boolean): Promise<string> {
  const ct = asLps(await readVolume(sharedPath(SMALL))).volume;
  const [nx, ny] = ct.dims;
  const hu = Float32Array.from(ct.data as ArrayLike<number>);
  if (denser) {
    const lobes = asLps(await readVolume(sharedPath(SEG))).volume;
    for (let i = 0; i < hu.length; i++) {
      const label = lobes.data[i]!;
      if (label >= 10 && label <= 14 && Math.floor(i / nx) % ny >= ny / 2) hu[i] = -350;
    }
  }
  const dir = join(jobServer.scratch, name);
  writeSyntheticCtSeries(dir, { dims: ct.dims, spacingMm: ct.spacingMm, origin: ct.origin, hu, patientId, studyDate, uidRoot: `1.2.826.0.1.3680043.8.498.${patientId.length}${studyDate}` });
  const entries: Record<string, Uint8Array> = {};
  for (const f of readdirSync(dir)) entries[`series/${f}`] = new Uint8Array(readFileSync(join(dir, f)));
  const zip = join(jobServer.scratch, `${name}.zip`);
  await writeFile(zip, zipSync(entries, { level: 1 }));
  return zip;
}

async function finishedJob(zip: string, name: string): Promise<JobJson> {
  const created = await uploadPath(server.url, zip, name);
  assert.equal(created.status, 202, created.body.message);
  const job = await waitForJob(server.url, created.body.id, 300_000);
  assert.equal(job.status, 'done', job.error);
  return job;
}

before(async () => {
  if (skip) return;
  jobServer = await startJobServer();
  server = jobServer.server;
  const [a, b] = [await zippedSeries('earlier', 'P1', '20200301', false), await zippedSeries('later', 'P2', '20200315', true)];
  earlier = await finishedJob(a, 'march-01.zip');
  later = await finishedJob(b, 'march-15.zip');
});
after(async () => {
  await jobServer?.close();
});

const compareUrl = (ids: string[], query = '') => `${server.url}/api/compare?jobs=${ids.join(',')}${query}`;

test('GET /api/compare: different patients refused (409) unless force=1; then the comparison covseg compare gives, jobs in date order, pictures as PNG', { skip }, async () => {
  const refused = await getJson<{ code: string; message: string }>(compareUrl([later.id, earlier.id]));
  assert.equal(refused.status, 409);
  assert.equal(refused.body.code, 'different-patients');
  assert.match(refused.body.message, /^these scans are of different patients \(PatientID march-15\.zip: P2, march-01\.zip: P1\); pass force=1 \(on the page: 'compare anyway'\) to compare them anyway$/);

  const { status, body } = await getJson<CompareJson>(compareUrl([later.id, earlier.id], '&force=1'));
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.format, 'covseg-web-comparison');
  // By study date, whatever the order asked.
  assert.deepEqual(body.jobs.map((j) => [j.id, j.name]), [[earlier.id, 'march-01.zip'], [later.id, 'march-15.zip']]);
  assert.deepEqual(body.comparison.scans.map((s) => [s.name, s.date, s.patientId]), [['march-01.zip', '2020-03-01', 'P1'], ['march-15.zip', '2020-03-15', 'P2']]);
  assert.deepEqual(body.jobs.map((j) => j.report), [earlier.report, later.report]);
  assert.ok(body.notes.some((n) => /different patients \(P2, P1\); compared anyway \(force=1/.test(n)), body.notes.join('\n'));
  assert.ok(['better', 'stable', 'worse'].includes(body.comparison.overall.verdict));
  // Scored as segment scored each scan: none where it gave no grade (the small CT's lungs reach its top slice).
  for (const [k, scan] of body.comparison.scans.entries()) {
    const zone = body.jobs[k]!.report!.clinical!.scores.zone;
    assert.equal(scan.zoneScore, zone.available ? zone.total : null, scan.name);
  }

  // What covseg compare computes on the two result folders (their own names, the API's force).
  const folder = (job: JobJson) => dirname(server.store.get(job.id).outputs.find((o) => o.kind === 'report-json')!.path);
  const direct = await compareResults([{ dir: folder(later), name: 'march-15.zip' }, { dir: folder(earlier), name: 'march-01.zip' }], { force: true, forceHint: "force=1 (on the page: 'compare anyway')" });
  assert.deepEqual(body.comparison, JSON.parse(JSON.stringify(direct.comparison)));
  assert.deepEqual(body.notes, direct.notes);
  for (const picture of [body.pictures.levels, body.pictures.trend]) {
    assert.match(picture, /^data:image\/png;base64,/);
    assert.deepEqual([...Buffer.from(picture.slice(22), 'base64').subarray(1, 4)], [...Buffer.from('PNG')]);
  }
});

test('GET /api/compare: bad requests in the API\'s words', { skip }, async () => {
  const cases: [string, number, string, RegExp][] = [
    [compareUrl([earlier.id]), 400, 'bad-request', /give 2–6 job ids, comma-separated/],
    [compareUrl([earlier.id, earlier.id]), 400, 'bad-request', /the same job is named twice/],
    [compareUrl([earlier.id, 'f'.repeat(32)]), 404, 'not-found', /no job 'f{32}'/],
    [compareUrl([earlier.id, later.id], '&force=maybe'), 400, 'bad-request', /force=maybe: use force=1 or force=0/],
  ];
  for (const [url, status, code, message] of cases) {
    const r = await getJson<{ code: string; message: string }>(url);
    assert.equal(r.status, status, url);
    assert.equal(r.body.code, code, url);
    assert.match(r.body.message, message, url);
  }
});

test('the page: two remembered jobs ticked, "compare anyway": both reports side by side, the verdict, per-lung changes and the matched levels; ?compare= without force shows the refusal', { skip: skip || needsChromium() }, async () => {
  const { body: api } = await getJson<CompareJson>(compareUrl([earlier.id, later.id], '&force=1'));
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const pageErrors: string[] = [];
  try {
    const page: Page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    // The page remembers the jobs it ran; these ran through the API, so they are remembered for it (and one that expired).
    const remembered = [earlier, later, { id: 'e'.repeat(32), inputName: 'gone.nii.gz', finishedAt: earlier.finishedAt }].map((j) => ({ id: j.id, name: j.inputName, finishedAt: j.finishedAt }));
    await page.addInitScript((list) => { if (!localStorage.getItem('covseg.finishedJobs')) localStorage.setItem('covseg.finishedJobs', list); }, JSON.stringify(remembered));
    await page.goto(server.url);
    await page.waitForFunction(() => document.body.dataset['state'] === 'ready', null, { timeout: 30_000 });
    assert.deepEqual(await page.$$eval('#compare-jobs input', (xs) => xs.map((x) => (x as HTMLInputElement).value)), [earlier.id, later.id], 'the expired job is dropped');
    assert.equal(await page.isDisabled('#compare'), true);
    await page.check(`#compare-jobs input[value="${earlier.id}"]`);
    await page.check(`#compare-jobs input[value="${later.id}"]`);
    await page.check('#compare-force');
    await page.click('#compare');
    await page.waitForFunction(() => ['compare-ready', 'error'].includes(document.body.dataset['state'] ?? ''), null, { timeout: 60_000 });
    assert.equal(await page.evaluate(() => document.body.dataset['state']), 'compare-ready', await page.textContent('#error') ?? '');
    assert.equal(await page.isVisible('#compare-view'), true);
    assert.equal(await page.isVisible('#viewer-panel'), false, 'the comparison takes the viewer\'s place');

    const verdict = api.comparison.overall.verdict;
    assert.equal(await page.getAttribute('#compare-verdict', 'data-verdict'), verdict);
    assert.equal(await page.textContent('#compare-verdict'), verdict);
    assert.match(await page.textContent('#compare-reason') ?? '', new RegExp(`^march-01\\.zip → march-15\\.zip \\(14 days\\): `));
    // Both columns, earlier then later, each with its report's numbers.
    assert.deepEqual(await page.$$eval('.compare-column', (cs) => cs.map((c) => (c as HTMLElement).dataset['job'])), [earlier.id, later.id]);
    const headings = await page.$$eval('.compare-column h3', (hs) => hs.map((h) => h.textContent));
    assert.deepEqual(headings, ['earlier: march-01.zip', 'later: march-15.zip']);
    for (const [k, scan] of api.comparison.scans.entries()) {
      const shown = await page.$$eval(`.compare-column:nth-child(${k + 1}) tr[data-side] td:last-child`, (tds) => tds.map((td) => (td as HTMLElement).dataset['value']));
      assert.deepEqual(shown, [scan.right, scan.left, scan.percentAffected].map(String), `column ${k + 1}`);
    }
    // The per-lung changes: % affected of right, left and both, later minus earlier.
    const changes = await page.$$eval('#compare-changes tbody tr:first-child td', (tds) => tds.map((td) => (td as HTMLElement).dataset['value']));
    const o = api.comparison.overall;
    assert.deepEqual(changes, [o.right.percentAffected.change, o.left.percentAffected.change, o.total.percentAffected.change].map((v) => (v === null ? '' : String(v))));
    assert.ok((await page.$$eval('#compare-notes li', (ls) => ls.map((l) => l.textContent))).some((t) => /compared anyway/.test(t ?? '')));
    for (const img of ['#compare-levels', '#compare-trend']) {
      assert.ok(await page.$eval(img, (i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 100), img);
    }
    assert.match(page.url(), new RegExp(`\\?compare=${earlier.id},${later.id}&force=1$`));

    const shot = join(tmpdir(), `covseg-compare-${process.pid}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot: ${shot}`);
    if (process.env['COVSEG_COMPARE_SCREENSHOT']) {
      await mkdir(dirname(process.env['COVSEG_COMPARE_SCREENSHOT']), { recursive: true });
      await page.screenshot({ path: process.env['COVSEG_COMPARE_SCREENSHOT'], fullPage: true });
    }

    // Back to the viewer; then the address without force=1: the refusal, in the page's error box.
    await page.click('#compare-close');
    assert.equal(await page.isVisible('#viewer-panel'), true);
    await page.goto(`${server.url}/?compare=${earlier.id},${later.id}`);
    await page.waitForFunction(() => document.body.dataset['state'] === 'error', null, { timeout: 30_000 });
    assert.match(await page.textContent('#error') ?? '', /^the comparison could not be shown: these scans are of different patients .*'compare anyway'/);
    await page.close();
  } finally {
    await browser.close();
  }
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
});
