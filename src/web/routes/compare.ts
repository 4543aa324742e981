/**
 * `GET /api/compare?jobs=ID1,ID2[,…][&force=1]`: two or more finished jobs side by side,
 * as `covseg compare` compares result folders (src/segment/compare-results.ts, the one
 * implementation): the comparison (every change per step, the verdict better / stable /
 * worse by its rule), the jobs (their reports) in the comparison's order, and the pictures
 * (matched levels, trend) as PNG data URLs. Scans whose reports name different patients
 * (DICOM PatientID) are refused with 409 `different-patients`, as the CLI refuses them,
 * unless `force=1`.
 */
import { dirname } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { figureToPng } from '../../figures/index.js';
import { checkSamePatient, type Comparison } from '../../clinical/index.js';
import { compareResults } from '../../segment/index.js';
import { CovsegError } from '../../util/errors.js';
import { HttpError } from '../http-error.js';
import type { Job } from '../job-store.js';
import { jobJson, type JobJson, type Jobs } from './jobs.js';
import { forceFlag } from './upload.js';

/** Most jobs one comparison takes: each is read back from disk and measured on the request. */
export const MAX_COMPARED_JOBS = 6;
/** How the refusal of different patients says to force it, in the API's words. */
const FORCE_HINT = "force=1 (on the page: 'compare anyway')";

/** The JSON of `GET /api/compare`. */
export interface CompareJson {
  format: 'covseg-web-comparison';
  comparison: Comparison;
  notes: string[];
  /** The jobs in the comparison's order (by study date when every scan has one, else as asked); `name` is the scan's name in `comparison`. */
  jobs: (JobJson & { name: string })[];
  /** PNG data URLs: the scans side by side at matched levels of the lungs, and the figures over time. */
  pictures: { levels: string; trend: string };
}

const dataUrl = (png: Uint8Array) => `data:image/png;base64,${Buffer.from(png).toString('base64')}`;

/** Each job's name in the comparison: its input's name, numbered where two jobs share one. */
function scanNames(jobs: readonly Job[]): string[] {
  return jobs.map((job) => {
    const same = jobs.filter((j) => j.inputName === job.inputName);
    return same.length > 1 ? `${job.inputName} (${same.indexOf(job) + 1})` : job.inputName;
  });
}

export const compareRoutes: FastifyPluginAsync<Jobs> = async (app, options) => {
  const { store } = options;
  app.get<{ Querystring: Record<string, string | undefined> }>('/api/compare', async (request): Promise<CompareJson> => {
    const ids = (request.query['jobs'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (ids.length < 2 || ids.length > MAX_COMPARED_JOBS) {
      throw new HttpError(400, 'bad-request', `jobs=${ids.join(',').slice(0, 80)}: give 2–${MAX_COMPARED_JOBS} job ids, comma-separated`);
    }
    if (new Set(ids).size !== ids.length) throw new HttpError(400, 'bad-request', 'jobs: the same job is named twice; give different jobs');
    const force = forceFlag(request.query);
    const jobs = ids.map((id) => store.get(id));
    for (const job of jobs) {
      if (job.status !== 'done') throw new HttpError(409, 'not-ready', `job ${job.id} is ${job.status}${job.error ? ` (${job.error})` : ''}; only finished jobs can be compared`);
    }
    const names = scanNames(jobs);
    // The patients first, from the reports in memory: the refusal is the CLI's, with the API's status.
    try {
      checkSamePatient(jobs.map((job, k) => ({ name: names[k]!, patientId: job.report?.input.patientId })), force, FORCE_HINT);
    } catch (err) {
      if (err instanceof CovsegError) throw new HttpError(409, 'different-patients', err.message);
      throw err;
    }
    const folders = jobs.map((job, k) => {
      const report = job.outputs.find((o) => o.kind === 'report-json');
      if (!report) throw new HttpError(409, 'not-ready', `job ${job.id} has no report.json to compare`);
      return { dir: dirname(report.path), name: names[k]! };
    });
    const compared = await compareResults(folders, { force, forceHint: FORCE_HINT });
    const byName = new Map(names.map((n, k) => [n, jobs[k]!]));
    return {
      format: 'covseg-web-comparison',
      comparison: compared.comparison,
      // The scans are named by their input's name, never by their folder on the server.
      notes: compared.notes,
      jobs: compared.comparison.scans.map((s) => ({ ...jobJson(options, byName.get(s.name)!), name: s.name })),
      pictures: { levels: dataUrl(figureToPng(compared.levels)), trend: dataUrl(figureToPng(compared.trend)) },
    };
  });
};
