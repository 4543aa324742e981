/**
 * Worker-process entry for the web job queue: runs segmentCase for one task at a time
 * and streams its progress back, so the HTTP server never blocks on inference. The
 * default models and the lobe model stay loaded between jobs (reloaded when their file
 * changes), which saves every job after the first the ONNX session start-up.
 */
import { stat } from 'node:fs/promises';
import { segmentCase, openLobeModel, DEFAULT_LESION_MODEL_PATH, type SegmentOptions } from '../segment/index.js';
import { DEFAULT_LUNG_MODEL_PATH, loadDefaultLungModel } from '../lungs/default-model.js';
import { loadSegmentationModel, type SegmentationModel } from '../infer/segmentation-model.js';
import type { LungSegmenter } from '../lungs/segmenter.js';
import type { WorkerReply, WorkerTask } from './job-queue.js';
import { webJobError } from './user-message.js';

if (!process.send) throw new Error('segment-worker.js must run as a child process with an IPC channel (it is started by JobQueue)');
const send = (reply: WorkerReply) => process.send!(reply);

const cache = new Map<string, { mtimeMs: number; model: unknown }>();

/** The model at `path`, loaded once per file version (`kind` keeps a file opened as two kinds of model apart). */
async function cached<M>(kind: string, path: string, load: () => Promise<M>): Promise<M> {
  const { mtimeMs } = await stat(path);
  const key = `${kind}:${path}`;
  const hit = cache.get(key);
  if (hit && hit.mtimeMs === mtimeMs) return hit.model as M;
  const model = await load();
  cache.set(key, { mtimeMs, model });
  return model;
}

async function run(task: WorkerTask): Promise<WorkerReply> {
  const { threads } = task.options;
  const loaded: NonNullable<SegmentOptions['loaded']> = {};
  // A missing model file is left to segmentCase, whose error says how to get it.
  const lesionPath = task.options.lesionModel ?? DEFAULT_LESION_MODEL_PATH;
  loaded.lesion = await cached<SegmentationModel>('lesion', lesionPath, () => loadSegmentationModel(lesionPath, { threads })).catch(() => undefined);
  if ((task.options.lungModel ?? 'default') === 'default') {
    loaded.lung = await cached<SegmentationModel>('lung', DEFAULT_LUNG_MODEL_PATH, () => loadDefaultLungModel(DEFAULT_LUNG_MODEL_PATH, { threads })).catch(() => undefined);
  }
  const lobeWeights = task.options.lobeWeights;
  if (lobeWeights !== undefined) loaded.lobes = await cached<LungSegmenter>('lobes', lobeWeights, () => openLobeModel(lobeWeights, threads)).catch(() => undefined);
  const result = await segmentCase(task.input, task.outDir, {
    ...task.options,
    loaded,
    // The page shows the CT under the masks, so every web job writes it.
    writeViewerCt: true,
    onProgress: (stage, done, total) => send({ type: 'progress', id: task.id, stage, done, total }),
  });
  return { type: 'done', id: task.id, result };
}

/** The job's error as its user reads it. */
function jobError(err: unknown, task: WorkerTask): string {
  return webJobError(err instanceof Error ? err.message : String(err), task.input, task.options.inputName);
}

process.on('message', (task: WorkerTask) => {
  run(task).then(
    (reply) => send(reply),
    (err: unknown) => send({ type: 'failed', id: task.id, message: jobError(err, task) }),
  );
});
// The server went away: nothing left to work for.
process.on('disconnect', () => process.exit(0));
