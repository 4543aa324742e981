/**
 * Every error as the API's JSON body ({@link ApiErrorBody}): covseg's own refusals keep
 * their status and code, Fastify's and @fastify/static's 4xx are mapped onto the API's
 * codes, anything else is a generic 500 whose details go to the log.
 */
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { HttpError, type ApiErrorBody, type ApiErrorCode } from '../http-error.js';
import { QueueFullError } from '../job-queue.js';

const STATUS_CODES: Record<number, ApiErrorCode> = { 400: 'bad-request', 403: 'forbidden', 404: 'not-found', 408: 'timeout', 409: 'not-ready', 413: 'too-large', 415: 'unsupported-type', 429: 'queue-full' };

/** Whether the URL's path has a '..' segment, plain or percent-encoded. */
function climbsOut(url: string): boolean {
  const path = url.split('?')[0]!;
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // Malformed escapes: the raw path is all there is to look at.
  }
  return [path, decoded].some((p) => /(^|[/\\])\.\.([/\\]|$)/.test(p));
}

function noRoute(request: FastifyRequest): ApiErrorBody {
  return { statusCode: 404, code: 'not-found', message: `no route ${request.method} ${request.url.slice(0, 200)}; the API is under /api (see /api/health)` };
}

/** The JSON body for any error thrown in a route. */
export function errorBody(err: Error & { statusCode?: number; code?: string }, request: FastifyRequest): ApiErrorBody {
  if (err instanceof HttpError) return { statusCode: err.statusCode, code: err.code, message: err.message };
  if (err instanceof QueueFullError) return { statusCode: 429, code: 'queue-full', message: err.message };
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return { statusCode: 415, code: 'unsupported-type', message: "this Content-Type is not accepted here: upload scans to /api/jobs as multipart/form-data (field 'file'), and send JSON to /api/samples/jobs" };
  }
  // @fastify/static's 403s: a page path that climbs out of its folder, or one whose spelling it cannot
  // check (over-long, an alias), which is simply no page of this service.
  if (err.statusCode === 403) {
    if (!climbsOut(request.url)) return noRoute(request);
    return { statusCode: 403, code: 'forbidden', message: "the path climbs out of its folder with '..'; request files by their plain names" };
  }
  // Fastify's own 4xx (bad JSON, unsupported media type, bad URL encoding) keep their status and message.
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return { statusCode: err.statusCode, code: STATUS_CODES[err.statusCode] ?? 'bad-request', message: err.message };
  }
  return { statusCode: 500, code: 'internal', message: 'internal error in covseg serve (details are in its log); please report it' };
}

export interface ErrorOptions {
  /** Whether pino logs requests; without it a 500 is printed on stderr, so it is never lost. */
  logRequests: boolean;
}

/** Wrapped with fastify-plugin: the handlers answer for every route and every unknown URL. */
export const errors = fp<ErrorOptions>(async (app, { logRequests }) => {
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const body = errorBody(err, request);
    if (body.statusCode >= 500) request.log.error(err);
    if (body.statusCode >= 500 && !logRequests) console.error(`covseg serve: ${request.method} ${request.url}:`, err);
    if (err instanceof QueueFullError) reply.header('retry-after', String(err.retryAfterS));
    // A refused large body would otherwise be read to its end before the next request on this connection.
    if (body.statusCode === 413) reply.header('connection', 'close');
    void reply.code(body.statusCode).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(noRoute(request));
  });
}, { name: 'covseg-errors' });
