/**
 * `build-db`: the 3D and 2D training databases from any subset of the public sources.
 *
 *   DB/3d/Case-NNNN/{image,lesion,lung,lung-sides}.nrrd   3D cases, 0.9×0.9×4.5 mm, 320×320×80
 *   DB/2d/{images,lesions,lungs}/<caseId>[_zNNN].png     every slice with lesion, 320×320
 *   DB/cases/<caseId>.json                               per-case records, written as cases finish
 *   DB/manifest.json, DB/splits.json, DB/build-summary.json, DB/figures/*.png
 *
 * Idempotent and resumable: a case whose inputs (sha256) and options are unchanged and
 * whose files all match the sizes and sha256 in its record is skipped; files are written
 * under temp names and renamed; the manifest is written last, so a killed build loses at
 * most the cases in flight (and the next build removes their temporaries, see lock.ts).
 */
import { buildCases } from './build-cases.js';
import { planBuild, type BuildDatabaseOptions, type BuildRequest } from './build-plan.js';
import { publishDatabase } from './build-publish.js';
import type { BuildSummary } from './summary.js';

export { PIPELINE_VERSION } from './build-plan.js';
export type { BuildDatabaseOptions, BuildRequest, SourceSpec } from './build-plan.js';

/**
 * Builds (or updates) the database in `request.out` from `request.sources`; returns the
 * summary it also prints nowhere (the CLI prints it) and writes to `build-summary.json`.
 * Throws CovsegError only for problems with the whole request (unknown source, a source
 * folder without its layout, an unknown --figure-case); a broken case is reported in the
 * summary and the other cases are still built.
 *
 * Three stages, each handing a typed artifact to the next (nnU-Net style):
 * plan (build-plan.ts: BuildPlan) → build (build-cases.ts: BuiltCases) → publish
 * (build-publish.ts: splits, manifest, summary).
 */
export async function buildDatabase(request: BuildRequest, options: BuildDatabaseOptions = {}): Promise<BuildSummary> {
  const lock: { release?: () => Promise<void> } = {};
  try {
    const plan = await planBuild(request, options, lock);
    return await publishDatabase(plan, await buildCases(plan, options));
  } finally {
    await lock.release?.();
  }
}
