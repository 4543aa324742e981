/**
 * What the page and the browser-mode worker say to each other (structured-clone
 * messages; voxel buffers are transferred, not copied).
 */
import type { SegmentReport } from '../../segment/report.js';
import type { SegmentStage } from '../../segment/pipeline.js';
import type { NiivueImage } from './niivue-volume.js';

/** A model the worker downloads from the covseg service. */
export interface ModelRef {
  url: string;
  /** The file's name, as the report names the model. */
  name: string;
}

/** An image file the worker decodes itself with covseg's PNG/JPEG reader (io/raster-decode.ts). */
export interface RasterInput {
  kind: 'raster';
  name: string;
  format: 'png' | 'jpeg';
  bytes: ArrayBuffer;
}

/** A volume NiiVue has read (NIfTI, NRRD): its header and stored voxels. */
export interface NiivueInput {
  kind: 'niivue';
  name: string;
  format: 'nifti' | 'nrrd';
  image: NiivueImage;
}

export interface SegmentRequest {
  type: 'segment';
  /** Matches the replies to the request. */
  id: number;
  input: RasterInput | NiivueInput;
  models: { lung: ModelRef; lesion: ModelRef };
  /** URL of the folder holding onnxruntime-web's .wasm and .mjs files. */
  wasmUrl: string;
  /** Segment input that fails the CT checks anyway, with a warning. */
  force: boolean;
}

/** Progress: 'models' while the model files download and their sessions start, then the pipeline's stages. */
export interface ProgressReply {
  type: 'progress';
  id: number;
  stage: 'models' | SegmentStage;
  done: number;
  total: number;
}

export interface DoneReply {
  type: 'done';
  id: number;
  report: SegmentReport;
  /** Lung label map (1 right, 2 left) and lesion mask (0/1), in the input's voxel order. */
  lungs: Uint8Array;
  lesions: Uint8Array;
  /** HU input: the lesion by type (1 ground glass, 2 consolidation), in the same order; absent without HU. */
  lesionTypes?: Uint8Array;
  /** For an image file: the grey values covseg's reader made of it (the page shows them instead of a colour picture). */
  grey?: Uint8Array | Uint16Array;
}

export interface ErrorReply {
  type: 'error';
  id: number;
  message: string;
}

export type WorkerReply = ProgressReply | DoneReply | ErrorReply;
