export { TARGET_SPACING_MM, TARGET_DIMS, SLICE_SIZE, LOW_PERCENTILE, HIGH_PERCENTILE, AIR_HU } from './constants.js';
export { preprocessCase, normalizeWindow, toLps } from './preprocess-case.js';
export type { PreprocessCaseOptions, PreprocessedCase, PreprocessStats, CaseMasks } from './preprocess-case.js';
export { preprocessSlice, toGreyBytes, toMaskBytes } from './preprocess-slice.js';
export type { PreprocessSliceOptions, PreprocessedSlice } from './preprocess-slice.js';
