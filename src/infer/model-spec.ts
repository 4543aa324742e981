/**
 * What a covseg model file says about itself (ONNX metadata written at export): which
 * task, 2D or 3D, input size and transform, decision threshold. Inference reads it
 * instead of guessing, and refuses a file that does not say.
 */
// Builders by name, not the `Type` namespace: this file is in the browser bundle, where the namespace costs ~100 kB.
import { Literal, Object as TObject, String as TString, Union } from '@sinclair/typebox';
import { CovsegError } from '../util/errors.js';
import { checkJson } from '../util/schema.js';
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

const EXPORT = "export models with 'covseg train'";

export function specToMetadata(spec: ModelSpec): Record<string, string> {
  return {
    [META.task]: spec.task,
    [META.dims]: String(spec.dims),
    [META.inputSize]: String(spec.inputSize),
    [META.inputTransform]: spec.inputTransform,
    [META.threshold]: String(spec.threshold),
  };
}

/**
 * The metadata keys a covseg model holds, as a schema (ONNX metadata values are strings).
 * The probability threshold predates some files: 0.5 when absent.
 */
const MetadataSchema = TObject({
  [META.task]: Union([Literal('lesion'), Literal('lung')], { expected: "'lesion' or 'lung'" }),
  [META.dims]: Union([Literal('2'), Literal('3')], { expected: '2 or 3' }),
  [META.inputSize]: TString({ pattern: '^[1-9][0-9]*$', expected: 'a positive integer' }),
  [META.inputTransform]: Union([...SLICE_INPUT_TRANSFORMS, 'method-3d' as const].map((t) => Literal(t))),
  [META.threshold]: TString({ default: '0.5' }),
});

/** Reads and checks the spec; the error names the file and the missing or bad key. */
export function readModelSpec(metadata: Record<string, string>, file: string): ModelSpec {
  // A file without the task key is not a covseg model at all: say so, with what it does hold.
  if (metadata[META.task] === undefined) {
    throw new CovsegError(`not a covseg model: metadata key '${META.task}' is missing (found: ${Object.keys(metadata).join(', ') || 'none'}); ${EXPORT}`, { file });
  }
  const m = checkJson(MetadataSchema, { ...metadata }, file, EXPORT);
  const threshold = Number(m[META.threshold]);
  if (!(threshold > 0 && threshold < 1)) throw new CovsegError(`key '${META.threshold}' is '${m[META.threshold]}', expected a number in (0, 1); ${EXPORT}`, { file });
  return { task: m[META.task], dims: m[META.dims] === '2' ? 2 : 3, inputSize: Number(m[META.inputSize]), inputTransform: m[META.inputTransform], threshold };
}
