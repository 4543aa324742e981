/** Metrics: the project's one Dice and friends, below the stages that report them (training logs, evaluation, benchmarks). */
export { confusion, addConfusion, diceFromCounts, sensitivity, specificity, precision, meanStd, metricStats, type Confusion, type MetricStats } from './metrics.js';
