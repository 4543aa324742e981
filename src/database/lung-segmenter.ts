/**
 * The lung segmenter build-db takes for cases published without a lung mask (MosMed
 * volumes, COVID-SemiSeg slices). The CLI opens one from src/lungs' registry
 * (`--lung-model default | r231 --lung-weights PATH`); build-db needs only its name (recorded
 * as the mask's source `model:<name>`), `segment` (labels on the CT's grid: 1 right lung,
 * 2 left lung; any non-zero label counts as lung) and, optionally, `release`.
 */
import type { LungSegmenter as OpenedLungModel } from '../lungs/models.js';

export type LungSegmenter = Pick<OpenedLungModel, 'name' | 'segment'> & Partial<Pick<OpenedLungModel, 'release'>>;
