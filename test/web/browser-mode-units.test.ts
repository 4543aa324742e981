/**
 * The browser mode's parts that run in Node as well: NiiVue header → Volume (hand-made
 * headers with hand-computed geometry), the page's format and progress helpers, the
 * server's routes for the worker, onnxruntime-web and the models, and the pipeline over
 * onnxruntime-web (its Node build runs the same WebAssembly) against `covseg segment`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ortWeb from 'onnxruntime-web';
import { volumeFromNiivue, type NiivueHeader } from '../../src/web/browser/niivue-volume.js';
import { loadOnnxWebModel } from '../../src/web/browser/onnx-web-model.js';
import { segmentInBrowser } from '../../src/web/browser/segment-in-browser.js';
import { browserFormat, describeProgress } from '../../src/web/page/browser-mode.js';
import { BROWSER_LESION_MODEL_PATH, BROWSER_LUNG_MODEL_PATH, startServer, type RunningServer, type WebConfig } from '../../src/web/server.js';
import { DEFAULT_LUNG_MODEL_PATH } from '../../src/lungs/default-model.js';
import { DEFAULT_LESION_MODEL_PATH, segmentCase } from '../../src/segment/index.js';
import { loadSegmentationModel } from '../../src/infer/segmentation-model.js';
import { predictSlices } from '../../src/infer/slice-inferer.js';
import { readImage } from '../../src/io/index.js';
import { OnnxGraph } from '../../src/nn/onnx/graph.js';
import { specToMetadata } from '../../src/infer/model-spec.js';
import type { Mat3, Vec3, VoxelArray } from '../../src/volume/volume.js';
import { PROJECT_ROOT } from '../helpers/shared-data.js';
import { getJson } from './client.js';

const PNG = join(PROJECT_ROOT, 'examples/zenodo20-slices/ct/1316.png');
const DICOM = join(PROJECT_ROOT, 'examples/chest-ct-dicom-slice/chest-ct.dcm');
const haveModels = existsSync(DEFAULT_LUNG_MODEL_PATH) && existsSync(DEFAULT_LESION_MODEL_PATH);
const needsModels = haveModels ? false : `needs the shipped models ${DEFAULT_LUNG_MODEL_PATH} and ${DEFAULT_LESION_MODEL_PATH}`;

const I4 = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
const header = (over: Partial<NiivueHeader>): NiivueHeader => ({ dims: [3, 1, 1, 1, 1, 1, 1, 1], pixDims: [1, 1, 1, 1, 0, 0, 0, 0], affine: I4, scl_slope: 1, scl_inter: 0, ...over });

function near(actual: readonly number[], expected: readonly number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]!) <= tol, `${what}[${i}]: ${a} vs ${expected[i]}`));
}

test('volumeFromNiivue: RAS affine → LPS geometry, pixdim kept when it agrees, 2D normal, voxel order kept', () => {
  const cases: { name: string; hdr: NiivueHeader; spacing: Vec3; origin: Vec3; direction: Mat3 }[] = [
    { name: 'identity RAS: x and y flip', hdr: header({}), spacing: [1, 1, 1], origin: [0, 0, 0], direction: [-1, 0, 0, 0, -1, 0, 0, 0, 1] },
    {
      // test/fixtures/io/README.md: the oblique fixtures' RAS affine and their LPS geometry.
      name: 'oblique',
      hdr: header({ pixDims: [1, 0.7, 0.9, 2.5], affine: [[0.56, -0.324, 1.2, -12.5], [0.42, 0.432, -1.6, 30.25], [0, 0.72, 1.5, 47], [0, 0, 0, 1]] }),
      spacing: [0.7, 0.9, 2.5], origin: [12.5, -30.25, 47], direction: [-0.8, 0.36, -0.48, -0.6, -0.48, 0.64, 0, 0.8, 0.6],
    },
    { name: 'pixdim disagreeing with the affine: the affine wins', hdr: header({ affine: [[2, 0, 0, 1], [0, 2, 0, 2], [0, 0, 2, 3], [0, 0, 0, 1]] }), spacing: [2, 2, 2], origin: [-1, -2, 3], direction: [-1, 0, 0, 0, -1, 0, 0, 0, 1] },
    { name: 'pixdim within 1e-4 of the column norm: pixdim exactly', hdr: header({ pixDims: [1, 0.7, 1, 1], affine: [[-0.70000001, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] }), spacing: [0.7, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, -1, 0, 0, 0, 1] },
    // cross((−1,0,0), (0,−1,0)) = (0,0,1), pixdim[3] = 3 long.
    { name: '2D, empty third column', hdr: header({ dims: [2, 1, 1, 1], pixDims: [1, 1, 1, 3], affine: [[1, 0, 0, 5], [0, 1, 0, 6], [0, 0, 0, 7], [0, 0, 0, 1]] }), spacing: [1, 1, 3], origin: [-5, -6, 7], direction: [-1, 0, 0, 0, -1, 0, 0, 0, 1] },
  ];
  for (const c of cases) {
    const vol = volumeFromNiivue({ hdr: c.hdr, img: new Int16Array([7]) }, { file: c.name });
    near(vol.spacingMm, c.spacing, 1e-12, `${c.name} spacing`);
    near(vol.origin, c.origin, 1e-12, `${c.name} origin`);
    near(vol.direction, c.direction, 1e-12, `${c.name} direction`);
  }
  // The 'pixdim agrees' rule gives pixdim itself, not the norm.
  assert.equal(volumeFromNiivue({ hdr: cases[3]!.hdr, img: new Int16Array([1]) }).spacingMm[0], 0.7);
  const grid = volumeFromNiivue({ hdr: header({ dims: [3, 3, 2, 2] }), img: Int16Array.from({ length: 12 }, (_, i) => i * 10) });
  assert.deepEqual(grid.dims, [3, 2, 2]);
  assert.deepEqual([...grid.data], [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]);
});

test('volumeFromNiivue: scl_slope/scl_inter applied as covseg reads them (int16 when integral, else float32)', () => {
  const cases: { name: string; slope: number; inter: number; img: VoxelArray; type: string; values: number[] }[] = [
    { name: 'slope 2, inter −1024', slope: 2, inter: -1024, img: new Uint8Array([0, 1, 255]), type: 'Int16Array', values: [-1024, -1022, -514] },
    { name: 'slope 0.5, inter −10', slope: 0.5, inter: -10, img: new Uint8Array([0, 1, 3]), type: 'Float32Array', values: [-10, -9.5, -8.5] },
    { name: 'slope 1, inter 0: stored values', slope: 1, inter: 0, img: new Int16Array([-1000, 0, 40]), type: 'Int16Array', values: [-1000, 0, 40] },
    { name: 'slope 0 means no scaling', slope: 0, inter: 5, img: new Uint8Array([3, 4, 5]), type: 'Uint8Array', values: [3, 4, 5] },
    { name: 'slope NaN means no scaling', slope: NaN, inter: 0, img: new Uint8Array([3, 4, 5]), type: 'Uint8Array', values: [3, 4, 5] },
    { name: 'slope 1, inter −1024', slope: 1, inter: -1024, img: new Uint16Array([0, 1024, 2048]), type: 'Int16Array', values: [-1024, 0, 1024] },
  ];
  for (const c of cases) {
    const vol = volumeFromNiivue({ hdr: header({ dims: [3, 3, 1, 1], scl_slope: c.slope, scl_inter: c.inter }), img: c.img });
    assert.equal(vol.data.constructor.name, c.type, c.name);
    assert.deepEqual([...vol.data], c.values, c.name);
    assert.notEqual(vol.data, c.img, `${c.name}: a copy, NiiVue keeps its own`);
  }
});

test('volumeFromNiivue refuses: 4D, colour (values ≠ voxels), no affine, zero column', () => {
  assert.throws(() => volumeFromNiivue({ hdr: header({ dims: [4, 2, 2, 1, 3] }), img: new Int16Array(12) }, { file: 'fmri.nii' }), /^CovsegError: fmri\.nii: a 4D image \(2×2×1×3\); covseg segments one 2D or 3D CT/);
  assert.throws(() => volumeFromNiivue({ hdr: header({ dims: [3, 2, 2, 1] }), img: new Uint8Array(12) }, { file: 'rgb.nii' }), /rgb\.nii: NiiVue holds 12 values for 2×2×1 voxels \(a colour or multi-component image\?\)/);
  assert.throws(() => volumeFromNiivue({ hdr: header({ affine: [[NaN, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]] }), img: new Int16Array(1) }, { file: 'x.nrrd' }), /x\.nrrd: NiiVue gave no usable affine for this image; convert it to NIfTI/);
  assert.throws(() => volumeFromNiivue({ hdr: header({ affine: [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0]] }), img: new Int16Array(1) }), /image: the image affine has a zero column \(degenerate geometry\)/);
});

test('browserFormat by file name; progress as bar fraction and slice count', () => {
  const names: [string, string | undefined][] = [
    ['scan.nii', 'nifti'], ['SCAN.NII.GZ', 'nifti'], ['ct.nrrd', 'nrrd'], ['1316.PNG', 'png'], ['a.jpg', 'jpeg'], ['a.jpeg', 'jpeg'],
    ['chest.dcm', undefined], ['series.zip', undefined], ['ct.mha', undefined], ['ct.gz', undefined],
  ];
  for (const [name, format] of names) assert.equal(browserFormat(name), format, name);
  const progress: [Parameters<typeof describeProgress>[0], number, string][] = [
    [{ type: 'progress', id: 1, stage: 'models', done: 1, total: 2 }, 0.05, 'In this browser: loading the models (1/2)'],
    // lungs span 0.1–0.55: 0.1 + 0.45 × 3/10
    [{ type: 'progress', id: 1, stage: 'lungs', done: 3, total: 10 }, 0.235, 'In this browser: lungs, slice 3 of 10: ct.nii'],
    // lesions span 0.55–0.95: 0.55 + 0.4 × 1/4
    [{ type: 'progress', id: 1, stage: 'lesions', done: 1, total: 4 }, 0.65, 'In this browser: lesions, slice 1 of 4: ct.nii'],
    [{ type: 'progress', id: 1, stage: 'report', done: 1, total: 1 }, 1, 'In this browser: report: ct.nii'],
  ];
  for (const [p, fraction, text] of progress) {
    const [f, t] = describeProgress(p, 'ct.nii');
    assert.ok(Math.abs(f - fraction) < 1e-12, `${p.stage}: ${f}`);
    assert.equal(t, text);
  }
});

test('the server names the very model files covseg segment uses', () => {
  assert.equal(BROWSER_LUNG_MODEL_PATH, DEFAULT_LUNG_MODEL_PATH);
  assert.equal(BROWSER_LESION_MODEL_PATH, DEFAULT_LESION_MODEL_PATH);
});

let server: RunningServer;
let noModels: RunningServer;
before(async () => {
  server = await startServer({ port: 0 });
  noModels = await startServer({ port: 0, segment: { lesionModel: '/nonexistent/lesion-x.onnx' } });
});
after(async () => {
  await server?.close();
  await noModels?.close();
});

test('routes of the browser mode: worker bundle, onnxruntime-web wasm (nothing else of the package), the models', async () => {
  const cases: [string, number, RegExp][] = [
    ['/vendor/ort/ort-wasm-simd-threaded.wasm', 200, /application\/wasm/],
    ['/vendor/ort/ort-wasm-simd-threaded.mjs', 200, /javascript/],
    ['/vendor/ort/ort.min.mjs', 404, /json/],
    ['/vendor/ort/ort-wasm-simd-threaded.jsep.wasm', 404, /json/],
    ['/browser-mode.js', 200, /javascript/],
    ['/api/models/lung', existsSync(DEFAULT_LUNG_MODEL_PATH) ? 200 : 404, existsSync(DEFAULT_LUNG_MODEL_PATH) ? /octet-stream/ : /json/],
  ];
  for (const [path, status, type] of cases) {
    const response = await fetch(server.url + path);
    assert.equal(response.status, status, path);
    assert.match(response.headers.get('content-type') ?? '', type, path);
    await response.arrayBuffer();
  }
  if (existsSync(DEFAULT_LUNG_MODEL_PATH)) {
    const response = await fetch(`${server.url}/api/models/lung`);
    assert.equal(response.headers.get('cache-control'), 'no-cache');
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), new Uint8Array(readFileSync(DEFAULT_LUNG_MODEL_PATH)));
  }
  const other = await getJson(`${server.url}/api/models/r231`);
  assert.equal(other.status, 404);
  assert.equal(other.body['message'], "no model 'r231'; the models are /api/models/lung and /api/models/lesion");
});

test('config: the browser mode is available with both models; without one, it says which file is missing', async () => {
  const config = (await getJson<WebConfig>(`${server.url}/api/config`)).body;
  assert.deepEqual(config.browserMode.models, { lung: { url: '/api/models/lung', name: 'lung-2d.onnx' }, lesion: { url: '/api/models/lesion', name: 'lesion-2d.onnx' } });
  assert.equal(config.browserMode.workerUrl, '/browser/browser-worker.js');
  assert.equal(config.browserMode.available, haveModels && existsSync(join(PROJECT_ROOT, 'dist/web/browser-worker.js')));
  const missing = (await getJson<WebConfig>(`${noModels.url}/api/config`)).body.browserMode;
  assert.equal(missing.available, false);
  assert.match(missing.reason ?? '', /^in-browser segmentation needs .*the lesion model lesion-x\.onnx$/);
  const lesion = await getJson(`${noModels.url}/api/models/lesion`);
  assert.equal(lesion.status, 404);
  assert.equal(lesion.body['message'], 'the lesion model file lesion-x.onnx is missing on this service; see models/README.md');
});

test('loadOnnxWebModel refuses a file that is not a covseg model, and one onnxruntime-web cannot load', async () => {
  const plain = new OnnxGraph('plain');
  plain.output(plain.node('Identity', [plain.input('x', 'float32', [1])]), 'y', 'float32', [1]);
  await assert.rejects(loadOnnxWebModel(ortWeb, plain.toBytes(), { name: 'plain.onnx' }), /plain\.onnx: not a covseg model: metadata key 'covseg\.task' is missing/);
  const broken = new OnnxGraph('broken');
  broken.output(broken.node('NoSuchOperator', [broken.input('x', 'float32', [1])]), 'y', 'float32', [1]);
  const metadata = specToMetadata({ task: 'lung', dims: 2, inputSize: 64, inputTransform: 'clahe-v1', threshold: 0.5 });
  await assert.rejects(loadOnnxWebModel(ortWeb, broken.toBytes({ metadata }), { name: 'broken.onnx' }), /^CovsegError: broken\.onnx: onnxruntime-web cannot load this model: /);
});

test('onnxruntime-web (WebAssembly) against onnxruntime-node: probabilities within 1e-4, the PNG slice gives covseg segment\'s numbers', { skip: needsModels }, async () => {
  ortWeb.env.wasm.numThreads = 1;
  const load = async () => ({
    lung: await loadOnnxWebModel(ortWeb, new Uint8Array(readFileSync(DEFAULT_LUNG_MODEL_PATH)), { name: 'lung-2d.onnx' }),
    lesion: await loadOnnxWebModel(ortWeb, new Uint8Array(readFileSync(DEFAULT_LESION_MODEL_PATH)), { name: 'lesion-2d.onnx' }),
  });
  const web = await load();
  const node = { lung: await loadSegmentationModel(DEFAULT_LUNG_MODEL_PATH, { threads: 1 }), lesion: await loadSegmentationModel(DEFAULT_LESION_MODEL_PATH, { threads: 1 }) };
  for (const file of [PNG, DICOM]) {
    const { volume } = await readImage(file);
    for (const task of ['lung', 'lesion'] as const) {
      const [a, b] = [await predictSlices(web[task], volume), await predictSlices(node[task], volume)];
      let maxDiff = 0;
      for (let i = 0; i < a.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.data[i]! - b.data[i]!));
      console.log(`${file.split('/').pop()} ${task} model: max |p_web − p_node| = ${maxDiff.toExponential(2)}`);
      assert.ok(maxDiff < 1e-4, `${task} on ${file}: ${maxDiff}`);
    }
  }
  const { volume, meta } = await readImage(PNG);
  // The worker hashes the lung model's bytes, so the report names it as the service does.
  const lungSha256 = createHash('sha256').update(readFileSync(DEFAULT_LUNG_MODEL_PATH)).digest('hex');
  const mine = await segmentInBrowser(volume, { ...meta, path: '1316.png', seriesDescription: 'AXIAL LUNG 1.25' }, async () => ({ ...web, lungSha256 }));
  const theirs = await segmentCase(PNG, join(server.workDir, 'segment-png'), { loaded: node });
  assert.deepEqual({ lungs: mine.report.lungs, lesions: mine.report.lesions, severity: mine.report.severity }, { lungs: theirs.report.lungs, lesions: theirs.report.lesions, severity: theirs.report.severity });
  assert.deepEqual(mine.report.warnings, theirs.report.warnings);
  assert.equal(mine.report.models.lesion, theirs.report.models.lesion);
  assert.match(theirs.report.models.lung, /^default:lung-2d\.onnx@[0-9a-f]{12}$/);
  assert.equal(mine.report.models.lung, theirs.report.models.lung);
  // One report assembly for both: what the reader tells of the input reaches the browser's report too.
  assert.equal(mine.report.input.seriesDescription, 'AXIAL LUNG 1.25');
  assert.deepEqual(mine.report.outputs, {});
});

test('segmentInBrowser checks the input before it asks for the models', async () => {
  let asked = false;
  const tiny = { data: new Int16Array(16 * 16).fill(-1000), dims: [16, 16, 1] as Vec3, spacingMm: [1, 1, 1] as Vec3, origin: [0, 0, 0] as Vec3, direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] as Mat3 };
  await assert.rejects(
    segmentInBrowser(tiny, { format: 'nifti', path: 'tiny.nii', warnings: [] }, async () => { asked = true; throw new Error('not reached'); }),
    /^CovsegError: tiny\.nii: the image is only 16×16 pixels, too small for a CT slice; pass --force/,
  );
  assert.equal(asked, false);
});
