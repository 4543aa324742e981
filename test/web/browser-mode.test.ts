/**
 * The page's browser mode end to end in Debian's chromium (headless), driven by
 * playwright-core: the same file goes through the service (upload, job, report.json)
 * and through the browser mode (NiiVue + the worker running covseg's pipeline on
 * onnxruntime-web), and the page must show the service's numbers, the three overlays
 * (the lesion by type, in two colours with the legend, for HU input), and make no upload. Also: NiiVue's reading of the io fixtures, converted to a Volume,
 * equals covseg's own reader.
 *
 * Tolerance: onnxruntime-web's WebAssembly and onnxruntime-node differ in float rounding
 * only (probabilities within ~1e-5, measured in browser-mode-units.test.ts), so a voxel
 * changes side only when its probability lies that close to the threshold. Counts may
 * differ by max(2 voxels, 0.5%), volumes and percentages by the same share; the runs
 * measured so far differ by 0 voxels (printed by the tests).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { JobJson, RunningServer } from '../../src/web/server.js';
import { severityHeadline, type SegmentReport } from '../../src/segment/index.js';
import { volumeFromNiivue, type NiivueImage } from '../../src/web/browser/niivue-volume.js';
import jpeg from 'jpeg-js';
import { readVolume } from '../../src/io/index.js';
import { decodePng, decodeRasterSlice, encodePng } from '../../src/io/raster.js';
import type { Volume, VoxelArray } from '../../src/volume/volume.js';
import { PROJECT_ROOT, needsShared, sharedPath } from '../helpers/shared-data.js';
import { CHROMIUM, CHROMIUM_ARGS, needsChromium } from '../helpers/chromium.js';
import { needsLungModel, startJobServer, type JobServer } from './pipeline-models.js';
import { uploadPath, waitForJob } from './client.js';
import { CONSOLIDATION, GROUND_GLASS, LESION } from '../../src/figures/colors.js';

const PNG = join(PROJECT_ROOT, 'examples/zenodo20-slices/ct/1316.png');
const SMALL_CT = 'small-ct-volume/example_ct_sm.nii.gz';
const FIXTURES = join(PROJECT_ROOT, 'test/fixtures/io');

const skip = needsChromium() || needsLungModel();

let jobServer: JobServer;
let server: RunningServer;
let browser: Browser;
/** One page in browser mode for the tests in turn (its worker keeps the models loaded, as a user's page does). */
let shared: BrowserModePage;
const pageErrors: string[] = [];

interface BrowserModePage {
  page: Page;
  context: BrowserContext;
  /** Every request the page and its worker made since the last `requests.length = 0`. */
  requests: { method: string; url: string }[];
}

before(async () => {
  if (skip) return;
  // The worker bundle is esbuild's output (npm run build); tsc alone does not make it, so build it fresh here (~0.3 s).
  const built = spawnSync('npm', ['run', '--silent', 'build:browser'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  assert.equal(built.status, 0, `npm run build:browser failed: ${built.stderr}`);
  jobServer = await startJobServer();
  server = jobServer.server;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  shared = await openBrowserModePage();
});
after(async () => {
  await browser?.close();
  await jobServer?.close();
});

/** A page in browser mode, with every request it (and its worker) makes recorded. */
async function openBrowserModePage(): Promise<BrowserModePage> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  const requests: { method: string; url: string }[] = [];
  context.on('request', (r) => requests.push({ method: r.method(), url: r.url() }));
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(server.url);
  await page.waitForFunction(() => document.body.dataset['state'] === 'ready', null, { timeout: 30_000 });
  await page.check('input[name=run-mode][value=browser]');
  return { page, context, requests };
}

async function waitForResult(page: Page): Promise<void> {
  await page.waitForFunction(() => ['viewer-ready', 'error'].includes(document.body.dataset['state'] ?? ''), null, { timeout: 120_000 });
  assert.equal(await page.evaluate(() => document.body.dataset['state']), 'viewer-ready', `page error: ${await page.textContent('#error')}`);
}

async function serviceReport(file: string): Promise<SegmentReport> {
  const created = await uploadPath(server.url, file);
  assert.equal(created.status, 202, created.body.message);
  const job: JobJson = await waitForJob(server.url, created.body.id, 120_000);
  assert.equal(job.status, 'done', job.error);
  return job.report!;
}

/** |a − b| within max(`floor`, 0.5% of b): float rounding between the runtimes, see the file comment. */
function within(a: number | null, b: number | null, floor: number, what: string): number {
  if (a === null || b === null) {
    assert.equal(a, b, what);
    return 0;
  }
  const diff = Math.abs(a - b);
  assert.ok(diff <= Math.max(floor, 0.005 * Math.abs(b)), `${what}: browser ${a}, service ${b}`);
  return diff;
}

/**
 * The page's cells (data-value: the browser run's numbers) against the service's
 * report.json; returns the largest voxel-count difference.
 */
async function checkAgainstService(page: Page, service: SegmentReport): Promise<number> {
  const mine = await page.evaluate(() => window.covseg!.browserRun!.report);
  const mlPerVoxel = service.lungs.total.volumeMl === null ? 0 : service.lungs.total.volumeMl / service.lungs.total.voxels;
  let maxVoxelDiff = 0;
  for (const side of ['right', 'left', 'total'] as const) {
    maxVoxelDiff = Math.max(maxVoxelDiff, within(mine.lungs[side].voxels, service.lungs[side].voxels, 2, `${side} lung voxels`));
    maxVoxelDiff = Math.max(maxVoxelDiff, within(mine.lesions[side].voxels, service.lesions[side].voxels, 2, `${side} lesion voxels`));
    const cell = async (id: string) => {
      const v = await page.getAttribute(`#${id}-${side}`, 'data-value');
      return v === '' ? null : Number(v);
    };
    within(await cell('lung-volume'), service.lungs[side].volumeMl, 2 * mlPerVoxel + 0.01, `${side} lung volume (page)`);
    within(await cell('lesion-volume'), service.lesions[side].volumeMl, 2 * mlPerVoxel + 0.01, `${side} lesion volume (page)`);
    within(await cell('percent'), service.lesions[side].percentOfLung, 0.05, `${side} % affected (page)`);
  }
  within(Number(await page.getAttribute('#severity-percent', 'data-value')), service.severity.percentAffected, 0.05, 'severity %');
  assert.equal(await page.textContent('#severity-category'), severityHeadline(service.severity));
  assert.deepEqual(mine.warnings, service.warnings);
  assert.equal(mine.models.lung, service.models.lung);
  assert.equal(mine.models.lesion, service.models.lesion);
  return maxVoxelDiff;
}

/**
 * NiiVue holds the CT and the three overlays, each overlay's labels counted as the report
 * counts them. HU input: the lesion layer is the lesion by type (1 ground glass, 2
 * consolidation; the worker's lesionTypeMap), counted as the report's clinical figures
 * count them, in the service mode's two colours with the legend; else one colour, no legend.
 */
async function checkOverlays(page: Page, report: SegmentReport): Promise<void> {
  const layers = await page.evaluate(() => window.covseg!.nv.volumes.map((v) => {
    const counts = [0, 0, 0];
    const img = v.img as ArrayLike<number>;
    for (let i = 0; i < img.length; i++) if (img[i]! >= 0 && img[i]! <= 2) counts[img[i]!]!++;
    return { name: v.name, opacity: v.opacity, n: v.img!.length, counts, lut: v.colormapLabel ? Array.from(v.colormapLabel.lut) : null };
  }));
  assert.deepEqual(layers.map((l) => [l.name, l.opacity]), [['CT', 1], ['right lung', 0.4], ['left lung', 0.4], ['lesions', 0.8]]);
  const n = report.input.dims[0] * report.input.dims[1] * report.input.dims[2];
  assert.deepEqual(layers.map((l) => l.n), [n, n, n, n], 'overlays on the CT\'s own grid');
  assert.deepEqual(layers[1]!.counts.slice(1), [report.lungs.right.voxels, report.lungs.left.voxels]);
  // The service mode's label colours (browser.test.ts checks them against figures/colors.ts).
  assert.equal(layers[1]!.lut!.length, 12);
  assert.deepEqual(layers[2]!.lut!.slice(0, 8), [0, 0, 0, 0, 0, 0, 0, 0]);
  const clinical = report.clinical!.total;
  const rgba = (rgb: readonly number[]) => [...rgb, 255];
  if (report.input.isHu) {
    assert.deepEqual(layers[3]!.counts.slice(1), [clinical.groundGlass!.voxels, clinical.consolidation!.voxels], 'ground glass and consolidation voxels as the report counts them');
    assert.equal(layers[3]!.counts[1]! + layers[3]!.counts[2]!, report.lesions.total.voxels);
    assert.deepEqual(layers[3]!.lut, [0, 0, 0, 0, ...rgba(GROUND_GLASS), ...rgba(CONSOLIDATION)]);
    assert.equal(await page.isVisible('#lesion-types-legend'), true);
    assert.equal(await page.textContent('#lesion-types-legend'), ' ground glass  consolidation');
  } else {
    assert.deepEqual(layers[3]!.counts.slice(1), [report.lesions.total.voxels, 0]);
    assert.deepEqual(layers[3]!.lut, [0, 0, 0, 0, ...rgba(LESION)]);
    assert.equal(await page.isVisible('#lesion-types-legend'), false);
  }
}

/** NiiVue's CT (nv.volumes[0]) as a Volume, through the page's own extraction and the worker's conversion. */
async function shownCt(page: Page): Promise<Volume> {
  const read = await page.evaluate(async () => {
    const { niivueInput } = await import('/browser-mode.js' as string) as typeof import('../../src/web/page/browser-mode.js');
    const { image } = niivueInput(window.covseg!.nv.volumes[0]!, 'ct', 'nifti');
    return { hdr: image.hdr, img: Array.from(image.img) };
  });
  return volumeFromNiivue({ hdr: read.hdr, img: Float32Array.from(read.img) });
}

/**
 * Nothing was uploaded: only GETs, none to the job API, and the service made no job.
 * `fetched` are paths the run must have requested (the worker and the wasm are fetched
 * once per page, the models revalidated on every run).
 */
function checkNoUpload(requests: { method: string; url: string }[], jobsBefore: number, fetched: string[]): void {
  const http = requests.filter((r) => r.url.startsWith(server.url));
  assert.deepEqual(http.filter((r) => r.method !== 'GET'), [], 'no request but GETs');
  assert.deepEqual(http.filter((r) => new URL(r.url).pathname.startsWith('/api/jobs') || new URL(r.url).pathname.startsWith('/api/samples/jobs')), []);
  assert.equal(server.store.list().length, jobsBefore, 'no job on the service');
  const paths = new Set(http.map((r) => new URL(r.url).pathname));
  for (const p of fetched) assert.ok(paths.has(p), `${p} fetched`);
}

function logTimings(name: string, service: SegmentReport, run: { ms: number; report: SegmentReport; slices: { lungs: number; lesions: number } }): void {
  const t = run.report.timingsMs;
  // An image file's lung stage also tries the slice's four quarter turns: five lung-model runs per slice.
  const lungRuns = run.slices.lungs * (run.report.input.spacingKnown ? 1 : 5);
  const per = (ms: number | undefined, n: number) => (n > 0 && ms !== undefined ? `${(ms / n).toFixed(0)} ms per slice run` : '-');
  console.log(`${name}: browser (wasm, 1 thread) ${(run.ms / 1000).toFixed(1)} s in all: models ${t['models']} ms, lungs ${t['lungs']} ms for ${lungRuns} slice run(s) (${per(t['lungs'], lungRuns)}), lesions ${t['lesions']} ms for ${run.slices.lesions} (${per(t['lesions'], run.slices.lesions)})`);
  const s = service.timingsMs;
  console.log(`${name}: service (onnxruntime-node, 2 threads): lungs ${s['lungs']} ms (${per(s['lungs'], lungRuns)}), lesions ${s['lesions']} ms (${per(s['lesions'], run.slices.lesions)}), job ${Object.values(s).reduce((a, b) => a + b, 0)} ms`);
}

test('browser mode, the bundled example PNG slice: the service\'s numbers, three overlays, no upload, screenshot', { skip }, async () => {
  const service = await serviceReport(PNG);
  const { page, requests } = shared;
  assert.match(await page.textContent('#mode') ?? '', /^Mode: in this browser \(the scan is not uploaded/);
  assert.equal(await page.isDisabled('#sample'), true, 'samples run on the service');
  const jobsBefore = server.store.list().length;
  requests.length = 0;
  await page.setInputFiles('#file', PNG);
  await waitForResult(page);
  const diff = await checkAgainstService(page, service);
  console.log(`1316.png: largest voxel-count difference browser vs service: ${diff}`);
  const run = await page.evaluate(() => window.covseg!.browserRun!);
  assert.equal(run.report.lungs.total.volumeMl, null);
  assert.equal(await page.isVisible('#volume-note'), true);
  await checkOverlays(page, run.report);
  checkNoUpload(requests, jobsBefore, ['/browser/browser-worker.js', '/vendor/ort/ort-wasm-simd-threaded.wasm', '/api/models/lung', '/api/models/lesion']);
  assert.match(await page.textContent('#status-text') ?? '', /^Done in \d+\.\d s in this browser: 1316\.png$/);
  assert.equal(await page.evaluate(() => document.getElementById('bar-fill')!.style.width), '100%');
  assert.deepEqual(await page.$$eval('#downloads a', (as) => as.map((a) => a.textContent)), ['report.json']);
  // NiiVue shows the slice in covseg's geometry for image files (the service mode's ct.nii.gz has it), so right/left labels show on the right side.
  const shown = await shownCt(page);
  const covseg = await readVolume(PNG);
  assert.deepEqual([shown.spacingMm, shown.origin, shown.direction], [covseg.spacingMm, covseg.origin, covseg.direction]);
  assert.deepEqual([...shown.data], [...covseg.data], 'NiiVue shows the pixels covseg segmented');
  logTimings('1316.png', service, run);
  const shot = join(tmpdir(), `covseg-browser-mode-png-${process.pid}.png`);
  await page.screenshot({ path: shot });
  console.log(`screenshot: ${shot}`);

  // The service mode's badge returns with it, and the browser mode's with that.
  await page.check('input[name=run-mode][value=service]');
  assert.match(await page.textContent('#mode') ?? '', /^Mode: local service/);
  assert.equal(await page.isDisabled('#sample'), false);
  await page.check('input[name=run-mode][value=browser]');
  assert.match(await page.textContent('#mode') ?? '', /^Mode: in this browser/);
});

test('browser mode, a small real CT volume (NIfTI, 122×101×30): the service\'s numbers, overlays on NiiVue\'s grid, no upload, screenshot', { skip: skip || needsShared(SMALL_CT) }, async () => {
  const file = sharedPath(SMALL_CT);
  const service = await serviceReport(file);
  const { page, requests } = shared;
  const jobsBefore = server.store.list().length;
  requests.length = 0;
  await page.setInputFiles('#file', file);
  await waitForResult(page);
  const diff = await checkAgainstService(page, service);
  console.log(`${basename(file)}: largest voxel-count difference browser vs service: ${diff}`);
  const run = await page.evaluate(() => window.covseg!.browserRun!);
  assert.deepEqual(run.report.input.dims, service.input.dims);
  assert.deepEqual(run.report.input.spacingMm, service.input.spacingMm);
  assert.equal(run.slices.lungs, service.input.dims[2], 'the lung model ran on every slice');
  await checkOverlays(page, run.report);
  // The lesion types against the service's (its lesion-types.nii.gz is counted as its report counts, test/segment): float rounding only.
  for (const type of ['groundGlass', 'consolidation'] as const) {
    within(run.report.clinical!.total[type]!.voxels, service.clinical!.total[type]!.voxels, 2, `${type} voxels`);
  }
  assert.ok(run.report.clinical!.total.groundGlass!.voxels > 0 && run.report.clinical!.total.consolidation!.voxels > 0, 'the real CT has both types');
  checkNoUpload(requests, jobsBefore, ['/api/models/lung', '/api/models/lesion']);
  // The CT in the lung window, as the service mode shows it.
  assert.deepEqual(await page.evaluate(() => [window.covseg!.nv.volumes[0]!.cal_min, window.covseg!.nv.volumes[0]!.cal_max]), [-1350, 150]);
  logTimings(basename(file), service, run);
  const shot = join(tmpdir(), `covseg-browser-mode-nifti-${process.pid}.png`);
  await page.screenshot({ path: shot });
  console.log(`screenshot: ${shot}`);
});

test('browser mode, a colour JPEG with "segment even if the input checks fail": the page shows covseg\'s grey image under the overlays', { skip }, async () => {
  // 1397.png stored as RGB with a tint in every 7th pixel: a colour picture, refused unless forced.
  const grey = decodePng(await readFile(join(PROJECT_ROOT, 'examples/zenodo20-slices/ct/1397.png')));
  const rgba = Buffer.alloc(grey.width * grey.height * 4);
  for (let i = 0; i < grey.width * grey.height; i++) {
    const v = grey.data[i * grey.channels]!;
    rgba.set([v, v, Math.min(255, v + (i % 7 === 0 ? 9 : 0)), 255], 4 * i);
  }
  const bytes = jpeg.encode({ data: rgba, width: grey.width, height: grey.height }, 90).data;
  const { page } = shared;
  await page.check('#force');
  await page.setInputFiles('#file', { name: 'tinted.jpg', mimeType: 'image/jpeg', buffer: bytes });
  await waitForResult(page);
  await page.uncheck('#force');
  const run = await page.evaluate(() => window.covseg!.browserRun!);
  assert.ok(run.report.warnings.includes('segmented despite: this is a colour picture, not a greyscale CT slice (--force)'));
  await checkOverlays(page, run.report);
  const shown = await shownCt(page);
  assert.deepEqual([...shown.data], [...decodeRasterSlice(new Uint8Array(bytes), 'tinted.jpg', 'jpeg').volume.data], 'the grey values covseg segmented');
  assert.equal(await page.evaluate(() => window.covseg!.nv.volumes[0]!.hdr!.datatypeCode), 2, 'shown as uint8 grey, not RGBA');
});

test('NiiVue\'s reading, converted to a Volume, equals covseg\'s reader: oblique NIfTI (sform, qform only, big-endian, NIfTI-2, rescaled), 2D NIfTI, RAS NRRD', { skip }, async () => {
  const files = [
    'oblique-int16.nii', 'oblique-int16.nii.gz', 'oblique-int16-qform-only.nii', 'oblique-int16-bigendian.nii', 'oblique-int16-nifti2.nii',
    'oblique-uint8-slope-2.nii', 'oblique-uint8-slope-half.nii', 'slice-int16.nii', 'oblique-int16-ras.nrrd',
  ].map((f) => join(FIXTURES, f));
  const { page } = shared;
  for (const file of files) {
    // The page's own extraction (browser-mode.js's niivueInput) of what NiiVue read.
    const read = await page.evaluate(async ({ data, name }) => {
      const { niivueInput } = await import('/browser-mode.js' as string) as typeof import('../../src/web/page/browser-mode.js');
      const nv = window.covseg!.nv;
      const url = URL.createObjectURL(new Blob([new Uint8Array(data)]));
      await nv.loadVolumes([{ url, name }]);
      URL.revokeObjectURL(url);
      const { image } = niivueInput(nv.volumes[0]!, name, name.endsWith('.nrrd') ? 'nrrd' : 'nifti');
      return { hdr: image.hdr, type: image.img.constructor.name, img: Array.from(image.img) };
    }, { data: [...(await readFile(file))], name: basename(file) });
    const types = { Int8Array, Uint8Array, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array } as Record<string, { from(a: number[]): VoxelArray }>;
    const image: NiivueImage = { hdr: read.hdr, img: types[read.type]!.from(read.img) };
    const mine = volumeFromNiivue(image, { file: basename(file) });
    const theirs = await readVolume(file);
    const name = basename(file);
    assert.deepEqual(mine.dims, theirs.dims, `${name} dims`);
    mine.spacingMm.forEach((s, i) => assert.ok(Math.abs(s - theirs.spacingMm[i]!) <= 1e-6 * theirs.spacingMm[i]!, `${name} spacing ${mine.spacingMm} vs ${theirs.spacingMm}`));
    mine.origin.forEach((o, i) => assert.ok(Math.abs(o - theirs.origin[i]!) <= 1e-4, `${name} origin ${mine.origin} vs ${theirs.origin}`));
    mine.direction.forEach((d, i) => assert.ok(Math.abs(d - theirs.direction[i]!) <= 1e-5, `${name} direction ${mine.direction} vs ${theirs.direction}`));
    assert.equal(mine.data.constructor.name, theirs.data.constructor.name, `${name} voxel type`);
    assert.ok(mine.data.length === theirs.data.length && mine.data.every((v, i) => v === theirs.data[i]), `${name}: the same voxel values in the same order`);
  }
});

test('browser-mode refusals on the page: a format it does not read, no lungs in the image, a worker that cannot start', { skip }, async () => {
  const { page } = shared;
  await page.setInputFiles('#file', { name: 'chest.dcm', mimeType: 'application/dicom', buffer: Buffer.from('DICM') });
  await page.waitForFunction(() => document.body.dataset['state'] === 'error');
  assert.match(await page.textContent('#error') ?? '', /^chest\.dcm: in-browser segmentation reads NIfTI \(\.nii, \.nii\.gz\), NRRD \(\.nrrd\) and PNG\/JPEG slices; choose "on the covseg service"/);

  // A flat grey slice: the worker's pipeline refuses it with covseg segment's own message.
  const flat = encodePng({ width: 96, height: 96, channels: 1, data: new Uint8Array(96 * 96).fill(120) });
  await page.setInputFiles('#file', { name: 'flat.png', mimeType: 'image/png', buffer: Buffer.from(flat) });
  await page.waitForFunction(() => document.body.dataset['state'] === 'error' && !document.getElementById('error')!.textContent!.startsWith('chest.dcm'), null, { timeout: 60_000 });
  assert.match(await page.textContent('#error') ?? '', /^flat\.png: no lungs were found in this image, so lung involvement cannot be measured/);

  const broken = await openBrowserModePage();
  await broken.page.route('**/browser/browser-worker.js', (route) => route.fulfill({ status: 404, contentType: 'application/json', body: '{}' }));
  await broken.page.setInputFiles('#file', PNG);
  await broken.page.waitForFunction(() => document.body.dataset['state'] === 'error', null, { timeout: 30_000 });
  assert.match(await broken.page.textContent('#error') ?? '', /^the in-browser worker failed: /);
  await broken.context.close();
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
});
