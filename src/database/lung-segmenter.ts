/**
 * The lung segmenter build-db takes for cases published without a lung mask (MosMed).
 * The CLI passes one in (`--lung-model default | r231 --lung-weights PATH`, opened from
 * src/lungs' registry, whose segmenters fit this interface); the database only needs this
 * interface, so any model plugs in.
 */
import type { LabelMap, Volume } from '../volume/volume.js';

export interface LungSegmenter {
  /** Recorded as the case's lung mask source `model:<name>`, e.g. 'default' or 'r231:unet_r231.pth'. */
  name: string;
  /** Lung labels on the CT's grid: 1 right lung, 2 left lung, 0 elsewhere (any non-zero label counts as lung). */
  segment(ct: Volume): Promise<LabelMap>;
  /** Frees the model (ONNX session); the caller calls it once the build is done. Optional. */
  release?(): Promise<void>;
}
