/**
 * A covseg segmentation model: an ONNX file plus the spec in its metadata.
 */
import { loadOnnxModel, type OnnxModel, type OnnxModelOptions } from '../nn/onnx-model.js';
import { readModelSpec, type ModelSpec } from './model-spec.js';

export interface SegmentationModel {
  file: string;
  spec: ModelSpec;
  onnx: OnnxModel;
}

export async function loadSegmentationModel(model: string | Uint8Array, options: OnnxModelOptions = {}): Promise<SegmentationModel> {
  const onnx = await loadOnnxModel(model, options);
  return { file: onnx.source, spec: readModelSpec(onnx.metadata, onnx.source), onnx };
}
