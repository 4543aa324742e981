/** `GET /api/health`: liveness, the queue's figures, the live jobs and the disk they hold. */
import type { FastifyPluginAsync } from 'fastify';
import type { DiskBudget } from '../disk-budget.js';
import type { Jobs } from './jobs.js';

export interface HealthRouteOptions extends Jobs {
  disk: DiskBudget;
}

export const healthRoutes: FastifyPluginAsync<HealthRouteOptions> = async (app, { queue, store, disk }) => {
  const startedAt = Date.now();
  app.get('/api/health', async () => ({
    ok: true, uptimeS: Math.round((Date.now() - startedAt) / 1000), queue: queue.stats(), jobs: store.list().length,
    disk: { usedBytes: disk.usedBytes, budgetBytes: disk.limitBytes },
  }));
};
