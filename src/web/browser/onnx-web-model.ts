/**
 * covseg's `OnnxModel` over onnxruntime-web (WebAssembly), so that the browser runs
 * infer/slice-inferer.ts and the rest of the pipeline unchanged. The runtime module is
 * passed in rather than imported: the worker bundle passes 'onnxruntime-web/wasm' (the
 * WebAssembly backend alone), Node tests may pass 'onnxruntime-web' itself.
 */
import type * as OrtWeb from 'onnxruntime-web';
import type { OnnxModel } from '../../nn/onnx-model.js';
import { readOnnxMetadata } from '../../nn/onnx/graph.js';
import { readModelSpec } from '../../infer/model-spec.js';
import type { SegmentationModel } from '../../infer/segmentation-model.js';
import { CovsegError } from '../../util/errors.js';

/** The parts of onnxruntime-web this file uses (the package's own types). */
export type OrtModule = Pick<typeof OrtWeb, 'InferenceSession' | 'Tensor'>;

export interface LoadOnnxWebModelOptions {
  /** Name of the model in errors and in the report (its file name). Defaults to '<memory>'. */
  name?: string;
}

/** A covseg segmentation model (spec from its metadata) from the bytes of its ONNX file. */
export async function loadOnnxWebModel(ort: OrtModule, bytes: Uint8Array, options: LoadOnnxWebModelOptions = {}): Promise<SegmentationModel> {
  const source = options.name ?? '<memory>';
  // The spec first: a file that is not a covseg model is refused before a session is made.
  const metadata = readOnnxMetadata(bytes);
  const spec = readModelSpec(metadata, source);
  let session: OrtWeb.InferenceSession;
  try {
    // Same optimisation level as the Node side (nn/onnx-model.ts), so both run the same fused graph.
    session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', executionMode: 'sequential' });
  } catch (err) {
    throw new CovsegError(`onnxruntime-web cannot load this model: ${(err as Error).message}`, { file: source, cause: err });
  }
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  const onnx: OnnxModel = {
    source,
    metadata,
    inputName,
    outputName,
    async run(input, shape) {
      const feeds = { [inputName]: new ort.Tensor('float32', input, shape) };
      const out = (await session.run(feeds))[outputName]!;
      return { data: out.data as Float32Array, shape: out.dims.slice() };
    },
    release: () => session.release(),
  };
  return { file: source, spec, onnx };
}
