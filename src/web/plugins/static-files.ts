/**
 * The files behind the page: the page itself, NiiVue's browser bundle, onnxruntime-web's
 * wasm and the browser mode's worker, each mount allowing only its own file names (no
 * directory listings, nothing else from node_modules).
 */
import type { FastifyPluginAsync } from 'fastify';
import fastifyStatic from '@fastify/static';
import { BROWSER_BUNDLE_DIR, BROWSER_WORKER_FILE, ORT_WASM_FILES, PAGE_DIRS, niivueDist, ortWebDist } from '../assets.js';

export const staticFiles: FastifyPluginAsync = async (app) => {
  await app.register(fastifyStatic, {
    root: niivueDist(),
    prefix: '/vendor/niivue/',
    allowedPath: (path) => path === '/index.js' || path === '/index.js.map',
    maxAge: '1h',
  });
  await app.register(fastifyStatic, {
    root: ortWebDist(),
    prefix: '/vendor/ort/',
    decorateReply: false,
    allowedPath: (path) => ORT_WASM_FILES.includes(path.slice(1)),
    maxAge: '1h',
  });
  await app.register(fastifyStatic, {
    root: BROWSER_BUNDLE_DIR,
    prefix: '/browser/',
    decorateReply: false,
    allowedPath: (path) => path === `/${BROWSER_WORKER_FILE}` || path === `/${BROWSER_WORKER_FILE}.map`,
  });
  await app.register(fastifyStatic, {
    root: PAGE_DIRS,
    prefix: '/',
    decorateReply: false,
    allowedPath: (path) => /^\/[a-z0-9-]+\.(html|css|js|js\.map)$/.test(path) || path === '/',
  });
};
