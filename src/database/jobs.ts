/**
 * The messages between build-db and its workers, and the code that runs one job (in a
 * worker thread or, with `workers: 0`, in the calling thread).
 */
import { loadCase, type CaseRef, type LoadedCase } from '../datasets/index.js';
import { buildSliceCase, buildVolumeCase, type BuiltOutputs, type JobSettings } from './process-case.js';
import { overviewPath, writeOverviewPage, type OverviewPage } from './figures.js';
import { describeIoError, explainIoErrors } from '../util/output-target.js';

/**
 * - `volume`: one 3D case; `preloaded` carries the case when the main thread already
 *   read it (to run a lung segmenter on it), otherwise the worker reads it;
 * - `slices`: a batch of 2D-only cases (small, so one message carries many).
 */
export type CaseJob =
  | { type: 'volume'; caseId: string; ref: CaseRef; settings: JobSettings; figure: boolean; preloaded?: LoadedCase }
  | { type: 'slices'; items: { caseId: string; ref: CaseRef; preloaded?: LoadedCase }[]; settings: JobSettings }
  | { type: 'overview'; page: OverviewPage };

export type JobOutcome =
  | { caseId: string; ok: true; built: BuiltOutputs; hasLungMask: boolean }
  | { caseId: string; ok: true; figure: string }
  | { caseId: string; ok: false; error: string };

/** The failure's one line: file-system errors in words, with the file they name. */
function errorText(err: unknown): string {
  return describeIoError(err)?.message ?? (err instanceof Error ? err.message : String(err));
}

/**
 * Runs one job; a failing case becomes a failed outcome, never a thrown error. An overview
 * page answers with one outcome whose caseId is the page's path.
 */
export async function runJob(job: CaseJob): Promise<JobOutcome[]> {
  if (job.type === 'overview') {
    const path = overviewPath(job.page.db, job.page.name, job.page.page);
    try {
      await explainIoErrors(path, () => writeOverviewPage(job.page));
      return [{ caseId: path, ok: true, figure: path }];
    } catch (err) {
      return [{ caseId: path, ok: false, error: errorText(err) }];
    }
  }
  if (job.type === 'volume') {
    try {
      const loaded = job.preloaded ?? (await loadCase(job.ref));
      const built = await buildVolumeCase(job.caseId, loaded, job.settings, { figure: job.figure });
      return [{ caseId: job.caseId, ok: true, built, hasLungMask: loaded.lungMask !== undefined }];
    } catch (err) {
      return [{ caseId: job.caseId, ok: false, error: errorText(err) }];
    }
  }
  const outcomes: JobOutcome[] = [];
  for (const item of job.items) {
    try {
      const loaded = item.preloaded ?? (await loadCase(item.ref));
      const built = await buildSliceCase(item.caseId, loaded, job.settings);
      outcomes.push({ caseId: item.caseId, ok: true, built, hasLungMask: loaded.lungMask !== undefined });
    } catch (err) {
      outcomes.push({ caseId: item.caseId, ok: false, error: errorText(err) });
    }
  }
  return outcomes;
}

/** The typed arrays a job carries, to transfer instead of copy. */
export function transferList(job: CaseJob): ArrayBuffer[] {
  if (job.type !== 'volume' || !job.preloaded) return [];
  const p = job.preloaded;
  const buffers = new Set<ArrayBuffer>();
  for (const v of [p.ct, p.lesionMask, p.lungMask, p.lungSides]) {
    // Only whole buffers move: a view into a shared buffer must be copied, or its neighbours would go too.
    if (v && v.data.byteOffset === 0 && v.data.byteLength === v.data.buffer.byteLength) buffers.add(v.data.buffer as ArrayBuffer);
  }
  return [...buffers];
}
