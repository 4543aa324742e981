/**
 * The browser mode's Web Worker (bundled by esbuild into dist/web/browser-worker.js):
 * downloads the models from the covseg service, runs `covseg segment`'s pipeline with
 * onnxruntime-web on the image the page sends, and sends back the label maps (for HU
 * input also the lesion by type) and the report. The page stays responsive, and the scan never leaves the browser: the only
 * requests made here are GETs for the models and onnxruntime-web's own files.
 *
 * Threads: onnxruntime-web's WebAssembly runs single-threaded. Its threaded mode needs
 * SharedArrayBuffer, i.e. a cross-origin-isolated page (COOP/COEP headers), which
 * covseg serve does not set: they would also bind the report pages and downloads it
 * serves, and this worker already keeps the page responsive.
 */
import * as ort from 'onnxruntime-web/wasm';
import type { SegmentationModel } from '../../infer/segmentation-model.js';
import { decodeRasterSlice } from '../../io/raster-decode.js';
import type { Volume } from '../../volume/volume.js';
import type { InputMeta } from '../../segment/segment-volume.js';
import { loadOnnxWebModel } from './onnx-web-model.js';
import { volumeFromNiivue } from './niivue-volume.js';
import { segmentInBrowser } from './segment-in-browser.js';
import type { ModelRef, SegmentRequest, WorkerReply } from './messages.js';
import { webForceHint } from '../user-message.js';

/** The worker's global scope, typed by hand: the project compiles with the DOM library, not WebWorker's. */
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<SegmentRequest>) => void) | null;
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
};

/** A model the worker loaded, and the sha256 of its file (the report names covseg's lung model by it, as the service does). */
interface LoadedModel {
  model: SegmentationModel;
  sha256?: string;
}

/** Loaded models by URL, with the Last-Modified they were loaded at: a retrained model file is loaded anew. */
const models = new Map<string, LoadedModel & { stamp: string }>();

/** sha256 (hex) of `bytes`; undefined where the page is not a secure context (Web Crypto is then absent). */
async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string | undefined> {
  if (!globalThis.crypto?.subtle) return undefined;
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function modelFor(ref: ModelRef): Promise<LoadedModel> {
  let response: Response;
  try {
    response = await fetch(ref.url);
  } catch (err) {
    throw new Error(`the ${ref.name} model could not be downloaded: the covseg service did not answer (${(err as Error).message})`);
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { message?: string };
    throw new Error(body.message ?? `the ${ref.name} model could not be downloaded (HTTP ${response.status})`);
  }
  const stamp = `${response.headers.get('last-modified')} ${response.headers.get('content-length')}`;
  const hit = models.get(ref.url);
  if (hit && hit.stamp === stamp) {
    await response.body?.cancel();
    return hit;
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const loaded = { model: await loadOnnxWebModel(ort, bytes, { name: ref.name }), sha256: await sha256Hex(bytes) };
  if (hit) await hit.model.onnx.release();
  models.set(ref.url, { stamp, ...loaded });
  return loaded;
}

function inputVolume(request: SegmentRequest): { ct: Volume; meta: InputMeta } {
  const { input } = request;
  if (input.kind === 'raster') {
    const { volume, meta } = decodeRasterSlice(new Uint8Array(input.bytes), input.name, input.format);
    return { ct: volume, meta };
  }
  return { ct: volumeFromNiivue(input.image, { file: input.name }), meta: { format: input.format, path: input.name, warnings: [] } };
}

async function segment(request: SegmentRequest): Promise<void> {
  const { id } = request;
  const base = new URL(request.wasmUrl, self.location.href).href;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = { wasm: `${base}ort-wasm-simd-threaded.wasm`, mjs: `${base}ort-wasm-simd-threaded.mjs` };
  const { ct, meta } = inputVolume(request);
  const loadModels = async () => {
    scope.postMessage({ type: 'progress', id, stage: 'models', done: 0, total: 2 });
    const lung = await modelFor(request.models.lung);
    scope.postMessage({ type: 'progress', id, stage: 'models', done: 1, total: 2 });
    const lesion = await modelFor(request.models.lesion);
    scope.postMessage({ type: 'progress', id, stage: 'models', done: 2, total: 2 });
    return { lung: lung.model, lungSha256: lung.sha256, lesion: lesion.model };
  };
  const { report, lungs, lesions, lesionTypes } = await segmentInBrowser(ct, meta, loadModels, {
    force: request.force,
    onProgress: (stage, done, total) => scope.postMessage({ type: 'progress', id, stage, done, total }),
  });
  const grey = request.input.kind === 'raster' ? (ct.data as Uint8Array | Uint16Array) : undefined;
  const buffers = [...new Set([lungs.data.buffer, lesions.data.buffer, ...(lesionTypes ? [lesionTypes.data.buffer] : []), ...(grey ? [grey.buffer] : [])])] as ArrayBuffer[];
  scope.postMessage({ type: 'done', id, report, lungs: lungs.data, lesions: lesions.data, ...(lesionTypes ? { lesionTypes: lesionTypes.data } : {}), ...(grey ? { grey } : {}) }, buffers);
}

scope.onmessage = (event) => {
  const request = event.data;
  segment(request).catch((err: Error) => scope.postMessage({ type: 'error', id: request.id, message: webForceHint(err.message, 'browser') }));
};
