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
import { join, resolve } from 'node:path';
import { readImage } from '../../src/io/index.js';
import { PROJECT_ROOT } from './shared-data.js';
import { writeSeriesFromSlice, type WrittenSeries } from './synthetic-dicom.js';

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
  /** The series of `study`, with their modality (QIDO-RS, asked by hand). */
  seriesOf(study: string): Promise<{ uid: string; modality: string }[]>;
  /** How many instances Orthanc holds (REST API). */
  instanceCount(): Promise<number>;
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
    async seriesOf(study) {
      const r = await fetch(`${rest}/dicom-web/studies/${study}/series`, { headers: { Authorization: authorization, Accept: 'application/dicom+json' } });
      if (!r.ok) throw new Error(`QIDO-RS for the series of ${study}: ${r.status}`);
      const tag = (s: Record<string, { Value?: string[] }>, t: string) => s[t]?.Value?.[0] ?? '';
      return ((await r.json()) as Record<string, { Value?: string[] }>[]).map((s) => ({ uid: tag(s, '0020000E'), modality: tag(s, '00080060') }));
    },
    async instanceCount() {
      const r = await fetch(`${rest}/instances`, { headers: { Authorization: authorization } });
      return ((await r.json()) as unknown[]).length;
    },
  };
}

/**
 * Two studies on `pacs`, written under `dir`: a CT series of three slices made from the real
 * chest slice (examples/chest-ct-dicom-slice, with every UID a DICOM SEG needs), and a study
 * whose only series is MR (no CT to segment).
 */
export async function uploadChestStudies(pacs: Orthanc, dir: string): Promise<{ ct: WrittenSeries; mr: WrittenSeries }> {
  const { volume: slice } = await readImage(resolve(PROJECT_ROOT, 'examples/chest-ct-dicom-slice/chest-ct.dcm'));
  const ct = writeSeriesFromSlice(join(dir, 'ct'), slice, { uidRoot: '1.2.826.0.1.3680043.8.498.1601' });
  const mr = writeSeriesFromSlice(join(dir, 'mr'), slice, { uidRoot: '1.2.826.0.1.3680043.8.498.1602', modality: 'MR' });
  for (const f of [...ct.files, ...mr.files]) await pacs.upload(readFileSync(f));
  return { ct, mr };
}
