/**
 * The lung segmenter build-db takes for cases published without a lung mask (MosMed
 * volumes, COVID-SemiSeg slices). The CLI opens one from src/lungs' registry
 * (`--lung-model default | r231 --lung-weights PATH`), whose opened models fit this
 * shape; it is stated here, not imported, because the database stage comes before the
 * lungs stage and knows only what it needs.
 */
import type { LabelMap, Volume } from '../volume/volume.js';

export interface LungSegmenter {
  /** The model, recorded as the mask's source `model:<name>` (a new name rebuilds the masks). */
  name: string;
  /** Labels on `ct`'s grid: 1 right lung, 2 left lung; any non-zero label counts as lung. */
  segment(ct: Volume): Promise<LabelMap>;
  /** Frees the model. Defaults to nothing to free. */
  release?(): Promise<void>;
}
