/**
 * Runs a 3D model the way it was trained: the method's preprocessing (0.9×0.9×4.5 mm,
 * 320×320×80, [0,1]), one pass over the whole grid (the network is fully
 * convolutional), then the probabilities pasted back into the resampled grid with the
 * crop box and resampled onto the CT's own grid.
 */
import type { Volume } from '../volume/volume.js';
import { pasteBack, resampleToGrid } from '../volume/index.js';
import { preprocessCase } from '../preprocess/preprocess-case.js';
import { CovsegError } from '../util/errors.js';
import type { SegmentationModel } from './segmentation-model.js';

export interface VolumeInferenceOptions {
  /** Whether the CT is in HU (decides the padding value). Defaults to true. */
  isHu?: boolean;
  /**
   * The input is already a preprocessed database image (normalised, on the model's grid):
   * run the network on it as given, as in training. Defaults to false.
   */
  preprocessed?: boolean;
}

export async function predictVolume3d(model: SegmentationModel, ct: Volume, options: VolumeInferenceOptions = {}): Promise<Volume<Float32Array>> {
  if (model.spec.dims !== 3) throw new CovsegError(`predictVolume3d needs a 3D model, this one is ${model.spec.dims}D`, { file: model.file });
  if (options.preprocessed) {
    const [nx, ny, nz] = ct.dims;
    const input = ct.data instanceof Float32Array ? ct.data : Float32Array.from(ct.data);
    const { data } = await model.onnx.run(input, [1, 1, nz, ny, nx]);
    return { ...ct, data: data.slice() } as Volume<Float32Array>;
  }
  const pre = preprocessCase(ct, {}, { isHu: options.isHu ?? true });
  const [nx, ny, nz] = pre.image.dims;
  const { data } = await model.onnx.run(pre.image.data, [1, 1, nz, ny, nx]);
  const onGrid = { ...pre.image, data: data.slice() } as Volume<Float32Array>;
  const pasted = pasteBack(onGrid, pre.box, { fillValue: 0 });
  return resampleToGrid(pasted, ct, { interpolation: 'linear', fillValue: 0 }) as Volume<Float32Array>;
}
