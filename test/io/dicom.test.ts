import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { needsShared, sharedPath } from '../helpers/shared-data.js';
import { dicomElement as element, u16 } from '../helpers/synthetic-dicom.js';
import { dicomDateToIso, planDicomSeries, readDicomHeader, readImage, type DicomHeader } from '../../src/io/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'covseg-dicom-test-'));

/** A slice header as the scanner would write it; `k` steps along `normal` from `start`. */
function slice(path: string, over: Partial<DicomHeader> = {}): DicomHeader {
  return {
    path,
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    imageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
    hasPixelData: true,
    rows: 4,
    columns: 3,
    pixelSpacing: [0.8, 0.6],
    imageOrientationPatient: [1, 0, 0, 0, 0.8, -0.6],
    seriesInstanceUid: '1.2.3',
    ...over,
  };
}

// Row (1, 0, 0) × column (0, 0.8, −0.6) = normal (0, 0.6, 0.8): a gantry-tilted series.
const NORMAL = [0, 0.6, 0.8];
const at = (d: number): [number, number, number] => [-100, 20 + NORMAL[1]! * d, 30 + NORMAL[2]! * d];

test('slices are sorted along the slice normal by ImagePositionPatient, not by InstanceNumber or name', () => {
  // Files named and numbered against their position.
  const headers = [3, 0, 2, 1].map((k) => slice(`s${k}`, { imagePositionPatient: at(2.5 * k), instanceNumber: 10 - k }));
  const plan = planDicomSeries('series', headers);
  assert.deepEqual(plan.files, ['s0', 's1', 's2', 's3']);
  assert.deepEqual(plan.dims, [3, 4, 4]);
  // PixelSpacing is [between rows (y), between columns (x)].
  assert.deepEqual(plan.spacingMm.map((x) => +x.toFixed(12)), [0.6, 0.8, 2.5]);
  assert.deepEqual(plan.origin, at(0));
  // Columns: row direction, column direction, normal.
  assert.deepEqual(plan.direction.map((x) => +x.toFixed(12) + 0), [1, 0, 0, 0, 0.8, 0.6, 0, -0.6, 0.8]);
  assert.deepEqual(plan.warnings, []);
});

test('series assembly cases', () => {
  const four = (uid: string, over: Partial<DicomHeader> = {}) => [0, 1, 2, 3].map((k) => slice(`${uid}-${k}`, { imagePositionPatient: at(2 * k), seriesInstanceUid: uid, ...over }));
  const cases: { name: string; headers: DicomHeader[]; options?: { seriesInstanceUid: string }; files: string[]; spacingZ: number; warning?: RegExp; skipped: number }[] = [
    {
      name: 'a localizer in the series is dropped',
      headers: [...four('a'), slice('scout', { imageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'], imagePositionPatient: at(3), seriesInstanceUid: 'a' })],
      files: ['a-0', 'a-1', 'a-2', 'a-3'], spacingZ: 2, warning: /dropped 1 localizer image\(s\) from series a/, skipped: 0,
    },
    {
      name: 'a slice of another orientation is dropped',
      headers: [...four('a'), slice('coronal', { imageOrientationPatient: [1, 0, 0, 0, 0, -1], imagePositionPatient: at(1), seriesInstanceUid: 'a' })],
      files: ['a-0', 'a-1', 'a-2', 'a-3'], spacingZ: 2, warning: /1 slice\(s\) with another orientation/, skipped: 0,
    },
    {
      name: 'the series with the most voxels is chosen',
      headers: [...four('small'), ...[0, 1, 2, 3, 4].map((k) => slice(`big-${k}`, { imagePositionPatient: at(5 * k), seriesInstanceUid: 'big' }))],
      files: ['big-0', 'big-1', 'big-2', 'big-3', 'big-4'], spacingZ: 5, skipped: 1,
    },
    {
      name: 'options.seriesInstanceUid picks a series',
      headers: [...four('small'), ...[0, 1, 2, 3, 4].map((k) => slice(`big-${k}`, { imagePositionPatient: at(5 * k), seriesInstanceUid: 'big' }))],
      options: { seriesInstanceUid: 'small' },
      files: ['small-0', 'small-1', 'small-2', 'small-3'], spacingZ: 2, skipped: 1,
    },
    {
      name: 'a missing slice: irregular spacing, mean gap used',
      headers: [0, 1, 3].map((k) => slice(`g${k}`, { imagePositionPatient: at(2.5 * k) })),
      files: ['g0', 'g1', 'g3'], spacingZ: 3.75, warning: /slice spacing is irregular \(2\.5–5 mm between consecutive slices; the mean 3\.75 mm is used\)/, skipped: 0,
    },
    {
      name: 'two slices at one position: the lower InstanceNumber is kept',
      headers: [slice('p0', { imagePositionPatient: at(0), instanceNumber: 1 }), slice('p1b', { imagePositionPatient: at(2), instanceNumber: 3 }), slice('p1a', { imagePositionPatient: at(2), instanceNumber: 2 })],
      files: ['p0', 'p1a'], spacingZ: 2, warning: /1 slice\(s\) share a position with another slice/, skipped: 0,
    },
    {
      name: 'anonymised files without SeriesInstanceUID form one series',
      headers: [0, 1].map((k) => slice(`n${k}`, { imagePositionPatient: at(3 * k), seriesInstanceUid: undefined })),
      files: ['n0', 'n1'], spacingZ: 3, skipped: 0,
    },
  ];
  for (const c of cases) {
    const headers = c.headers.map((h) => {
      const copy = { ...h };
      if (copy.seriesInstanceUid === undefined) delete copy.seriesInstanceUid;
      return copy;
    });
    const plan = planDicomSeries('folder', headers, c.options);
    assert.deepEqual(plan.files, c.files, c.name);
    assert.ok(Math.abs(plan.spacingMm[2] - c.spacingZ) < 1e-9, `${c.name}: spacing z ${plan.spacingMm[2]}`);
    assert.equal(plan.skippedSeries.length, c.skipped, c.name);
    if (c.warning) assert.match(plan.warnings.join('\n'), c.warning, c.name);
    else assert.deepEqual(plan.warnings, [], c.name);
  }
});

test('series assembly errors name the folder and the fix', () => {
  const cases: { headers: DicomHeader[]; options?: { seriesInstanceUid: string }; message: RegExp }[] = [
    { headers: [], message: /study: no DICOM image files found/ },
    { headers: [slice('x', { imagePositionPatient: at(0) })], options: { seriesInstanceUid: '9.9' }, message: /study: no series with SeriesInstanceUID 9\.9; the folder holds 1\.2\.3/ },
    { headers: [slice('x', { imageType: ['LOCALIZER'], imagePositionPatient: at(0) })], message: /study: series 1\.2\.3 holds only localizer images/ },
    { headers: [slice('mf', { imagePositionPatient: at(0), numberOfFrames: 40 })], message: /mf: multi-frame \(enhanced\) DICOM is not supported/ },
  ];
  for (const c of cases) assert.throws(() => planDicomSeries('study', c.headers, c.options), c.message);
});

// --- a hand-built DICOM file: explicit VR meta, implicit VR dataset with a nested sequence ---

const str = (s: string) => Buffer.from(s.length % 2 ? s + ' ' : s, 'latin1');

function implicitDicom(pixelBytes: number, declaredPixelBytes = pixelBytes): Buffer {
  const ts = Buffer.from('1.2.840.10008.1.2\0', 'latin1');
  const meta = element(0x0002, 0x0010, ts, 'UI');
  const groupLength = element(0x0002, 0x0000, (() => { const b = Buffer.alloc(4); b.writeUInt32LE(meta.length); return b; })(), 'UL');
  // A sequence of undefined length whose item holds an ImagePositionPatient that must be ignored.
  const nestedIpp = element(0x0020, 0x0032, str('999\\999\\999'));
  const item = Buffer.concat([Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]), nestedIpp, Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0])]);
  const seqHead = Buffer.alloc(8);
  seqHead.writeUInt16LE(0x0008, 0); seqHead.writeUInt16LE(0x1115, 2); seqHead.writeUInt32LE(0xffffffff, 4);
  const seq = Buffer.concat([seqHead, item, Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0])]);
  const pixHead = Buffer.alloc(8);
  pixHead.writeUInt16LE(0x7fe0, 0); pixHead.writeUInt16LE(0x0010, 2); pixHead.writeUInt32LE(declaredPixelBytes, 4);
  return Buffer.concat([
    Buffer.alloc(128), Buffer.from('DICM', 'latin1'), groupLength, meta,
    element(0x0008, 0x0008, str('ORIGINAL\\PRIMARY\\AXIAL')),
    element(0x0008, 0x0060, str('CT')),
    seq,
    element(0x0020, 0x000e, str('1.2.826.1')),
    element(0x0020, 0x0013, str('7')),
    element(0x0020, 0x0032, str('-10.5\\20\\-30.25')),
    element(0x0020, 0x0037, str('1\\0\\0\\0\\1\\0')),
    element(0x0028, 0x0010, u16(2)),
    element(0x0028, 0x0011, u16(3)),
    element(0x0028, 0x0030, str('0.7\\0.6')),
    element(0x0028, 0x0100, u16(16)),
    element(0x0028, 0x1052, str('-1024')),
    element(0x0028, 0x1053, str('1')),
    pixHead, Buffer.alloc(pixelBytes),
  ]);
}

test('the header reader takes top-level attributes of an implicit-VR file and skips nested sequences', async () => {
  const path = join(tmp, 'implicit.dcm');
  writeFileSync(path, implicitDicom(2 * 3 * 2));
  const h = await readDicomHeader(path);
  assert.equal(h.transferSyntaxUid, '1.2.840.10008.1.2');
  assert.deepEqual(h.imageType, ['ORIGINAL', 'PRIMARY', 'AXIAL']);
  assert.equal(h.modality, 'CT');
  assert.equal(h.seriesInstanceUid, '1.2.826.1');
  assert.equal(h.instanceNumber, 7);
  assert.deepEqual(h.imagePositionPatient, [-10.5, 20, -30.25]);
  assert.deepEqual(h.imageOrientationPatient, [1, 0, 0, 0, 1, 0]);
  assert.deepEqual([h.rows, h.columns, h.bitsAllocated], [2, 3, 16]);
  assert.deepEqual(h.pixelSpacing, [0.7, 0.6]);
  assert.deepEqual([h.rescaleSlope, h.rescaleIntercept], [1, -1024]);
  assert.equal(h.hasPixelData, true);
});

test('DICOM file errors name the file and the problem', async () => {
  const cut = join(tmp, 'cut.dcm');
  writeFileSync(cut, implicitDicom(5, 12));
  const headerOnly = join(tmp, 'header-cut.dcm');
  writeFileSync(headerOnly, implicitDicom(12).subarray(0, 190));
  // 200 bytes end cleanly after ImageType: a valid DICOM object, but without an image.
  const noPixels = join(tmp, 'no-pixels.dcm');
  writeFileSync(noPixels, implicitDicom(12).subarray(0, 200));
  const notDicom = join(tmp, 'text.dcm');
  writeFileSync(notDicom, Buffer.alloc(300, 65));
  await assert.rejects(readDicomHeader(cut), /cut\.dcm: DICOM pixel data is truncated \(the header announces 12 bytes, the file holds 5\)/);
  await assert.rejects(readDicomHeader(headerOnly), /header-cut\.dcm: DICOM header is truncated/);
  await assert.rejects(readDicomHeader(notDicom), /text\.dcm: not a DICOM file \(no 'DICM' marker at byte 128\)/);
  await assert.rejects(readImage(cut), /cut\.dcm: DICOM pixel data is truncated/);
  await assert.rejects(readImage(noPixels), /no-pixels\.dcm: the DICOM file holds no image \(no pixel data/);
  const empty = join(tmp, 'no-dicom');
  mkdirSync(empty);
  writeFileSync(join(empty, 'notes.txt'), 'no images here');
  await assert.rejects(readImage(empty), /no-dicom: no DICOM image files found .*point covseg at the folder of one CT series/);
});

test('real single slice: 512×512 int16 HU at 0.625 mm', { skip: needsShared('chest-ct-dicom-slice') }, async () => {
  const { volume, meta } = await readImage(sharedPath('chest-ct-dicom-slice/0.dcm'));
  assert.deepEqual(volume.dims, [512, 512, 1]);
  assert.ok(volume.data instanceof Int16Array);
  assert.deepEqual(volume.spacingMm.slice(0, 2), [0.625, 0.625]);
  assert.deepEqual(volume.origin, [0, 0, 0]);
  assert.equal(meta.format, 'dicom');
  assert.equal(meta.modality, undefined);
  let min = Infinity;
  for (const v of volume.data) min = Math.min(min, v);
  assert.equal(min, -2048, 'outside the field of view');
});

test('a DICOM file given by a relative path reads the same as by its absolute path', { skip: needsShared('chest-ct-dicom-slice') }, async () => {
  const absolute = sharedPath('chest-ct-dicom-slice/0.dcm');
  const byRelative = await readImage(relative(process.cwd(), absolute));
  const byAbsolute = await readImage(absolute);
  assert.deepEqual(byRelative.volume.data, byAbsolute.volume.data);
});

const SERIES = 'small-ct-volume/example_ct_dicom';

test('real 20-slice series: geometry from the tags, same volume from a shuffled, renamed copy with clutter', { skip: needsShared(SERIES) }, async () => {
  const dir = sharedPath(SERIES);
  const { volume, meta } = await readImage(dir);
  assert.deepEqual(volume.dims, [512, 512, 20]);
  assert.ok(volume.data instanceof Int16Array);
  // Tags: PixelSpacing 0.9765625, SliceThickness 3 but IPP z from −804.5 to −766.5 in steps of 2.
  assert.deepEqual(volume.spacingMm, [0.9765625, 0.9765625, 2]);
  assert.deepEqual(volume.origin, [-249.51171875, -437.51171875, -804.5]);
  assert.deepEqual(volume.direction, [1, 0, 0, 0, 1, 0, 0, 0, 1]);
  assert.equal(meta.files.length, 20);
  const zs = await Promise.all(meta.files.map(async (f) => (await readDicomHeader(f)).imagePositionPatient![2]));
  assert.deepEqual(zs, Array.from({ length: 20 }, (_, k) => -804.5 + 2 * k));
  assert.equal(meta.rescaled, true, 'RescaleIntercept −1024');
  // Stored values are unsigned; the −1024 padding proves the intercept was applied.
  let min = Infinity;
  for (const v of volume.data) min = Math.min(min, v);
  assert.equal(min, -1024);
  // Voxel slice k is file k: compare the last slice with the last file decoded on its own.
  const last = await readImage(meta.files[19]!);
  const plane = 512 * 512;
  assert.ok(last.volume.data.every((v, i) => v === volume.data[19 * plane + i]), 'slice 19 = files[19]');
  assert.deepEqual(last.volume.origin, [-249.51171875, -437.51171875, -766.5]);
  assert.equal(meta.seriesDescription, 'CT Body 3.0');
  assert.equal(meta.studyDate, '20221208', 'StudyDate, for follow-up comparisons');
  assert.equal(meta.patientId, undefined, 'anonymised: no PatientID');

  const copy = mkdtempSync(join(tmpdir(), 'covseg-shuffled-'));
  const names = readdirSync(dir).sort();
  const order = names.map((_, i) => (i * 7) % names.length); // a permutation: 7 and 20 are coprime
  names.forEach((name, i) => copyFileSync(join(dir, name), join(copy, `img${String(order[i]).padStart(3, '0')}.bin`)));
  writeFileSync(join(copy, 'README.txt'), 'exported by hand');
  mkdirSync(join(copy, 'other'));
  copyFileSync(sharedPath('chest-ct-dicom-slice/0.dcm'), join(copy, 'other', 'scout.dcm'));
  const shuffled = await readImage(copy);
  assert.deepEqual(shuffled.volume.dims, volume.dims);
  assert.deepEqual(shuffled.volume.spacingMm, volume.spacingMm);
  assert.deepEqual(shuffled.volume.origin, volume.origin);
  assert.deepEqual(shuffled.volume.direction, volume.direction);
  assert.ok(shuffled.volume.data.every((v, i) => v === volume.data[i]), 'same voxels');
  assert.equal(shuffled.meta.skippedFiles, 1, 'README.txt');
  assert.equal(shuffled.meta.skippedSeries?.length, 1, 'the 1-slice series');
  assert.equal(shuffled.meta.skippedSeries![0]!.files, 1);

  // One slice cut short: it is left out with a warning, and the gap shows as irregular spacing.
  const victim = join(copy, 'img010.bin');
  writeFileSync(victim, readFileSync(victim).subarray(0, 20000));
  const damaged = await readImage(copy);
  assert.equal(damaged.volume.dims[2], 19);
  assert.match(damaged.meta.warnings.join('\n'), /1 DICOM file\(s\) could not be read and were left out \(.*img010\.bin: DICOM pixel data is truncated/);
  assert.match(damaged.meta.warnings.join('\n'), /slice spacing is irregular \(2–4 mm/);
});

test('DICOM dates read as YYYY-MM-DD', () => {
  assert.equal(dicomDateToIso('20200401'), '2020-04-01');
  assert.equal(dicomDateToIso('2020-04-01'), '2020-04-01');
  assert.equal(dicomDateToIso(' 20200401 '), '2020-04-01');
  assert.equal(dicomDateToIso('2020.04.01'), undefined);
  assert.equal(dicomDateToIso(undefined), undefined);
});
