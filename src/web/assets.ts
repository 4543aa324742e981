/**
 * Where the files the service hands out live: the page, the self-hosted NiiVue and
 * onnxruntime-web builds, the browser mode's worker bundle and the models it downloads.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CovsegError } from '../util/errors.js';

/** Project root: this file runs as dist/src/web/assets.js. */
const PROJECT_ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));

/** The bundled example cases the page's sample button offers. */
export const EXAMPLES_DIR = join(PROJECT_ROOT, 'examples');
/** index.html and style.css live in src/web/page, the compiled page scripts in dist/src/web/page. */
export const PAGE_DIRS = [join(PROJECT_ROOT, 'src/web/page'), join(PROJECT_ROOT, 'dist/src/web/page')];

/**
 * The models the page's browser mode downloads: the files lungs/default-model.ts and
 * segment/segment-case.ts name (DEFAULT_LUNG_MODEL_PATH, DEFAULT_LESION_MODEL_PATH; a
 * test checks they agree). Not imported from there: those modules load onnxruntime-node,
 * which the HTTP server's process has no use for.
 */
export const BROWSER_LUNG_MODEL_PATH = join(PROJECT_ROOT, 'models/lung-2d.onnx');
export const BROWSER_LESION_MODEL_PATH = join(PROJECT_ROOT, 'models/lesion-2d.onnx');
/** The browser mode's worker, bundled by esbuild (`npm run build`) from src/web/browser/worker.ts. */
export const BROWSER_BUNDLE_DIR = join(PROJECT_ROOT, 'dist/web');
export const BROWSER_WORKER_FILE = 'browser-worker.js';
/** onnxruntime-web's single WebAssembly build and its loader, self-hosted (no CDN). */
export const ORT_WASM_FILES = ['ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.mjs'];

/** onnxruntime-web's dist/ folder (Node resolves the package to its Node build there). */
export function ortWebDist(): string {
  return dirname(fileURLToPath(import.meta.resolve('onnxruntime-web')));
}

export function niivueDist(): string {
  // The package exports only an ESM 'import' entry (build/niivue/index.js); its browser bundle sits beside it in dist/.
  const entry = fileURLToPath(import.meta.resolve('@niivue/niivue'));
  const dist = resolve(dirname(entry), '../../dist');
  if (!existsSync(join(dist, 'index.js'))) {
    throw new CovsegError(`NiiVue's browser bundle is missing (looked for ${join(dist, 'index.js')}); reinstall with 'npm ci'`);
  }
  return dist;
}
