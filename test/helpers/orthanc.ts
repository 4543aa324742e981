/**
 * A real Orthanc PACS (Debian `orthanc` + `orthanc-dicomweb`, installed by scripts/setup.sh)
 * for the DICOMweb tests: 127.0.0.1 only, a free HTTP port, no DICOM port, its own temporary
 * storage and index, one registered user (authentication on). Started per test file,
 * stopped by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ORTHANC_BIN = process.env['COVSEG_ORTHANC'] ?? '/usr/sbin/Orthanc';
export const ORTHANC_DICOMWEB_PLUGIN = process.env['COVSEG_ORTHANC_DICOMWEB'] ?? '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

/** `skip` value: false when Orthanc and its DICOMweb plugin are installed, else the reason. */
export function orthancMissing(): false | string {
  if (!existsSync(ORTHANC_BIN)) return `Orthanc not installed (${ORTHANC_BIN}; scripts/setup.sh installs orthanc orthanc-dicomweb)`;
  if (!existsSync(ORTHANC_DICOMWEB_PLUGIN)) return `Orthanc's DICOMweb plugin not installed (${ORTHANC_DICOMWEB_PLUGIN}; apt-get install orthanc-dicomweb)`;
  return false;
}

/** A port nothing listens on now (the kernel's choice for port 0). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Orthanc {
  /** The DICOMweb base URL, http://127.0.0.1:PORT/dicom-web. */
  dicomweb: string;
  /** Orthanc's own REST API root. */
  rest: string;
  user: string;
  password: string;
  /** Authorization header value of the registered user. */
  authorization: string;
  /** Uploads a Part-10 file through the REST API (not DICOMweb: independent of the code under test). */
  upload(bytes: Uint8Array<ArrayBuffer>): Promise<void>;
  stop(): Promise<void>;
}

export async function startOrthanc(): Promise<Orthanc> {
  const dir = mkdtempSync(join(tmpdir(), 'covseg-orthanc-'));
  const port = await freePort();
  const user = 'covseg';
  const password = 'test-password';
  writeFileSync(join(dir, 'orthanc.json'), JSON.stringify({
    Name: 'covseg-test', HttpPort: port, DicomServerEnabled: false, DicomPort: 0,
    StorageDirectory: join(dir, 'db'), IndexDirectory: join(dir, 'db'),
    Plugins: [ORTHANC_DICOMWEB_PLUGIN],
    RemoteAccessAllowed: false, AuthenticationEnabled: true, RegisteredUsers: { [user]: password },
    HttpCompressionEnabled: false,
  }));
  const log = join(dir, 'orthanc.log');
  const child: ChildProcess = spawn(ORTHANC_BIN, [`--logfile=${log}`, join(dir, 'orthanc.json')], { stdio: 'ignore' });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const rest = `http://127.0.0.1:${port}`;
  const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const stop = async () => {
    if (!exited && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    await exit;
    rmSync(dir, { recursive: true, force: true });
  };
  // Poll /system until Orthanc answers (it opens its database and plugins first).
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) {
      const text = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '';
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`Orthanc exited before answering:\n${text}`);
    }
    const ok = await fetch(`${rest}/system`, { headers: { Authorization: authorization } }).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error('Orthanc did not answer /system within 60 s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    dicomweb: `${rest}/dicom-web`, rest, user, password, authorization, stop,
    async upload(bytes) {
      const r = await fetch(`${rest}/instances`, { method: 'POST', headers: { Authorization: authorization, 'Content-Type': 'application/dicom' }, body: bytes });
      if (!r.ok) throw new Error(`Orthanc refused an upload: ${r.status} ${await r.text()}`);
    },
  };
}
