/**
 * The DICOMweb flags `segment` and `serve` share, and the clients they make: one server to
 * read from, optionally another to store in, the same credentials for both. The password
 * and the token come from the environment, never from a flag: a command line is visible
 * to every user of the machine.
 */
import { UsageError } from '../util/errors.js';
import { connectionClients, DEFAULT_DICOMWEB_TIMEOUT_MS, type DicomWebClients, type DicomWebConnection } from '../dicomweb/index.js';
import { flag } from './command.js';

export const DICOMWEB_FLAGS = {
  'dicomweb-out': flag.string({ arg: 'URL', shownDefault: 'the --dicomweb server', help: 'store the DICOM outputs on this DICOMweb server instead (same credentials)' }),
  'dicomweb-user': flag.string({ arg: 'USER', help: 'DICOMweb basic authentication user; the password is read from the environment variable COVSEG_DICOMWEB_PASSWORD (not a flag: command lines are visible to every user). A bearer token instead: COVSEG_DICOMWEB_TOKEN' }),
  'dicomweb-timeout': flag.number({ arg: 'S', default: DEFAULT_DICOMWEB_TIMEOUT_MS / 1000, check: (n) => n > 0, help: 'abort a DICOMweb request that receives nothing for S seconds' }),
};

export interface DicomWebFlagValues {
  dicomweb: string | undefined;
  'dicomweb-out': string | undefined;
  'dicomweb-user': string | undefined;
  'dicomweb-timeout': number;
}

/** The clients of --dicomweb and --dicomweb-out, or undefined without --dicomweb. */
export function dicomWebClients(values: DicomWebFlagValues, env: NodeJS.ProcessEnv = process.env): DicomWebClients | undefined {
  if (values.dicomweb === undefined) {
    for (const f of ['dicomweb-out', 'dicomweb-user'] as const) if (values[f] !== undefined) throw new UsageError(`--${f} needs --dicomweb URL`);
    return undefined;
  }
  if (env['COVSEG_DICOMWEB_PASSWORD'] !== undefined && values['dicomweb-user'] === undefined) throw new UsageError('COVSEG_DICOMWEB_PASSWORD is set but --dicomweb-user is not');
  return connectionClients(dicomWebConnection({ ...values, dicomweb: values.dicomweb }), env);
}

/** The connection the flags describe (the URLs as given: a user:password@ in them is the client's to take). */
export function dicomWebConnection(values: DicomWebFlagValues & { dicomweb: string }): DicomWebConnection {
  return {
    url: values.dicomweb,
    ...(values['dicomweb-out'] !== undefined ? { targetUrl: values['dicomweb-out'] } : {}),
    ...(values['dicomweb-user'] !== undefined ? { user: values['dicomweb-user'] } : {}),
    timeoutMs: values['dicomweb-timeout'] * 1000,
  };
}
