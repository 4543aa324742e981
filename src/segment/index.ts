/** The segment stage: a new scan in, lungs, lesions, report and pictures out. */
export { segmentCase, DEFAULT_LESION_MODEL_PATH, type SegmentOptions, type SegmentResult, type SegmentStage } from './segment-case.js';
export { lungAndLesionNumbers, type SegmentReport, type LungSideNumbers, type LesionSideNumbers } from './report.js';
export { severityFromPercent, gradeSeverity, severityHeadline, CT0_MAX_PERCENT, type Severity, type SeverityCategory } from './severity.js';
export { renderReportHtml } from './report-html.js';
export { overlaySlices, overlaySheet, type OverlaySlice } from './overlays.js';
