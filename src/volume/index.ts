/** The volume stage: the `Volume` type and the pure functions every later stage uses. */
export * from './volume.js';
export { resample, resampleToGrid, resampledGeometry, type Interpolation, type ResampleOptions, type ResampleToGridOptions } from './resample.js';
export { boundingBox, centreCropOrPad, cropToBox, pasteBack, type BoundingBox, type CentreCropOrPadOptions, type CropBox, type PasteBackOptions } from './crop-pad.js';
export {
  clahe,
  normalizePercentiles,
  percentiles,
  windowLevel,
  type ClaheOptions,
  type NormalizePercentilesOptions,
  type PercentilesOptions,
  type WindowLevelOptions,
} from './intensity.js';
export {
  componentRuns,
  connectedComponents,
  keepLargestPerLabel,
  largestComponent,
  removeSmallComponents,
  type ComponentRuns,
  type ComponentRunsOptions,
  type Components,
  type ComponentsOptions,
  type Connectivity,
} from './components.js';
export { close, closeDisk2d, dilate, erode, fillHoles, open, type FillHolesOptions, type MorphologyOptions } from './morphology.js';
export { distanceTransform, type DistanceMap, type DistanceOptions } from './distance.js';
export { resizeSlice, resizeSlices, type Resize2dInterpolation, type ResizeSliceOptions } from './resize2d.js';
export { asLps, fromLps, isIdentityReorient, orientationCode, reorientToLps, undoReorient, type ReorientTransform } from './reorient.js';
export { getSlice, setSlice, stackSlices } from './slices.js';
export { checkHu, huStats, huVerdict, AIR_HU, MAX_PLAUSIBLE_HU, type HuCheck, type HuStats, type CheckHuOptions } from './hu.js';
export { labelValues, MAX_LABEL_VALUES } from './labels.js';
