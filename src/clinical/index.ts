/** Clinical figures beyond "% affected": density split, where the disease is, CT scores, follow-up. */
export { clinicalFigures, DEFAULT_DISTANCE_GRID_MM, REGION_NAMES, type Amount, type ClinicalFigures, type ClinicalInput, type LobeFigures, type LobeScore, type LungClinical, type RegionFigures, type RegionName, type Unavailable, type ZoneScore } from './measure.js';
export { BAND_LABELS, BAND_NAMES, LCTA_BANDS, bandRanges, checkBands, type BandName, type HuBands } from './bands.js';
export { labelsLobes, LOBES, MAX_LOBE_LABEL, type Lobe, type LobeKey } from './lobes.js';
export { MIN_SCORED_PERCENT, panScore, quarterScore, SCORE_LABELS } from './scores.js';
export { clinicalColumns, clinicalCsv, type CsvScanInfo } from './csv.js';
export { CLASS_CONSOLIDATION, CLASS_GROUND_GLASS, lesionTypeMap } from './lesion-types.js';
export { affectedColor, distributionPicture, drawLevel, lesionTypeColors, levelKey, levelSlice, lungLevels, sliceSource, type DrawLevelOptions, type LevelSlice, type SliceSource } from './pictures.js';
export { checkSamePatient, compareScans, DEFAULT_STABLE_WITHIN_POINTS, type Change, type CompareOptions, type Comparison, type ComparisonStep, type LungChanges, type ScanForComparison, type Verdict } from './compare.js';
export { COMPARE_LEVELS, matchedLevelsPicture, sliceAffectedPercent, trendPicture } from './compare-pictures.js';
export { clinicalReportParts, clinicalPictures, type ClinicalPicture } from './report-parts.js';
