/**
 * What reaches a DICOMweb server, without its secrets: the base URL (credentials stripped),
 * the server results are stored on, the user and the timeout. `covseg segment` makes one
 * from its flags; a batch job on a queue carries one to workers on other machines. The
 * password and the bearer token are never part of it: each process reads them from its own
 * environment (COVSEG_DICOMWEB_PASSWORD, COVSEG_DICOMWEB_TOKEN), so they are never written
 * into a queue, a log or a command line.
 */
import { DicomWebClient } from './client.js';

export interface DicomWebConnection {
  /** The server studies are read from. */
  url: string;
  /** The server results are stored on; the `url` server when absent. */
  targetUrl?: string;
  /** Basic authentication user (its password from the environment). */
  user?: string;
  timeoutMs: number;
}

export interface DicomWebClients {
  source: DicomWebClient;
  target?: DicomWebClient;
}

/**
 * The clients of `c`, with the password (for `c.user`) or the bearer token from `env`. A
 * password without a user is not used: a worker's environment serves every batch it runs.
 */
export function connectionClients(c: DicomWebConnection, env: NodeJS.ProcessEnv = process.env): DicomWebClients {
  const password = env['COVSEG_DICOMWEB_PASSWORD'];
  const token = env['COVSEG_DICOMWEB_TOKEN'];
  const client = (url: string) => new DicomWebClient(url, {
    auth: { ...(c.user !== undefined ? { user: c.user, password: password ?? '' } : {}), ...(token ? { token } : {}) },
    timeoutMs: c.timeoutMs,
  });
  const source = client(c.url);
  return c.targetUrl !== undefined ? { source, target: client(c.targetUrl) } : { source };
}
