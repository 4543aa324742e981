/** The lungs stage: lungmask's U-Nets (R231, R231CovidWeb, LTRCLobes) from their .pth weights, and the lung model registry. */
export { segmentLungsR231, predictLabelsR231, R231_BATCH_SIZE, type SegmentLungsR231Options, type PredictLabelsR231Options } from './r231.js';
export {
  preprocessR231,
  labelsToSlices,
  bodyMaskR231,
  bodyBoxR231,
  clipHu,
  R231_HU_MIN,
  R231_HU_MAX,
  R231_BODY_THRESHOLD_HU,
  R231_BODY_MASK_SIZE,
  R231_INPUT_SIZE,
  type R231Input,
  type SliceBox,
  type PreprocessR231Options,
} from './r231-preprocess.js';
export { postprocessR231 } from './r231-postprocess.js';
export { buildR231Graph, r231Architecture, R231Session, type R231Architecture, type R231Graph, type BuildR231GraphOptions, type R231SessionOptions } from './r231-network.js';
export { LUNG_MODELS, lungModel, openLungModel, covsegLungSegmenterOf, type LungModel, type LungModelKind, type OpenLungModelOptions } from './models.js';
export { covsegLungModelName, lungSidesOf, type LungRunOptions, type LungSegmenter } from './segmenter.js';
export { anatomicalLungs, keepAnatomicalLabels, lungmaskInAnatomy, type AnatomicalLungs, type AnatomicalLungsOptions, type AnatomyRemoved } from './anatomy.js';
export { lungQuality, ADULT_LUNG_VOLUME_ML, type LungCoverage, type LungQuality, type LungQualityOptions } from './quality.js';
