/** The segment stage: a new scan in, lungs, lesions, report and pictures out (pipeline.ts the core, segment-case.ts its file shell). */
export { segmentCase, modelLoader, openLobeModel, checkLobeWeights, DEFAULT_LESION_MODEL_PATH, type SegmentOptions, type SegmentResult } from './segment-case.js';
export { checkInput, isImageFile } from './segment-volume.js';
export { segmentCt, type SegmentCtOptions, type SegmentedCt, type SegmentModels, type SegmentStage } from './pipeline.js';
export { readSegmentReport, readSegmentResult } from './read-report.js';
export { buildReport, lungAndLesionNumbers, SegmentReportSchema, type ReportContext, type SegmentReport, type LungSideNumbers, type LesionSideNumbers } from './report.js';
export { severityFromPercent, gradeSeverity, severityHeadline, CT0_MAX_PERCENT, type Severity, type SeverityCategory } from './severity.js';
export { renderReportHtml } from './report-html.js';
export { overlaySlices, overlaySheet, type OverlaySlice } from './overlays.js';
export { compareResults, loadSegmentResult, type ComparedResults, type CompareResultsOptions, type LoadedResult } from './compare-results.js';
