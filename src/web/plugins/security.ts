/**
 * The checks every request passes before its route: `nosniff` on every answer, another
 * site's page posting to this service (Origin), and a DNS-rebinding page reaching it
 * under a foreign name (Host, when bound to loopback).
 */
import fp from 'fastify-plugin';
import { HttpError } from '../http-error.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Whether `host` is one of this computer's own names. */
export function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host);
}

function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

export interface SecurityOptions {
  /** The address the service listens on. */
  host: string;
}

/** Wrapped with fastify-plugin: the hook guards every route of the service, not only this plugin's. */
export const security = fp<SecurityOptions>(async (app, { host }) => {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    // Any web page may POST a form to 127.0.0.1; browsers say where it came from, so foreign pages are refused.
    const origin = request.headers.origin;
    if (origin !== undefined && request.method !== 'GET' && request.method !== 'HEAD' && originHost(origin) !== request.headers.host) {
      throw new HttpError(403, 'forbidden', `cross-site request from '${origin.slice(0, 80)}' refused; use the covseg page itself (${request.headers.host ?? 'this service'})`);
    }
    // Bound to loopback, the only legitimate Host names are loopback ones; anything else is a DNS-rebinding page.
    if (isLoopback(host)) {
      const hostname = (request.headers.host ?? '').replace(/:\d+$/, '');
      if (!isLoopback(hostname)) {
        throw new HttpError(403, 'forbidden', `Host '${hostname.slice(0, 64)}' is not this computer; open the page at http://127.0.0.1 (the service only listens locally)`);
      }
    }
  });
}, { name: 'covseg-security' });
