import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PROJECT_ROOT, needsShared, sharedPath } from '../helpers/shared-data.js';
import { readImage, readVolume, writeVolume } from '../../src/io/index.js';
import { createVolume, type Mat3, type Vec3, type Volume, type VoxelArray } from '../../src/volume/volume.js';
import { decodePng, encodePng } from '../../src/io/raster.js';

const FIXTURES = resolve(PROJECT_ROOT, 'test/fixtures/io');
const fixture = (name: string) => join(FIXTURES, name);
const tmp = mkdtempSync(join(tmpdir(), 'covseg-io-test-'));

// The fixtures (make-fixtures.py) hold RAS rotation R = Rz · Rx with 3-4-5 cosines,
// spacing [0.7, 0.9, 2.5], RAS origin [-12.5, 30.25, 47]. In LPS, rows x and y change sign.
const LPS_DIRECTION: Mat3 = [-0.8, 0.36, -0.48, -0.6, -0.48, 0.64, 0, 0.8, 0.6];
const LPS_ORIGIN: Vec3 = [12.5, -30.25, 47];
const F32 = (x: number) => Math.fround(x);
const FIXTURE_SPACING: Vec3 = [F32(0.7), F32(0.9), 2.5];
/** RAS affine rows of the fixtures: R · diag(spacing) | origin. */
const RAS_AFFINE = [
  [0.56, -0.324, 1.2, -12.5],
  [0.42, 0.432, -1.6, 30.25],
  [0, 0.72, 1.5, 47],
];
/** Voxel (x, y, z) of the int16 fixtures holds x + 10y + 100z − 50. */
const fixtureValue = (x: number, y: number, z: number) => x + 10 * y + 100 * z - 50;

function assertClose(actual: readonly number[], expected: readonly number[], tol: number, what: string) {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= tol, `${what}[${i}]: ${v} vs ${expected[i]} (tol ${tol})`));
}

function assertGeometry(vol: Volume, expected: { spacing: Vec3; origin: Vec3; direction: Mat3 }, tol: number, what: string) {
  assertClose(vol.spacingMm, expected.spacing, tol, `${what} spacing`);
  assertClose(vol.origin, expected.origin, tol, `${what} origin`);
  assertClose(vol.direction, expected.direction, tol, `${what} direction`);
}

test('hand-made oblique fixtures read with the LPS geometry worked out by hand', async () => {
  const cases: { file: string; type: string; spacing: Vec3; tol: number; rescaled: boolean; first: number[] }[] = [
    { file: 'oblique-int16.nii', type: 'Int16Array', spacing: FIXTURE_SPACING, tol: 1e-6, rescaled: false, first: [-50, -49, -48, -40] },
    { file: 'oblique-int16.nii.gz', type: 'Int16Array', spacing: FIXTURE_SPACING, tol: 1e-6, rescaled: false, first: [-50, -49, -48, -40] },
    // No sform: the geometry comes from the quaternion (b, c, d) = √2 · (0.3, 0.1, 0.2).
    { file: 'oblique-int16-qform-only.nii', type: 'Int16Array', spacing: FIXTURE_SPACING, tol: 1e-6, rescaled: false, first: [-50, -49, -48, -40] },
    // uint8 × 2 − 1024 is integral: int16. uint8 × 0.5 − 10 is not: float32.
    { file: 'oblique-uint8-slope-2.nii', type: 'Int16Array', spacing: FIXTURE_SPACING, tol: 1e-6, rescaled: true, first: [-1024, -1022, -1020, -1018] },
    { file: 'oblique-uint8-slope-half.nii', type: 'Float32Array', spacing: FIXTURE_SPACING, tol: 1e-6, rescaled: true, first: [-10, -9.5, -9, -8.5] },
    { file: 'oblique-int16-bigendian.nii', type: 'Int16Array', spacing: FIXTURE_SPACING, tol: 1e-6, rescaled: false, first: [-50, -49, -48, -40] },
    // NIfTI-2 keeps doubles: the geometry is exact.
    { file: 'oblique-int16-nifti2.nii', type: 'Int16Array', spacing: [0.7, 0.9, 2.5], tol: 1e-12, rescaled: false, first: [-50, -49, -48, -40] },
    { file: 'oblique-int16.mha', type: 'Int16Array', spacing: [0.7, 0.9, 2.5], tol: 1e-12, rescaled: false, first: [-50, -49, -48, -40] },
    // NRRD in RAS space: ITK flips it into LPS.
    { file: 'oblique-int16-ras.nrrd', type: 'Int16Array', spacing: [0.7, 0.9, 2.5], tol: 1e-12, rescaled: false, first: [-50, -49, -48, -40] },
  ];
  for (const c of cases) {
    const { volume, meta } = await readImage(fixture(c.file));
    assert.equal(volume.data.constructor.name, c.type, c.file);
    assert.deepEqual(volume.dims, [3, 4, 5], c.file);
    assert.equal(meta.rescaled, c.rescaled, c.file);
    assertGeometry(volume, { spacing: c.spacing, origin: LPS_ORIGIN, direction: LPS_DIRECTION }, c.tol, c.file);
    assert.deepEqual(Array.from(volume.data.slice(0, 4)), c.first, c.file);
    if (!c.rescaled) {
      for (let z = 0, i = 0; z < 5; z++) for (let y = 0; y < 4; y++) for (let x = 0; x < 3; x++, i++) assert.equal(volume.data[i], fixtureValue(x, y, z), `${c.file} (${x}, ${y}, ${z})`);
    }
  }
});

test('voxels own their buffer (no header bytes before them, nothing shared)', async () => {
  const png = join(tmp, 'own.png');
  await writeVolume(png, createVolume(Uint8Array.from([1, 2, 3, 4]), [2, 2, 1]));
  for (const file of ['oblique-int16.nii', 'oblique-int16.nii.gz', 'oblique-int16-nifti2.nii', 'oblique-int16.mha', png].map((f) => (f === png ? f : fixture(f)))) {
    const { data } = await readVolume(file);
    assert.ok(!Buffer.isBuffer(data), `${file}: a plain typed array, not a Node Buffer`);
    assert.equal(data.byteOffset, 0, file);
    assert.equal(data.buffer.byteLength, data.byteLength, file);
  }
});

test('a 2D NIfTI becomes a [w, h, 1] volume', async () => {
  const vol = await readVolume(fixture('slice-int16.nii'));
  assert.deepEqual(vol.dims, [3, 4, 1]);
  assert.equal(vol.data[1 + 3 * 2], fixtureValue(1, 2, 0));
});

test('the NIfTI reader agrees with itk-wasm on real files', { skip: needsShared('small-ct-volume') }, async () => {
  const { readImageNode } = await import('@itk-wasm/image-io');
  for (const file of [sharedPath('small-ct-volume/example_ct_sm.nii.gz'), sharedPath('mosmed-masks/study_0255_mask.nii.gz')]) {
    if (!existsSync(file)) continue;
    const mine = await readVolume(file);
    const itk = await readImageNode(file);
    assert.deepEqual(mine.dims, itk.size, file);
    assertClose(mine.spacingMm, itk.spacing, 1e-9, `${file} spacing`);
    assertClose(mine.origin, itk.origin, 1e-9, `${file} origin`);
    assertClose(mine.direction, Array.from(itk.direction as Float64Array), 1e-9, `${file} direction`);
    assert.equal(mine.data.constructor.name, itk.data!.constructor.name);
    assert.ok(mine.data.every((v, i) => v === (itk.data as Int16Array)[i]), `${file} voxels`);
  }
});

test('oblique geometry survives NIfTI → NRRD → NIfTI; the final file holds the hand-computed RAS affine', async () => {
  const start = await readVolume(fixture('oblique-int16.nii'));
  await writeVolume(join(tmp, 'chain.nrrd'), start);
  const viaNrrd = await readVolume(join(tmp, 'chain.nrrd'));
  assertGeometry(viaNrrd, { spacing: start.spacingMm, origin: start.origin, direction: start.direction }, 1e-12, 'NRRD');
  const out = join(tmp, 'chain.nii.gz');
  await writeVolume(out, viaNrrd);
  const bytes = gunzipSync(readFileSync(out));
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const srow = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => v.getFloat32(280 + 16 * r + 4 * c, true)));
  srow.forEach((row, r) => assertClose(row, RAS_AFFINE[r]!, 2e-6, `srow ${'xyz'[r]}`));
  assert.equal(v.getInt16(252, true), 1, 'qform_code');
  assert.equal(v.getInt16(254, true), 1, 'sform_code');
  const quatern = [256, 260, 264].map((o) => v.getFloat32(o, true));
  assertClose(quatern, [0.3 * Math.SQRT2, 0.1 * Math.SQRT2, 0.2 * Math.SQRT2], 1e-6, 'quatern b, c, d');
  assertClose([268, 272, 276].map((o) => v.getFloat32(o, true)), [-12.5, 30.25, 47], 0, 'qoffset');
  assert.equal(v.getFloat32(76, true), 1, 'qfac');
  const final = await readVolume(out);
  assertGeometry(final, { spacing: FIXTURE_SPACING, origin: LPS_ORIGIN, direction: LPS_DIRECTION }, 1e-6, 'final');
  writeFileSync(join(tmp, 'chain.nii'), bytes);
  const qformOnly = await readVolume(withoutSform(join(tmp, 'chain.nii')));
  assertGeometry(qformOnly, { spacing: FIXTURE_SPACING, origin: LPS_ORIGIN, direction: LPS_DIRECTION }, 1e-6, 'final, qform');
  assert.deepEqual(Array.from(final.data), Array.from(start.data));
});

test('an improper direction (a flipped axis) round-trips through NIfTI with qfac −1', async () => {
  // LPS identity with z flipped: in RAS diag(−1, −1, −1), det −1.
  const vol = createVolume(Int16Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [2, 2, 2], { spacingMm: [0.5, 0.75, 3], origin: [1, 2, 3], direction: [1, 0, 0, 0, 1, 0, 0, 0, -1] });
  const out = join(tmp, 'flipped.nii');
  await writeVolume(out, vol);
  const bytes = readFileSync(out);
  assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getFloat32(76, true), -1, 'qfac');
  const back = await readVolume(out);
  assertGeometry(back, { spacing: vol.spacingMm, origin: vol.origin, direction: vol.direction }, 1e-7, 'flipped');
  const qformOnly = await readVolume(withoutSform(out));
  assertGeometry(qformOnly, { spacing: vol.spacingMm, origin: vol.origin, direction: vol.direction }, 1e-7, 'flipped, qform');
});

/** A copy of a written .nii with sform_code 0, so readers fall back to the qform. */
function withoutSform(path: string): string {
  const bytes = Buffer.from(readFileSync(path));
  bytes.writeInt16LE(0, 254);
  const copy = path.replace(/\.nii$/, '-qform.nii');
  writeFileSync(copy, bytes);
  return copy;
}

const TYPED: { name: string; make: () => VoxelArray }[] = [
  { name: 'int16', make: () => Int16Array.from({ length: 60 }, (_, i) => (i * 1237) % 4096 - 2048).map((v, i) => (i === 0 ? -32768 : i === 1 ? 32767 : v)) },
  { name: 'uint8', make: () => Uint8Array.from({ length: 60 }, (_, i) => (i * 37) % 256).map((v, i) => (i === 0 ? 255 : v)) },
  { name: 'float32', make: () => Float32Array.from({ length: 60 }, (_, i) => Math.fround(Math.sin(i) * 1e3 + 1e-7 * i)).map((v, i) => (i === 0 ? -0.1 : v)) },
];
const EXTENSIONS = ['.nrrd', '.nii', '.nii.gz', '.mha'];

test('int16, uint8 and float32 voxels round-trip bit-exactly through NRRD, NIfTI and MHA', async () => {
  const geometry = { spacingMm: [0.7, 0.9, 2.5] as Vec3, origin: [12.5, -30.25, 47] as Vec3, direction: LPS_DIRECTION };
  for (const t of TYPED) {
    const vol = createVolume(t.make(), [3, 4, 5], geometry);
    for (const ext of EXTENSIONS) {
      const path = join(tmp, `rt-${t.name}${ext}`);
      await writeVolume(path, vol);
      const { volume: back, meta } = await readImage(path);
      assert.equal(back.data.constructor.name, vol.data.constructor.name, `${t.name}${ext} type`);
      assert.equal(meta.pixelType, t.name);
      const a = new Uint8Array(vol.data.buffer), b = new Uint8Array(back.data.buffer, back.data.byteOffset, back.data.byteLength);
      assert.deepEqual(b, a, `${t.name}${ext} bytes`);
      assert.deepEqual(back.dims, [3, 4, 5]);
      // NIfTI-1 stores geometry as float32; NRRD and MHA as decimal text of the doubles.
      const tol = ext.startsWith('.nii') ? 2e-6 : 1e-12;
      assertGeometry(back, { spacing: geometry.spacingMm, origin: geometry.origin, direction: geometry.direction }, tol, `${t.name}${ext}`);
    }
  }
});

test('NRRD header: LPS space, spacing × direction columns, gzip or raw, uchar label maps', async () => {
  const vol = createVolume(Uint8Array.from([0, 1, 2, 1, 0, 0]), [3, 2, 1], { spacingMm: [0.5, 2, 4], origin: [-1.5, 2.25, 0], direction: [0, 1, 0, -1, 0, 0, 0, 0, 1] });
  const cases: { file: string; options: Parameters<typeof writeVolume>[2]; encoding: string }[] = [
    { file: 'label.nrrd', options: {}, encoding: 'gzip' },
    { file: 'label-raw.nrrd', options: { compression: 'raw' }, encoding: 'raw' },
  ];
  for (const c of cases) {
    await writeVolume(join(tmp, c.file), vol, c.options);
    const text = readFileSync(join(tmp, c.file)).toString('latin1');
    const header = text.slice(0, text.indexOf('\n\n'));
    assert.match(header, /^NRRD0004\n/);
    assert.match(header, /\ntype: uchar\n/);
    assert.match(header, /\nspace: left-posterior-superior\n/);
    assert.match(header, /\nsizes: 3 2 1\n/);
    // Column 0 = 0.5 × (0, −1, 0); column 1 = 2 × (1, 0, 0).
    assert.match(header, /\nspace directions: \(0,-0\.5,0\) \(2,0,0\) \(0,0,4\)\n/);
    assert.match(header, /\nspace origin: \(-1\.5,2\.25,0\)/);
    assert.match(header, new RegExp(`\\nencoding: ${c.encoding}\\n`));
    if (c.encoding === 'raw') assert.deepEqual(Array.from(Buffer.from(text.slice(text.indexOf('\n\n') + 2), 'latin1')), [0, 1, 2, 1, 0, 0]);
    const back = await readVolume(join(tmp, c.file));
    assert.deepEqual(Array.from(back.data), [0, 1, 2, 1, 0, 0]);
    assertGeometry(back, { spacing: [0.5, 2, 4], origin: [-1.5, 2.25, 0], direction: [0, 1, 0, -1, 0, 0, 0, 0, 1] }, 0, c.file);
  }
});

test('.seg.nrrd writes a label map with a 3D Slicer segment per label present', async () => {
  const vol = createVolume(Uint8Array.from([0, 1, 1, 3]), [2, 2, 1]);
  await writeVolume(join(tmp, 'mask.seg.nrrd'), vol, { labelNames: { 1: 'lung' } });
  const text = readFileSync(join(tmp, 'mask.seg.nrrd')).toString('latin1');
  const header = text.slice(0, text.indexOf('\n\n'));
  for (const line of ['Segment0_Name:=lung', 'Segment0_LabelValue:=1', 'Segment1_Name:=label 3', 'Segment1_LabelValue:=3', 'Segment1_ID:=Segment_3']) {
    assert.ok(header.includes(`\n${line}`), `${line} in\n${header}`);
  }
  assert.ok(!header.includes('Segment2_'), 'only labels 1 and 3 are present');
  assert.deepEqual(Array.from((await readVolume(join(tmp, 'mask.seg.nrrd'))).data), [0, 1, 1, 3]);
});

test('PNG: uint8 slices as they are, other types through a window', async () => {
  const u8 = createVolume(Uint8Array.from([0, 7, 128, 255, 1, 2]), [3, 2, 1]);
  await writeVolume(join(tmp, 'u8.png'), u8);
  const png = decodePng(readFileSync(join(tmp, 'u8.png')));
  assert.deepEqual([png.width, png.height, png.channels], [3, 2, 1]);
  assert.deepEqual(Array.from(png.data), [0, 7, 128, 255, 1, 2]);
  const back = await readImage(join(tmp, 'u8.png'));
  assert.deepEqual(Array.from(back.volume.data), [0, 7, 128, 255, 1, 2]);
  assert.deepEqual(back.volume.spacingMm, [1, 1, 1]);
  assert.match(back.meta.warnings.join('\n'), /pixel size unknown/);
  // Window [−1000, 400]: 255 / 1400 per HU. −1100 → 0 (clipped), −1000 → 0, −300 → 127.5 → 128, 400 → 255, 1000 → 255.
  const hu = createVolume(Int16Array.from([-1100, -1000, -300, 400, 1000, 0]), [3, 2, 1]);
  await writeVolume(join(tmp, 'hu.png'), hu, { window: [-1000, 400] });
  assert.deepEqual(Array.from(decodePng(readFileSync(join(tmp, 'hu.png'))).data), [0, 0, 128, 255, 255, Math.round((1000 * 255) / 1400)]);
});

test('PNG/JPEG inputs: colour becomes grey with a warning, grey stored as RGB without, palettes keep labels', async () => {
  const rgb = join(tmp, 'rgb.png');
  writeFileSync(rgb, encodePng({ width: 2, height: 1, channels: 3, data: Uint8Array.from([255, 0, 0, 10, 10, 10]) }));
  const greyRgb = join(tmp, 'grey-rgb.png');
  writeFileSync(greyRgb, encodePng({ width: 2, height: 1, channels: 3, data: Uint8Array.from([7, 7, 7, 200, 200, 200]) }));
  const cases = [
    { file: rgb, values: [Math.round(0.299 * 255), 10], colourWarning: true },
    { file: greyRgb, values: [7, 200], colourWarning: false },
  ];
  for (const c of cases) {
    const { volume, meta } = await readImage(c.file);
    assert.deepEqual(Array.from(volume.data), c.values, c.file);
    assert.equal(/colour image \(3 channels\) converted to grey/.test(meta.warnings.join('\n')), c.colourWarning, c.file);
  }
});

test('real PNG/JPEG slices: a palette mask keeps its labels, a JPEG CT reads as grey', { skip: needsShared('covid-semiseg') }, async () => {
  const dir = sharedPath('covid-semiseg/TrainingSet/MultiClassInfection-Train');
  const mask = await readImage(join(dir, 'GT/0.png'));
  assert.equal(mask.meta.palette, true);
  assert.ok(mask.volume.data instanceof Uint8Array);
  assert.ok(mask.volume.data.every((v) => v <= 2), 'labels 0, 1, 2');
  const ct = await readImage(join(dir, 'Imgs/0.jpg'));
  assert.equal(ct.meta.format, 'jpeg');
  assert.deepEqual(ct.volume.dims, [...mask.volume.dims]);
});

test('a misnamed file is read by its content', async () => {
  const cases = [
    { from: 'oblique-int16.nii.gz', to: 'ct.dat' },
    { from: 'oblique-int16.mha', to: 'ct.raw' },
    { from: 'oblique-int16-ras.nrrd', to: 'ct.nii' },
  ];
  for (const c of cases) {
    copyFileSync(fixture(c.from), join(tmp, c.to));
    const vol = await readVolume(join(tmp, c.to));
    assert.deepEqual(vol.dims, [3, 4, 5], c.to);
    assert.equal(vol.data[2 + 3 * (1 + 4 * 3)], fixtureValue(2, 1, 3), c.to);
  }
});

test('writes are atomic: no temp files are left behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'covseg-atomic-'));
  const vol = createVolume(new Int16Array(8), [2, 2, 2]);
  for (const ext of ['.nrrd', '.nii.gz', '.mha']) await writeVolume(join(dir, `a${ext}`), vol);
  await assert.rejects(writeVolume(join(dir, 'b.png'), vol));
  assert.deepEqual(readdirSync(dir).sort(), ['a.mha', 'a.nii.gz', 'a.nrrd']);
});

test('errors name the file and the problem', async () => {
  const truncated = join(tmp, 'truncated.nii.gz');
  writeFileSync(truncated, readFileSync(fixture('oblique-int16.nii.gz')).subarray(0, 100));
  const short = join(tmp, 'short.nii');
  writeFileSync(short, readFileSync(fixture('oblique-int16.nii')).subarray(0, 400));
  const text = join(tmp, 'notes.txt');
  writeFileSync(text, 'hello, not an image\n');
  const empty = join(tmp, 'empty.nii');
  writeFileSync(empty, '');
  const vol3d = createVolume(new Uint8Array(8), [2, 2, 2]);
  const cases: { run: () => Promise<unknown>; message: RegExp }[] = [
    { run: () => readVolume(truncated), message: /truncated\.nii\.gz: the gzip stream is truncated or corrupt/ },
    { run: () => readVolume(short), message: /short\.nii: the file is truncated: 3×4×5 voxels need 472 bytes, the file holds 400/ },
    { run: () => readVolume(text), message: /notes\.txt: unsupported or unrecognised image format; covseg reads NIfTI .*DICOM.*PNG, JPEG/ },
    { run: () => readVolume(empty), message: /empty\.nii: the file is empty/ },
    { run: () => readVolume(join(tmp, 'missing.nii')), message: /missing\.nii: cannot open: no such file or folder/ },
    { run: () => writeVolume(join(tmp, 'vol.png'), vol3d), message: /vol\.png: a PNG holds one 2D slice, but the volume has 2 slices/ },
    { run: () => writeVolume(join(tmp, 'hu.png'), createVolume(new Int16Array(4), [2, 2, 1])), message: /hu\.png: Int16Array voxels cannot be stored in an 8-bit PNG .*options\.window/ },
    { run: () => writeVolume(join(tmp, 'x.tiff'), vol3d), message: /x\.tiff: cannot tell the output format from the extension; use \.nrrd/ },
    { run: () => writeVolume(join(tmp, 'ct.seg.nrrd'), createVolume(new Int16Array(8), [2, 2, 2])), message: /ct\.seg\.nrrd: a \.seg\.nrrd holds a label map, but the volume is Int16Array/ },
    { run: () => writeVolume(join(tmp, 'w.png'), createVolume(new Int16Array(4), [2, 2, 1]), { window: [5, 5] }), message: /w\.png: window \[5, 5\] is empty/ },
    { run: () => writeVolume(join(tmp, 'g.nrrd'), vol3d, { gzipLevel: 0 }), message: /g\.nrrd: gzipLevel 0 is not an integer from 1 to 9/ },
  ];
  for (const c of cases) await assert.rejects(c.run(), c.message);
});
