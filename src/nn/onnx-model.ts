/**
 * ONNX Runtime sessions for the project's models (Node side). One place that picks
 * threads and optimisation level, and reads the model's metadata.
 */
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { readOnnxMetadata } from './onnx/graph.js';
import { CovsegError } from '../util/errors.js';

export interface OnnxModelOptions {
  /** Intra-op threads. Defaults to 2 (the machines this runs on have 2 cores). */
  threads?: number;
}

export interface OnnxModel {
  /** Where the model came from (file path or '<memory>'). */
  source: string;
  /** ModelProto.metadata_props. */
  metadata: Record<string, string>;
  inputName: string;
  outputName: string;
  /** Runs one batch: `input` float32 with `shape` ([N, C, H, W] or [N, C, D, H, W]); returns the first output. */
  run(input: Float32Array, shape: number[]): Promise<{ data: Float32Array; shape: number[] }>;
  release(): Promise<void>;
}

/** Loads an ONNX model from a file path or bytes. */
export async function loadOnnxModel(model: string | Uint8Array, options: OnnxModelOptions = {}): Promise<OnnxModel> {
  const source = typeof model === 'string' ? model : '<memory>';
  let bytes: Uint8Array;
  try {
    bytes = typeof model === 'string' ? new Uint8Array(await readFile(model)) : model;
  } catch (err) {
    throw new CovsegError(`cannot read the model file: ${(err as Error).message}`, { file: source, cause: err });
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: options.threads ?? 2,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    throw new CovsegError(`not a valid ONNX model: ${(err as Error).message}`, { file: source, cause: err });
  }
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  return {
    source,
    metadata: readOnnxMetadata(bytes),
    inputName,
    outputName,
    async run(input, shape) {
      const out = (await session.run({ [inputName]: new ort.Tensor('float32', input, shape) }))[outputName]!;
      return { data: out.data as Float32Array, shape: out.dims.slice() };
    },
    release: () => session.release(),
  };
}
