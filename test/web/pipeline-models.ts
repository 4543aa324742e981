/**
 * The models the web tests run jobs with. The lung model must be the shipped one
 * (models/lung-2d.onnx: the tests need real lungs found in real CT); when the shipped
 * lesion model is absent, a small random-weight lesion U-Net exported by the project's
 * own ONNX exporter stands in, since what these tests check is the service around the
 * pipeline (queue, files, page), not the quality of the lesion masks.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer, type ServeOptions } from '../../src/web/server.js';
import { DEFAULT_LESION_MODEL_PATH } from '../../src/segment/index.js';
import { DEFAULT_LUNG_MODEL_PATH } from '../../src/lungs/default-model.js';
import { tinyModel } from '../helpers/tiny-models.js';

/** `skip` value for tests that run real jobs: false when the lung model is there, else why not. */
export function needsLungModel(): false | string {
  return existsSync(DEFAULT_LUNG_MODEL_PATH) ? false : `needs the shipped lung model ${DEFAULT_LUNG_MODEL_PATH} (see models/README.md)`;
}

/** The lesion model file to serve jobs with: the shipped one, or a random-weight stand-in written into `dir`. */
export async function lesionModelFor(dir: string): Promise<{ path: string; shipped: boolean }> {
  if (existsSync(DEFAULT_LESION_MODEL_PATH)) return { path: DEFAULT_LESION_MODEL_PATH, shipped: true };
  const path = join(dir, 'lesion-random.onnx');
  await writeFile(path, tinyModel({ task: 'lesion', dims: 2, inputSize: 64, inputTransform: 'clahe-v1', threshold: 0.5 }, { seed: 3 }));
  return { path, shipped: false };
}

export interface JobServer {
  server: RunningServer;
  /** A temp folder for the test's own files. */
  scratch: string;
  /** Stops the server and removes the scratch folder. */
  close(): Promise<void>;
}

/** covseg serve on a free port, running jobs with the test models (see above). */
export async function startJobServer(options: ServeOptions = {}): Promise<JobServer> {
  const scratch = await mkdtemp(join(tmpdir(), 'covseg-web-test-'));
  const lesion = await lesionModelFor(scratch);
  if (!lesion.shipped) console.log(`models/lesion-2d.onnx is absent: jobs use a random-weight lesion U-Net (${lesion.path})`);
  const server = await startServer({ port: 0, ...options, segment: { lesionModel: lesion.path, ...options.segment } });
  return {
    server,
    scratch,
    async close() {
      await server.close();
      await rm(scratch, { recursive: true, force: true });
    },
  };
}
