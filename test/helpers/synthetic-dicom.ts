/**
 * Writes a complete, uncompressed CT image series (explicit VR little endian) with every
 * attribute a DICOM SEG needs to reference it: patient, study, series, frame of reference
 * and SOP instance UIDs. The real DICOM files under ../shared are anonymised without some
 * of them, so tests that need a referencable series write one from real pixels.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SyntheticCtSeries {
  /** columns, rows, slices */
  dims: [number, number, number];
  /** [column spacing (x), row spacing (y), slice gap] in mm */
  spacingMm: [number, number, number];
  /** LPS position of the first voxel of the first slice */
  origin: [number, number, number];
  /** HU, x fastest, then y, then z (slice 0 at `origin`, slices stepping +z) */
  hu: ArrayLike<number>;
  /** UID root; every UID is `${root}.<n>`. */
  uidRoot?: string;
  /** Modality (0008,0060). Defaults to 'CT'. */
  modality?: string;
  /** PatientID. Defaults to 'SYN0001'. */
  patientId?: string;
  /** StudyDate, YYYYMMDD. Defaults to '20200401'. */
  studyDate?: string;
}

export interface WrittenSeries {
  files: string[];
  studyInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid: string;
  sopInstanceUids: string[];
}

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';
const LONG_VRS = new Set(['OB', 'OW', 'SQ', 'UN', 'UT']);

function pad(value: string, vr?: string): Buffer {
  const b = Buffer.from(value, 'latin1');
  if (b.length % 2 === 0) return b;
  return Buffer.concat([b, Buffer.from(vr === 'UI' ? '\0' : ' ', 'latin1')]);
}

/**
 * One little-endian data element: explicit VR when `vr` is given, implicit otherwise.
 * String values are padded to even length as their VR asks (UI with NUL, others with space).
 */
export function dicomElement(group: number, elem: number, value: Uint8Array | string, vr?: string): Buffer {
  const v = typeof value === 'string' ? pad(value, vr) : value;
  const long = vr !== undefined && LONG_VRS.has(vr);
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(elem, 2);
  if (vr === undefined) head.writeUInt32LE(v.length, 4);
  else {
    head.write(vr, 4, 'latin1');
    if (long) head.writeUInt32LE(v.length, 8);
    else head.writeUInt16LE(v.length, 6);
  }
  return Buffer.concat([head, v]);
}

export const u16 = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; };
const ds = (xs: number[]) => xs.map((x) => String(+x.toFixed(6))).join('\\');

export function writeSyntheticCtSeries(dir: string, s: SyntheticCtSeries): WrittenSeries {
  mkdirSync(dir, { recursive: true });
  const root = s.uidRoot ?? '1.2.826.0.1.3680043.8.498.424242';
  const [nx, ny, nz] = s.dims;
  const study = `${root}.1`;
  const series = `${root}.2`;
  const frame = `${root}.3`;
  const files: string[] = [];
  const sops: string[] = [];
  for (let z = 0; z < nz; z++) {
    const sop = `${root}.10.${z + 1}`;
    const pixels = Buffer.alloc(nx * ny * 2);
    for (let i = 0; i < nx * ny; i++) pixels.writeInt16LE(Math.round(s.hu[z * nx * ny + i]!) + 1024, 2 * i);
    const ipp = [s.origin[0], s.origin[1], s.origin[2] + z * s.spacingMm[2]];
    const body = Buffer.concat([
      dicomElement(0x0008, 0x0008, 'ORIGINAL\\PRIMARY\\AXIAL', 'CS'),
      dicomElement(0x0008, 0x0016, CT_IMAGE_STORAGE, 'UI'),
      dicomElement(0x0008, 0x0018, sop, 'UI'),
      dicomElement(0x0008, 0x0020, s.studyDate ?? '20200401', 'DA'),
      dicomElement(0x0008, 0x0030, '120000', 'TM'),
      dicomElement(0x0008, 0x0050, 'ACC0001', 'SH'),
      dicomElement(0x0008, 0x0060, s.modality ?? 'CT', 'CS'),
      dicomElement(0x0008, 0x0070, 'covseg test', 'LO'),
      dicomElement(0x0008, 0x0090, '', 'PN'),
      dicomElement(0x0008, 0x103e, 'synthetic chest', 'LO'),
      dicomElement(0x0010, 0x0010, 'Test^Synthetic', 'PN'),
      dicomElement(0x0010, 0x0020, s.patientId ?? 'SYN0001', 'LO'),
      dicomElement(0x0010, 0x0030, '', 'DA'),
      dicomElement(0x0010, 0x0040, 'O', 'CS'),
      dicomElement(0x0018, 0x0050, ds([s.spacingMm[2]]), 'DS'),
      dicomElement(0x0020, 0x000d, study, 'UI'),
      dicomElement(0x0020, 0x000e, series, 'UI'),
      dicomElement(0x0020, 0x0010, '1', 'SH'),
      dicomElement(0x0020, 0x0011, '1', 'IS'),
      dicomElement(0x0020, 0x0013, String(z + 1), 'IS'),
      dicomElement(0x0020, 0x0032, ds(ipp), 'DS'),
      dicomElement(0x0020, 0x0037, ds([1, 0, 0, 0, 1, 0]), 'DS'),
      dicomElement(0x0020, 0x0052, frame, 'UI'),
      dicomElement(0x0020, 0x1040, '', 'LO'),
      dicomElement(0x0028, 0x0002, u16(1), 'US'),
      dicomElement(0x0028, 0x0004, 'MONOCHROME2', 'CS'),
      dicomElement(0x0028, 0x0010, u16(ny), 'US'),
      dicomElement(0x0028, 0x0011, u16(nx), 'US'),
      dicomElement(0x0028, 0x0030, ds([s.spacingMm[1], s.spacingMm[0]]), 'DS'),
      dicomElement(0x0028, 0x0100, u16(16), 'US'),
      dicomElement(0x0028, 0x0101, u16(16), 'US'),
      dicomElement(0x0028, 0x0102, u16(15), 'US'),
      dicomElement(0x0028, 0x0103, u16(1), 'US'),
      dicomElement(0x0028, 0x1052, '-1024', 'DS'),
      dicomElement(0x0028, 0x1053, '1', 'DS'),
      dicomElement(0x7fe0, 0x0010, pixels, 'OW'),
    ]);
    const metaBody = Buffer.concat([
      dicomElement(0x0002, 0x0001, Buffer.from([0, 1]), 'OB'),
      dicomElement(0x0002, 0x0002, CT_IMAGE_STORAGE, 'UI'),
      dicomElement(0x0002, 0x0003, sop, 'UI'),
      dicomElement(0x0002, 0x0010, EXPLICIT_VR_LE, 'UI'),
      dicomElement(0x0002, 0x0012, `${root}.99`, 'UI'),
    ]);
    const groupLength = Buffer.alloc(4);
    groupLength.writeUInt32LE(metaBody.length);
    const file = join(dir, `IM${String(z + 1).padStart(4, '0')}.dcm`);
    writeFileSync(file, Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), dicomElement(0x0002, 0x0000, groupLength, 'UL'), metaBody, body]));
    files.push(file);
    sops.push(sop);
  }
  return { files, studyInstanceUid: study, seriesInstanceUid: series, frameOfReferenceUid: frame, sopInstanceUids: sops };
}

/**
 * A three-slice series with every UID from one real slice's HU (`slice.data`, x fastest):
 * the slice, a copy shifted 12 columns (so the slices differ), the slice again; 0.625 mm
 * pixels, 5 mm apart.
 */
export function writeSeriesFromSlice(dir: string, slice: { dims: readonly number[]; data: ArrayLike<number> }, options: Pick<SyntheticCtSeries, 'uidRoot' | 'modality' | 'patientId' | 'studyDate'> = {}): WrittenSeries {
  const [nx, ny] = slice.dims as [number, number];
  const hu = new Int16Array(nx * ny * 3);
  hu.set(Array.from({ length: nx * ny }, (_, i) => slice.data[i]!), 0);
  for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) hu[nx * ny + y * nx + x] = slice.data[y * nx + Math.min(nx - 1, x + 12)]!;
  hu.copyWithin(2 * nx * ny, 0, nx * ny);
  return writeSyntheticCtSeries(dir, { dims: [nx, ny, 3], spacingMm: [0.625, 0.625, 5], origin: [-160, -160, -200], hu, ...options });
}
