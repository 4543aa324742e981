/**
 * What the page loads before a scan: `GET /api/config` (colours, limits, mode, the browser
 * mode's files) and `GET /api/models/:task`, the models the browser mode downloads; a
 * scan never travels the other way.
 */
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { CONSOLIDATION, GROUND_GLASS, LEFT_LUNG, LESION, RIGHT_LUNG, type Rgb } from '../../figures/colors.js';
import { BROWSER_BUNDLE_DIR, BROWSER_LESION_MODEL_PATH, BROWSER_LUNG_MODEL_PATH, BROWSER_WORKER_FILE } from '../assets.js';
import { HttpError } from '../http-error.js';
import { isLoopback } from '../plugins/security.js';

/** The JSON of `GET /api/config`: what the page needs to know about this service. */
export interface WebConfig {
  /** Overlay colours, the ones every covseg figure uses (src/figures/colors.ts). */
  colors: { rightLung: Rgb; leftLung: Rgb; lesion: Rgb };
  /** The lesion by type (a job's lesion-types file, HU input): ground glass and consolidation, as covseg's pictures draw them. */
  lesionTypeColors: { groundGlass: Rgb; consolidation: Rgb };
  maxUploadBytes: number;
  /** Where the scan is processed, in words for the page's mode badge. */
  modeText: string;
  /** The page's second mode, the models run in the browser: where its worker and models are, or why it is unavailable. */
  browserMode: BrowserModeConfig;
}

/** What the page's browser mode loads; every URL is on this service (nothing from a CDN). */
export interface BrowserModeConfig {
  /** False when the worker bundle or a model file is missing; `reason` then says what to do. */
  available: boolean;
  reason?: string;
  /** The bundled worker that runs the pipeline (src/web/browser/worker.ts). */
  workerUrl: string;
  /** Folder URL of onnxruntime-web's .wasm/.mjs files. */
  wasmUrl: string;
  /** The default lung model and the lesion model this service segments with; `name` is the file name the report shows. */
  models: { lung: { url: string; name: string }; lesion: { url: string; name: string } };
}

export interface ConfigRouteOptions {
  /** The address the service listens on. */
  host: string;
  maxUploadBytes: number;
  /** The lesion model the service's jobs use, which the browser mode then uses too. Defaults to the project's. */
  lesionModel?: string;
}

type BrowserModels = Record<'lung' | 'lesion', string>;

/** The browser mode's settings, available only when its worker bundle and both model files exist. */
function browserModeConfig(models: BrowserModels): BrowserModeConfig {
  const missing = [
    existsSync(join(BROWSER_BUNDLE_DIR, BROWSER_WORKER_FILE)) ? '' : `the worker bundle dist/web/${BROWSER_WORKER_FILE} (run 'npm run build')`,
    existsSync(models.lung) ? '' : `the lung model ${basename(models.lung)}`,
    existsSync(models.lesion) ? '' : `the lesion model ${basename(models.lesion)}`,
  ].filter(Boolean);
  return {
    available: missing.length === 0,
    ...(missing.length ? { reason: `in-browser segmentation needs ${missing.join(' and ')}` } : {}),
    workerUrl: `/browser/${BROWSER_WORKER_FILE}`,
    wasmUrl: '/vendor/ort/',
    models: { lung: { url: '/api/models/lung', name: basename(models.lung) }, lesion: { url: '/api/models/lesion', name: basename(models.lesion) } },
  };
}

export const configRoutes: FastifyPluginAsync<ConfigRouteOptions> = async (app, { host, maxUploadBytes, lesionModel }) => {
  const config: Omit<WebConfig, 'browserMode'> = {
    colors: { rightLung: RIGHT_LUNG, leftLung: LEFT_LUNG, lesion: LESION },
    lesionTypeColors: { groundGlass: GROUND_GLASS, consolidation: CONSOLIDATION },
    maxUploadBytes,
    modeText: isLoopback(host)
      ? 'Mode: local service (scans are processed by covseg on this computer and do not leave it)'
      : `Mode: network service (scans are uploaded to the covseg service at ${host})`,
  };
  const models: BrowserModels = { lung: BROWSER_LUNG_MODEL_PATH, lesion: lesionModel ?? BROWSER_LESION_MODEL_PATH };
  app.get('/api/config', async (): Promise<WebConfig> => ({ ...config, browserMode: browserModeConfig(models) }));

  app.get<{ Params: { task: string } }>('/api/models/:task', async (request, reply) => {
    const task = request.params.task;
    if (task !== 'lung' && task !== 'lesion') throw new HttpError(404, 'not-found', `no model '${task.slice(0, 32)}'; the models are /api/models/lung and /api/models/lesion`);
    const path = models[task];
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new HttpError(404, 'not-found', `the ${task} model file ${basename(path)} is missing on this service; see models/README.md`);
    reply.header('content-type', 'application/octet-stream');
    reply.header('content-length', String(info.size));
    // Revalidated on every use: a retrained model replaces the file under the same name.
    reply.header('cache-control', 'no-cache');
    reply.header('last-modified', new Date(info.mtimeMs).toUTCString());
    return reply.send(createReadStream(path));
  });
};
