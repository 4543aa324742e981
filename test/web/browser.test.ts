/**
 * End to end in Debian's chromium (headless, SwiftShader WebGL), driven by
 * playwright-core: the page uploads the bundled example (file chooser, drag and drop,
 * and the sample button), waits for the job, and must show the CT with its three
 * overlays in NiiVue and the very numbers of report.json. A screenshot is saved.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { JobJson, RunningServer } from '../../src/web/server.js';
import { severityHeadline, type SegmentReport } from '../../src/segment/index.js';
import { PROJECT_ROOT } from '../helpers/shared-data.js';
import { CHROMIUM, CHROMIUM_ARGS, needsChromium } from '../helpers/chromium.js';
import { CONSOLIDATION, GROUND_GLASS, LEFT_LUNG, LESION, RIGHT_LUNG } from '../../src/figures/colors.js';
import { needsLungModel, startJobServer, type JobServer } from './pipeline-models.js';
import { checkClinicalCells } from './report-cells.js';

const DICOM = join(PROJECT_ROOT, 'examples/chest-ct-dicom-slice/chest-ct.dcm');
const PNG = join(PROJECT_ROOT, 'examples/zenodo20-slices/ct/1316.png');

const skip = needsChromium() || needsLungModel();

let jobServer: JobServer;
let server: RunningServer;
let browser: Browser;
const pageErrors: string[] = [];
const rgba = (rgb: readonly number[]) => [...rgb, 255];

before(async () => {
  if (skip) return;
  jobServer = await startJobServer();
  server = jobServer.server;
  // playwright gives every launch a fresh, temporary user-data-dir of its own.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
after(async () => {
  await browser?.close();
  await jobServer?.close();
});

async function openPage(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(server.url);
  await page.waitForFunction(() => document.body.dataset['state'] === 'ready', null, { timeout: 30_000 });
  return page;
}

async function waitForViewer(page: Page): Promise<JobJson> {
  await page.waitForFunction(() => ['viewer-ready', 'error'].includes(document.body.dataset['state'] ?? ''), null, { timeout: 90_000 });
  const error = await page.textContent('#error');
  assert.equal(await page.evaluate(() => document.body.dataset['state']), 'viewer-ready', `page error: ${error}`);
  return page.evaluate(() => window.covseg!.job!);
}

/** The overlays NiiVue holds, by position: name and opacity. */
function volumes(page: Page): Promise<{ name: string; opacity: number }[]> {
  return page.evaluate(() => window.covseg!.nv.volumes.map((v) => ({ name: v.name, opacity: v.opacity })));
}

/** The page's report cells against report.json, fetched separately from the server. */
async function checkReport(page: Page, job: JobJson): Promise<SegmentReport> {
  const reportFile = job.files.find((f) => f.kind === 'report-json')!;
  const report = JSON.parse(await (await fetch(server.url + reportFile.url)).text()) as SegmentReport;
  const shown = (value: number | null, unit: string) => (value === null ? '–' : `${value.toFixed(1)}${unit}`);
  for (const side of ['right', 'left', 'total'] as const) {
    const cells: [string, number | null, string][] = [
      [`#lung-volume-${side}`, report.lungs[side].volumeMl, ' mL'],
      [`#lesion-volume-${side}`, report.lesions[side].volumeMl, ' mL'],
      [`#percent-${side}`, report.lesions[side].percentOfLung, '%'],
    ];
    for (const [selector, value, unit] of cells) {
      assert.equal(await page.getAttribute(selector, 'data-value'), value === null ? '' : String(value), selector);
      assert.equal(await page.textContent(selector), shown(value, unit), selector);
    }
  }
  assert.equal(await page.textContent('#severity-category'), severityHeadline(report.severity));
  assert.equal(await page.getAttribute('#severity-percent', 'data-value'), String(report.severity.percentAffected));
  assert.equal(await page.textContent('#severity-description'), report.severity.description);
  await checkClinicalCells(page, report);
  const links = await page.$$eval('#downloads a', (as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(links, job.files.map((f) => f.url));
  return report;
}

test('upload the bundled DICOM slice: CT + right lung + left lung + lesions in NiiVue, report numbers = report.json, screenshot', { skip }, async () => {
  const page = await openPage();
  assert.match(await page.textContent('#mode') ?? '', /^Mode: local service/);
  await page.setInputFiles('#file', DICOM);
  const job = await waitForViewer(page);
  assert.equal(job.status, 'done');
  assert.equal(job.inputName, 'chest-ct.dcm');
  assert.deepEqual((await volumes(page)).map((v) => [v.name, v.opacity]), [
    ['CT', 1], ['right lung', 0.4], ['left lung', 0.4], ['lesions', 0.8],
  ]);
  // Each overlay's label colours: its own label in the figures' colour, every other value transparent;
  // the lesion (HU input) by type, from lesion-types.nii.gz, ground glass and consolidation as the report's pictures draw them, with a legend.
  const luts = await page.evaluate(() => window.covseg!.nv.volumes.slice(1).map((v) => ({ min: v.colormapLabel!.min, lut: Array.from(v.colormapLabel!.lut) })));
  assert.deepEqual(luts, [
    { min: 0, lut: [0, 0, 0, 0, ...rgba(RIGHT_LUNG), 0, 0, 0, 0] },
    { min: 0, lut: [0, 0, 0, 0, 0, 0, 0, 0, ...rgba(LEFT_LUNG)] },
    { min: 0, lut: [0, 0, 0, 0, ...rgba(GROUND_GLASS), ...rgba(CONSOLIDATION)] },
  ]);
  assert.ok(job.files.some((f) => f.kind === 'lesion-types' && f.name === 'lesion-types.nii.gz'));
  assert.equal(await page.isVisible('#lesion-types-legend'), true);
  assert.equal(await page.textContent('#lesion-types-legend'), ' ground glass  consolidation');
  const report = await checkReport(page, job);
  assert.ok(report.lungs.right.volumeMl! > 0 && report.lungs.left.volumeMl! > 0, 'a real chest slice has both lungs');
  assert.match(await page.textContent('#status-text') ?? '', /^Done in \d+\.\d s: chest-ct\.dcm$/);
  assert.equal(await page.evaluate(() => document.getElementById('bar-fill')!.style.width), '100%');

  // The evidence picture: the page as a user first sees the result.
  const shot = join(tmpdir(), `covseg-web-${process.pid}.png`);
  await page.screenshot({ path: shot });
  console.log(`screenshot: ${shot}`);
  assert.ok((await readFile(shot)).length > 10_000);

  // Overlay controls: a toggle hides a layer, a slider sets its opacity.
  await page.locator('.layer[data-layer=lesion] input[type=checkbox]').uncheck();
  await page.locator('.layer[data-layer=rightLung] input[type=range]').fill('10');
  assert.deepEqual((await volumes(page)).map((v) => v.opacity), [1, 0.1, 0.4, 0]);
  await page.locator('.layer[data-layer=lesion] input[type=checkbox]').check();
  assert.equal((await volumes(page))[3]!.opacity, 0.8);
  await page.click('[data-slice-type="4"]');
  assert.equal(await page.evaluate(() => window.covseg!.nv.opts.sliceType), 4);
  await page.click('[data-slice-type="0"]');
  assert.equal(await page.evaluate(() => window.covseg!.nv.opts.sliceType), 0);

  await page.close();
});

test('drag and drop a PNG slice: volumes unknown (–), percentages of lung area, note shown', { skip }, async () => {
  const page = await openPage();
  const bytes = [...new Uint8Array(await readFile(PNG))];
  const dataTransfer = await page.evaluateHandle((data) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(data)], '1316.png', { type: 'image/png' }));
    return dt;
  }, bytes);
  const jobsBefore = server.store.list().length;
  await page.dispatchEvent('#drop', 'drop', { dataTransfer });
  const job = await waitForViewer(page);
  assert.equal(server.store.list().length, jobsBefore + 1, 'one drop, one job');
  assert.equal(job.inputName, '1316.png');
  assert.equal((await volumes(page)).length, 4);
  const report = await checkReport(page, job);
  assert.equal(report.lungs.total.volumeMl, null);
  assert.equal(await page.textContent('#lung-volume-total'), '–');
  assert.equal(await page.isVisible('#volume-note'), true);
  // No HU: one lesion colour, no type legend.
  assert.deepEqual(await page.evaluate(() => Array.from(window.covseg!.nv.volumes[3]!.colormapLabel!.lut)), [0, 0, 0, 0, ...rgba(LESION)]);
  assert.equal(await page.isVisible('#lesion-types-legend'), false);
  await page.close();
});

test('the sample button runs the bundled example', { skip }, async () => {
  const page = await openPage();
  assert.equal(await page.inputValue('#sample-name'), 'chest-ct-dicom-slice');
  await page.click('#sample');
  const job = await waitForViewer(page);
  assert.equal(job.inputName, 'chest-ct-dicom-slice');
  assert.equal((await volumes(page)).length, 4);
  await checkReport(page, job);
  await page.close();
});

test('a refused upload shows the server\'s message on the page', { skip }, async () => {
  const page = await openPage();
  await page.setInputFiles('#file', { name: 'scan.nii.gz', mimeType: 'application/gzip', buffer: Buffer.from('not an image at all\n') });
  await page.waitForFunction(() => document.body.dataset['state'] === 'error');
  assert.match(await page.textContent('#error') ?? '', /^scan\.nii\.gz: unsupported or unrecognised image format/);
  await page.close();
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
});
