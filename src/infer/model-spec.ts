/**
 * What a covseg model file says about itself (ONNX metadata written at export): which
 * task, 2D or 3D, input size and transform, decision threshold. Inference reads it
 * instead of guessing, and refuses a file that does not say.
 */
import { CovsegError } from '../util/errors.js';
import { SLICE_INPUT_TRANSFORMS, type SliceInputTransform } from '../preprocess/model-input.js';

export type ModelTask =
  /** affected lung (GGO ∪ consolidation), one sigmoid channel */
  | 'lesion'
  /** lungs (both), one sigmoid channel; right/left are split afterwards */
  | 'lung';

export interface ModelSpec {
  task: ModelTask;
  dims: 2 | 3;
  /** 2D: side of the square input. */
  inputSize: number;
  /** 2D: how slices become inputs. 3D models use the method's preprocessing. */
  inputTransform: SliceInputTransform | 'method-3d';
  /** Probability above which a voxel is positive. */
  threshold: number;
}

export const META = {
  task: 'covseg.task',
  dims: 'covseg.dims',
  inputSize: 'covseg.inputSize',
  inputTransform: 'covseg.inputTransform',
  threshold: 'covseg.threshold',
} as const;

export function specToMetadata(spec: ModelSpec): Record<string, string> {
  return {
    [META.task]: spec.task,
    [META.dims]: String(spec.dims),
    [META.inputSize]: String(spec.inputSize),
    [META.inputTransform]: spec.inputTransform,
    [META.threshold]: String(spec.threshold),
  };
}

/** Reads and checks the spec; the error names the file and the missing or bad key. */
export function readModelSpec(metadata: Record<string, string>, file: string): ModelSpec {
  const get = (key: string): string => {
    const v = metadata[key];
    if (v === undefined) {
      throw new CovsegError(`not a covseg model: metadata key '${key}' is missing (found: ${Object.keys(metadata).join(', ') || 'none'}); export models with 'covseg train'`, { file });
    }
    return v;
  };
  const task = get(META.task);
  if (task !== 'lesion' && task !== 'lung') throw new CovsegError(`metadata '${META.task}' is '${task}', expected 'lesion' or 'lung'`, { file });
  const dims = Number(get(META.dims));
  if (dims !== 2 && dims !== 3) throw new CovsegError(`metadata '${META.dims}' is '${metadata[META.dims]}', expected 2 or 3`, { file });
  const transform = get(META.inputTransform);
  if (transform !== 'method-3d' && !(SLICE_INPUT_TRANSFORMS as readonly string[]).includes(transform)) {
    throw new CovsegError(`metadata '${META.inputTransform}' is '${transform}', expected one of ${[...SLICE_INPUT_TRANSFORMS, 'method-3d'].join(', ')}`, { file });
  }
  const inputSize = Number(get(META.inputSize));
  const threshold = Number(metadata[META.threshold] ?? '0.5');
  if (!Number.isInteger(inputSize) || inputSize <= 0) throw new CovsegError(`metadata '${META.inputSize}' must be a positive integer`, { file });
  if (!(threshold > 0 && threshold < 1)) throw new CovsegError(`metadata '${META.threshold}' must be in (0, 1)`, { file });
  return { task, dims, inputSize, inputTransform: transform as ModelSpec['inputTransform'], threshold };
}
