/** `GET /api/samples` and `POST /api/samples/jobs`: the bundled example cases (samples.ts) as jobs. */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Job } from '../job-store.js';
import { findSample, listSamples } from '../samples.js';
import { jobJson, launchJob, type Jobs } from './jobs.js';

/** `POST /api/samples/jobs`: which bundled example to segment. One schema: the body's type, and Fastify's check of it. */
const SampleJobBody = Type.Object({ name: Type.String({ maxLength: 300 }), force: Type.Optional(Type.Boolean()) }, { additionalProperties: false });

export interface SampleRouteOptions extends Jobs {
  /** Folder of the sample cases. */
  examplesDir: string;
}

export const sampleRoutes: FastifyPluginAsync<SampleRouteOptions> = async (app, options) => {
  const { examplesDir, queue, store } = options;
  app.get('/api/samples', async () => {
    const samples = await listSamples(examplesDir);
    return { samples: samples.map(({ name, format, bytes }) => ({ name, format, bytes })), default: samples[0]?.name ?? null };
  });

  app.post<{ Body: Static<typeof SampleJobBody> }>('/api/samples/jobs', { schema: { body: SampleJobBody } }, async (request, reply) => {
    const force = request.body.force ?? false;
    const sample = await findSample(examplesDir, request.body.name);
    const reservation = queue.reserve();
    let job: Job;
    try {
      job = await store.create(sample.name);
    } catch (err) {
      reservation.release();
      throw err;
    }
    launchJob(options, job, sample.path, reservation, force);
    return reply.code(202).send(jobJson(options, job));
  });
};
