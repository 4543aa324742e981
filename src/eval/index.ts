/** Evaluation: Dice and friends (src/metrics) per slice, case and split; Table 2; Figures 5 and 6. */
export {
  evaluateSlice, poolCase, summarizeCases, buildEvaluation, evaluationToJson, SUMMARY_METRICS, SUMMARY_STATS, EVALUATION_FORMAT,
  type SliceMasks, type SliceKey, type SliceResult, type CaseInfo, type CaseResult, type SplitSummary, type SummaryMetric, type SummaryStat,
  type Evaluation, type EvaluationData, type EvaluationMeta,
} from './evaluation.js';
export { casesTable, evaluationMarkdown, summaryLines, formatValue, formatMeanStd, type MarkdownOptions } from './table.js';
export { planDatabaseEvaluation, planFolderEvaluation, EVAL_SPLITS, type EvalSplit, type EvaluationPlan, type SliceCasePlan, type VolumeCasePlan, type SliceFiles, type SliceFolders, type PlanDatabaseOptions } from './plan.js';
export { evaluateModel, writeEvaluation, type EvaluateModelOptions, type EvaluationRun, type WriteEvaluationOptions } from './evaluate-model.js';
export { compareDims, volumeSliceIds, dimsComparisonMarkdown, METHOD_REPORTED, type DimsComparison, type DimsCaseRow, type DimsSplitRow, type DimsScores } from './compare-dims.js';
export { onePerSplitFigure, comparisonPanel, bestMedianWorst, bestMedianWorstFigure, dicePerSplitFigure, dicePerCaseFigure, writeEvaluationFigures, type FigureSlice, type ComparisonPanelOptions } from './figures.js';
