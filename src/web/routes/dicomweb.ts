/**
 * `covseg serve --dicomweb URL`: the page lists the server's studies (QIDO-RS), runs one as
 * a job (its CT series fetched into the job's folder as `segment --dicomweb` does, then
 * queued like an upload), and sends a finished job's DICOM outputs to the PACS (STOW-RS).
 * - `GET /api/dicomweb/studies`: `{ server, studies }` (`server` null when none is configured);
 * - `POST /api/dicomweb/jobs`: JSON `{ study, series?, force? }` → 202 job JSON;
 * - `POST /api/jobs/:id/dicomweb`: `{ server, stored }`, the names of the files stored.
 * A DICOMweb failure (unreachable, refused, no such study, no CT series) is a 502 `dicomweb`
 * with the client's one-line message.
 */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { fetchCtSeries, listStudies, storeDicomFiles, type DicomWebClient } from '../../dicomweb/index.js';
import { SERVICE_MAX_VOXELS } from '../../io/limits.js';
import { CovsegError } from '../../util/errors.js';
import { formatBytes } from '../disk-budget.js';
import { HttpError } from '../http-error.js';
import type { Job } from '../job-store.js';
import { jobJson, launchJob, type Jobs } from './jobs.js';

/** The DICOMweb servers `covseg serve` reads studies from and stores results in. */
export interface ServeDicomWeb {
  source: DicomWebClient;
  /** Where results are stored. Defaults to `source`. */
  target?: DicomWebClient;
}

export interface DicomWebRouteOptions extends Jobs {
  dicomweb?: ServeDicomWeb;
}

/** Studies the page lists at once. */
const STUDY_LIST_LIMIT = 100;
const UID = Type.String({ maxLength: 64, pattern: '^[0-9.]+$' });
const StudyJobBody = Type.Object({ study: UID, series: Type.Optional(UID), force: Type.Optional(Type.Boolean()) }, { additionalProperties: false });

/** A DICOMweb client's CovsegError as the API's 502; anything else as it is. */
async function viaDicomWeb<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CovsegError && !(err instanceof HttpError)) throw new HttpError(502, 'dicomweb', err.message, { cause: err });
    throw err;
  }
}

export const dicomwebRoutes: FastifyPluginAsync<DicomWebRouteOptions> = async (app, options) => {
  const { dicomweb, queue, store } = options;
  const configured = (): ServeDicomWeb => {
    if (!dicomweb) throw new HttpError(404, 'not-found', 'no DICOMweb server is configured; start covseg serve with --dicomweb URL');
    return dicomweb;
  };

  app.get('/api/dicomweb/studies', async () => {
    if (!dicomweb) return { server: null, studies: [] };
    return { server: dicomweb.source.url, studies: await viaDicomWeb(() => listStudies(dicomweb.source, STUDY_LIST_LIMIT)) };
  });

  app.post<{ Body: Static<typeof StudyJobBody> }>('/api/dicomweb/jobs', { schema: { body: StudyJobBody } }, async (request, reply) => {
    const { source } = configured();
    const { study, series, force } = request.body;
    const reservation = queue.reserve();
    let job: Job | undefined;
    try {
      job = await store.create(`${source.url}/studies/${study}`);
      const ctDir = join(job.dir, 'ct');
      await mkdir(ctDir);
      const disk = job.disk;
      const fetched = await viaDicomWeb(() => fetchCtSeries(source, study, ctDir, {
        ...(series !== undefined ? { seriesInstanceUid: series } : {}),
        maxVoxels: options.segment?.maxVoxels ?? SERVICE_MAX_VOXELS,
        // Each instance is charged to the service's disk budget before it is written, as uploads are.
        beforeWrite: (bytes) => disk.charge(bytes, `study ${study}: the next instance (${formatBytes(bytes)}) is more than`),
      }));
      job.inputName = `${source.url}/studies/${study}/series/${fetched.seriesInstanceUid}`;
      launchJob(options, job, ctDir, reservation, force ?? false);
    } catch (err) {
      reservation.release();
      if (job) await store.remove(job.id);
      throw err;
    }
    return reply.code(202).send(jobJson(options, job));
  });

  app.post<{ Params: { id: string } }>('/api/jobs/:id/dicomweb', async (request) => {
    const { source, target = source } = configured();
    const job = store.get(request.params.id);
    if (job.status !== 'done') throw new HttpError(409, 'not-ready', `job ${job.id} is ${job.status}; its results can be sent once it is done`);
    const files = job.outputs.filter((o) => o.name.endsWith('.dcm')).map((o) => o.path);
    if (files.length === 0) throw new HttpError(409, 'not-ready', `job ${job.id} has no DICOM output to send (a DICOM SEG is written for DICOM input with its UIDs)`);
    const stored = await viaDicomWeb(() => storeDicomFiles(target, files));
    return { server: target.url, stored: stored.files };
  });
};
