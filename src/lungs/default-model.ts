/**
 * The project's own lung model: a 2D U-Net (trained with `covseg train --task lung` on
 * the Zenodo slices' lung masks) run slice by slice, then turned into lungmask's label
 * convention (1 = right lung, 2 = left lung) from the positions of the largest
 * components. Shipped as models/lung-2d.onnx; runs without libtorch.
 */
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import type { LabelMap, Volume } from '../volume/volume.js';
import { loadSegmentationModel, type SegmentationModel } from '../infer/segmentation-model.js';
import { CovsegError } from '../util/errors.js';
import { lungsWithModel, type LungsWithModelOptions } from './lung-sides.js';

// The file-free part lives in lung-sides.ts (the browser runs it); these names stay importable from here.
export { splitLungSides, lungsFromModel, type LungsFromModelOptions } from './lung-sides.js';

export const DEFAULT_LUNG_MODEL_PATH = fileURLToPath(new URL('../../../models/lung-2d.onnx', import.meta.url));

export interface DefaultLungOptions extends LungsWithModelOptions {
  /** ONNX file of the lung model. Defaults to models/lung-2d.onnx. */
  modelPath?: string;
  /** An already loaded model (saves loading it per case). */
  model?: SegmentationModel;
}

/** Loads the lung model; `threads` are ONNX Runtime's intra-op threads (default 2). */
export async function loadDefaultLungModel(modelPath = DEFAULT_LUNG_MODEL_PATH, options: { threads?: number } = {}): Promise<SegmentationModel> {
  if (!existsSync(modelPath)) throw new CovsegError('the lung model file is missing; retrain it with the command in models/README.md', { file: modelPath });
  const model = await loadSegmentationModel(modelPath, { threads: options.threads });
  if (model.spec.task !== 'lung') throw new CovsegError(`this is a '${model.spec.task}' model, not a lung model`, { file: modelPath });
  return model;
}

/** Lung label map on `ct`'s grid: 1 = right lung, 2 = left lung. */
export async function segmentLungsDefault(ct: Volume, options: DefaultLungOptions = {}): Promise<LabelMap> {
  return lungsWithModel(ct, options.model ?? (await loadDefaultLungModel(options.modelPath)), options);
}
