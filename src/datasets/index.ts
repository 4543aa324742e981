export * from './types.js';
export { harmoniseLesion, harmoniseLung, lungSidesByPosition, countNonzero } from './harmonise.js';
export type { LesionLabels, LungLabels, HarmoniseLesionOptions, HarmoniseLungOptions, HarmonisedLung } from './harmonise.js';
export { naturalCompare } from './files.js';
export { compareGrids, loadCaseFiles, readCaseFile } from './load-case.js';
export type { CaseEncoding } from './load-case.js';
export { SOURCE_OVERLAPS, overlapWarnings, overlapFamily, coronacasesGroup, radiopaediaGroup, splitStratum } from './patient-groups.js';
export type { SourceOverlap } from './patient-groups.js';
export { mosmed, scanMosmed } from './mosmed.js';
export { medseg100, scanMedseg100 } from './medseg100.js';
export { medseg9, scanMedseg9 } from './medseg9.js';
export { zenodo, scanZenodo, zenodoCaseName, zenodoGroupInName } from './zenodo.js';
export { zenodoSlices, scanZenodoSlices, zenodoSliceGroup } from './zenodo-slices.js';
export {
  zenodoSliceStacks, scanZenodoSliceStacks, neighbourChange, findGaps, cutRuns, isStackable, stackSlices, stackFiles, groupRuns, readGroups,
  STACK_SPACING_MM, MIN_RUN_MM, GAP_RATIO,
} from './zenodo-slice-stacks.js';
export type { NeighbourChange, GroupRuns } from './zenodo-slice-stacks.js';
export { semiseg, scanSemiseg } from './semiseg.js';
export { semisegPseudo, scanSemisegPseudo, readRenderingPairs } from './semiseg-pseudo.js';
export { pairRenderings, matchRendering, placeOnRendering, orientGrey, parseRenderingName, radiopaediaCaseNumber, PAIRS_FILE } from './rendering-pairs.js';
export type { RenderingPairsFile, RenderingPair, RenderingPlacement, RenderingMatch, Grey2d, ReferenceSlice } from './rendering-pairs.js';
export { pseudoLabels, scanPseudoLabels, readPseudoLabels, PseudoLabelsSchema, PseudoLabelItemSchema, PSEUDO_LABELS_FILE, PSEUDO_LABELS_FORMAT, PSEUDO_LABEL_DIRS } from './pseudo-labels.js';
export type { PseudoLabelsFile, PseudoLabelItem } from './pseudo-labels.js';
export { ADAPTERS, adapterFor, loadCase, trainOnlyReason } from './registry.js';
