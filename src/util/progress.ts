/**
 * How library code reports progress: `done` of `total` steps of `stage` ('build-db',
 * 'epoch 3/100'), with an optional word on the latest step (a case id, 'loss 0.3104').
 * Library code never draws: the CLI turns the calls into bars (src/cli/progress.ts), the
 * web service and the browser pass their own callbacks.
 */
export type ProgressCallback = (done: number, total: number, stage?: string, detail?: string) => void;
