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

function pad(value: string, vr: string): Buffer {
  const b = Buffer.from(value, 'latin1');
  if (b.length % 2 === 0) return b;
  return Buffer.concat([b, Buffer.from(vr === 'UI' ? '\0' : ' ', 'latin1')]);
}

function element(group: number, elem: number, vr: string, value: Buffer | string): Buffer {
  const v = typeof value === 'string' ? pad(value, vr) : value;
  const long = LONG_VRS.has(vr);
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(elem, 2);
  head.write(vr, 4, 'latin1');
  if (long) head.writeUInt32LE(v.length, 8);
  else head.writeUInt16LE(v.length, 6);
  return Buffer.concat([head, v]);
}

const us = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; };
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
      element(0x0008, 0x0008, 'CS', 'ORIGINAL\\PRIMARY\\AXIAL'),
      element(0x0008, 0x0016, 'UI', CT_IMAGE_STORAGE),
      element(0x0008, 0x0018, 'UI', sop),
      element(0x0008, 0x0020, 'DA', '20200401'),
      element(0x0008, 0x0030, 'TM', '120000'),
      element(0x0008, 0x0050, 'SH', 'ACC0001'),
      element(0x0008, 0x0060, 'CS', 'CT'),
      element(0x0008, 0x0070, 'LO', 'covseg test'),
      element(0x0008, 0x0090, 'PN', ''),
      element(0x0008, 0x103e, 'LO', 'synthetic chest'),
      element(0x0010, 0x0010, 'PN', 'Test^Synthetic'),
      element(0x0010, 0x0020, 'LO', 'SYN0001'),
      element(0x0010, 0x0030, 'DA', ''),
      element(0x0010, 0x0040, 'CS', 'O'),
      element(0x0018, 0x0050, 'DS', ds([s.spacingMm[2]])),
      element(0x0020, 0x000d, 'UI', study),
      element(0x0020, 0x000e, 'UI', series),
      element(0x0020, 0x0010, 'SH', '1'),
      element(0x0020, 0x0011, 'IS', '1'),
      element(0x0020, 0x0013, 'IS', String(z + 1)),
      element(0x0020, 0x0032, 'DS', ds(ipp)),
      element(0x0020, 0x0037, 'DS', ds([1, 0, 0, 0, 1, 0])),
      element(0x0020, 0x0052, 'UI', frame),
      element(0x0020, 0x1040, 'LO', ''),
      element(0x0028, 0x0002, 'US', us(1)),
      element(0x0028, 0x0004, 'CS', 'MONOCHROME2'),
      element(0x0028, 0x0010, 'US', us(ny)),
      element(0x0028, 0x0011, 'US', us(nx)),
      element(0x0028, 0x0030, 'DS', ds([s.spacingMm[1], s.spacingMm[0]])),
      element(0x0028, 0x0100, 'US', us(16)),
      element(0x0028, 0x0101, 'US', us(16)),
      element(0x0028, 0x0102, 'US', us(15)),
      element(0x0028, 0x0103, 'US', us(1)),
      element(0x0028, 0x1052, 'DS', '-1024'),
      element(0x0028, 0x1053, 'DS', '1'),
      element(0x7fe0, 0x0010, 'OW', pixels),
    ]);
    const metaBody = Buffer.concat([
      element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
      element(0x0002, 0x0002, 'UI', CT_IMAGE_STORAGE),
      element(0x0002, 0x0003, 'UI', sop),
      element(0x0002, 0x0010, 'UI', EXPLICIT_VR_LE),
      element(0x0002, 0x0012, 'UI', `${root}.99`),
    ]);
    const groupLength = Buffer.alloc(4);
    groupLength.writeUInt32LE(metaBody.length);
    const file = join(dir, `IM${String(z + 1).padStart(4, '0')}.dcm`);
    writeFileSync(file, Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), element(0x0002, 0x0000, 'UL', groupLength), metaBody, body]));
    files.push(file);
    sops.push(sop);
  }
  return { files, studyInstanceUid: study, seriesInstanceUid: series, frameOfReferenceUid: frame, sopInstanceUids: sops };
}
