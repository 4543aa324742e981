/**
 * Hostile and careless input to the readers: corrupt NIfTI headers, unknown voxel
 * sizes, non-finite voxels, lying PNG/JPEG headers and images too large to decode.
 * Every file is synthetic, written here into a temporary folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { imageInfo, readImage, writeVolume } from '../../src/io/index.js';
import { encodeNiftiHeader } from '../../src/io/nifti.js';
import { formatInfo } from '../../src/cli/commands/info.js';
import { encodePng } from '../../src/io/raster.js';
import jpeg from 'jpeg-js';
import { createVolume, type Volume } from '../../src/volume/volume.js';
import { NIFTI1, unknownPixdim, writePatchedNifti } from '../helpers/synthetic-nifti.js';
import { dicomElement, u16, writeSyntheticCtSeries } from '../helpers/synthetic-dicom.js';

const tmp = mkdtempSync(join(tmpdir(), 'covseg-hostile-'));

/** A 2×2×2 int16 CT-like volume at 0.8 × 0.8 × 2.5 mm. */
function smallCt(): Volume {
  return createVolume(Int16Array.from([-1000, -900, -800, 40, 60, 300, -1024, 500]), [2, 2, 2], { spacingMm: [0.8, 0.8, 2.5] });
}

const nifti = (name: string, vol: Volume, patch?: (v: DataView) => void) => writePatchedNifti(join(tmp, name), vol, patch);

test('NIfTI: a dim below 1 or a dim[0] outside 1–7 is refused with the header field named', async () => {
  const cases: { name: string; patch: (v: DataView) => void; message: RegExp }[] = [
    { name: 'dim1-negative.nii', patch: (v) => v.setInt16(NIFTI1.dim + 2, -5, true), message: /dim1-negative\.nii: NIfTI header dim\[1\] = -5; each image dimension must be ≥ 1/ },
    { name: 'dim1-zero.nii', patch: (v) => v.setInt16(NIFTI1.dim + 2, 0, true), message: /dim1-zero\.nii: NIfTI header dim\[1\] = 0; each image dimension must be ≥ 1/ },
    { name: 'dim3-zero.nii.gz', patch: (v) => v.setInt16(NIFTI1.dim + 6, 0, true), message: /dim3-zero\.nii\.gz: NIfTI header dim\[3\] = 0; each image dimension/ },
    { name: 'dim0-zero.nii', patch: (v) => v.setInt16(NIFTI1.dim, 0, true), message: /dim0-zero\.nii: NIfTI header dim\[0\] = 0; the number of dimensions must be 1–7/ },
    { name: 'dim0-eight.nii', patch: (v) => v.setInt16(NIFTI1.dim, 8, true), message: /dim0-eight\.nii: NIfTI header dim\[0\] = 8; the number of dimensions must be 1–7/ },
  ];
  for (const c of cases) {
    const path = nifti(c.name, smallCt(), c.patch);
    await assert.rejects(readImage(path), c.message, c.name);
  }
  // dim[4..7] beyond dim[0] are not image dimensions: whatever they hold is ignored.
  const path = nifti('dim5-beyond.nii', smallCt(), (v) => v.setInt16(NIFTI1.dim + 10, -3, true));
  assert.deepEqual((await readImage(path)).volume.dims, [2, 2, 2]);
});

test('NIfTI: a pixdim of 0 or NaN is an unknown voxel size (spacingKnown false, one warning), not a known 1 mm', async () => {
  for (const [name, pixdim] of [['pixdim-zero.nii', [0, 0, 0]], ['pixdim-nan.nii.gz', [NaN, 0.8, 2.5]], ['pixdim-z-zero.nii', [0.8, 0.8, 0]]] as const) {
    const { volume, meta } = await readImage(nifti(name, smallCt(), unknownPixdim([...pixdim])));
    assert.equal(meta.spacingKnown, false, name);
    // 1 mm stands in for the unknown sizes only, so the grid stays usable.
    assert.deepEqual(volume.spacingMm, pixdim.map((x) => (x > 0 ? Math.fround(x) : 1)), name);
    const notes = meta.warnings.filter((w) => /voxel size is unknown/.test(w));
    assert.equal(notes.length, 1, `${name}: ${meta.warnings.join(' | ')}`);
    assert.match(notes[0]!, /pixdim\[\d\] = (0|NaN).*volumes \(mL\) are not available/, name);
  }
  // The sform states the size even when pixdim does not.
  const sform = await readImage(nifti('pixdim-zero-sform.nii', smallCt(), unknownPixdim([0, 0, 0], true)));
  assert.equal(sform.meta.spacingKnown, true);
  assert.deepEqual(sform.volume.spacingMm.map((x) => +x.toFixed(5)), [0.8, 0.8, 2.5]);
  assert.deepEqual(sform.meta.warnings, []);
  // A 2D image needs no slice thickness.
  const flat = createVolume(Int16Array.from([-1000, 0, 40, 300]), [2, 2, 1], { spacingMm: [0.7, 0.7, 1] });
  const slice = await readImage(nifti('2d-pixdim3-zero.nii', flat, unknownPixdim([0.7, 0.7, 0])));
  assert.equal(slice.meta.spacingKnown, true, slice.meta.warnings.join(' | '));
  // Files that state their size keep spacingKnown true.
  assert.equal((await readImage(nifti('good.nii', smallCt()))).meta.spacingKnown, true);
  // covseg info says so on the spacing line.
  const info = await imageInfo(nifti('info-pixdim-zero.nii', smallCt(), unknownPixdim([0, 0, 0])));
  assert.equal(info.spacingKnown, false);
  assert.match(formatInfo(info), /^spacing +1 × 1 × 1 mm \(assumed: the file does not state the voxel size\)$/m);
});

test('NIfTI: the orientation warning is one coherent sentence (no "qform used" followed by "no sform or qform")', async () => {
  const noSformNoQform = (v: DataView) => {
    v.setInt16(NIFTI1.sformCode, 0, true);
    v.setInt16(NIFTI1.qformCode, 0, true);
  };
  const zeroSformColumn = (v: DataView) => {
    for (let r = 0; r < 3; r++) v.setFloat32(NIFTI1.srow + 16 * r, 0, true);
  };
  const cases: { name: string; patch: (v: DataView) => void; warning: RegExp | undefined }[] = [
    { name: 'no-forms.nii', patch: noSformNoQform, warning: /^no sform or qform \(qform_code = sform_code = 0\): orientation unknown, RAS axes and origin 0 assumed$/ },
    {
      name: 'bad-sform-no-qform.nii',
      patch: (v) => { zeroSformColumn(v); v.setInt16(NIFTI1.qformCode, 0, true); },
      warning: /^the sform is degenerate \(a zero column or a value that is not a number\) and there is no qform \(qform_code = 0\): orientation unknown, RAS axes and origin 0 assumed$/,
    },
    { name: 'bad-sform-qform.nii', patch: zeroSformColumn, warning: /^the sform is degenerate \(a zero column or a value that is not a number\); the qform was used$/ },
    { name: 'nan-sform-qform.nii', patch: (v) => v.setFloat32(NIFTI1.srow + 12, NaN, true), warning: /^the sform is degenerate .*; the qform was used$/ },
    {
      name: 'no-sform-nan-qform.nii',
      patch: (v) => { v.setInt16(NIFTI1.sformCode, 0, true); v.setFloat32(NIFTI1.quatern, NaN, true); },
      warning: /^there is no sform \(sform_code = 0\) and the qform holds a value that is not a number: orientation unknown/,
    },
    { name: 'qform-only.nii', patch: (v) => v.setInt16(NIFTI1.sformCode, 0, true), warning: undefined },
  ];
  for (const c of cases) {
    const { volume, meta } = await readImage(nifti(c.name, smallCt(), c.patch));
    const orientation = meta.warnings.filter((w) => /sform|qform/.test(w));
    if (c.warning) {
      assert.equal(orientation.length, 1, `${c.name}: ${meta.warnings.join(' | ')}`);
      assert.match(orientation[0]!, c.warning, c.name);
    } else {
      assert.deepEqual(orientation, [], c.name);
    }
    assert.ok(volume.direction.every(Number.isFinite) && volume.origin.every(Number.isFinite), `${c.name}: finite geometry`);
  }
});

/** A 4×4×2 float32 CT with `nan` NaN and `inf` ±Infinity voxels at the start. */
function ctWithNonFinite(nan: number, inf: number): Volume {
  const data = new Float32Array(32);
  for (let i = 0; i < 32; i++) data[i] = i % 2 ? -1000 : 40 + i;
  for (let i = 0; i < nan; i++) data[i] = NaN;
  for (let i = 0; i < inf; i++) data[nan + i] = i % 2 ? -Infinity : Infinity;
  return createVolume(data, [4, 4, 2], { spacingMm: [0.8, 0.8, 2.5] });
}

test('NaN and ±Infinity voxels: refused by default with the file and the counts named, counted with finite: count', async () => {
  const path = nifti('non-finite.nii.gz', ctWithNonFinite(12, 3));
  await assert.rejects(readImage(path), (err: Error) => {
    assert.equal(err.message, `${path}: 12 voxels are NaN and 3 are infinite; covseg needs finite values`);
    return true;
  });
  await assert.rejects(readImage(nifti('one-nan.nii', ctWithNonFinite(1, 0))), /one-nan\.nii: 1 voxel is NaN; covseg needs finite values$/);
  await assert.rejects(readImage(nifti('two-inf.nii', ctWithNonFinite(0, 2))), /two-inf\.nii: 2 voxels are infinite; covseg needs finite values$/);
  const counted = await readImage(path, { finite: 'count' });
  assert.deepEqual(counted.meta.nonFinite, { nan: 12, infinite: 3 });
  assert.equal((await readImage(nifti('finite.nii', ctWithNonFinite(0, 0)))).meta.nonFinite, undefined);
});

test('imageInfo describes a file with NaN voxels: the counts, and the HU check over the finite voxels', async () => {
  const info = await imageInfo(nifti('info-non-finite.nii.gz', ctWithNonFinite(12, 3)));
  assert.deepEqual(info.nonFinite, { nan: 12, infinite: 3 });
  assert.equal(info.hu.stats.min, -1000);
  assert.ok(Number.isFinite(info.hu.stats.max) && info.hu.stats.max < 100, `max ${info.hu.stats.max}`);
  assert.match(info.hu.reason, /over the finite voxels: 12 voxels are NaN and 3 are infinite/);
  assert.match(formatInfo(info), /^non-finite +12 NaN, 3 ±Infinity voxel\(s\): other covseg commands refuse this file$/m);
  const clean = await imageInfo(nifti('info-finite.nii.gz', ctWithNonFinite(0, 0)));
  assert.deepEqual(clean.nonFinite, { nan: 0, infinite: 0 });
  assert.doesNotMatch(formatInfo(clean), /non-finite/);
  const allNan = await imageInfo(nifti('info-all-nan.nii', ctWithNonFinite(32, 0)));
  assert.equal(allNan.hu.isHu, false);
  assert.match(allNan.hu.reason, /no voxel holds a finite value/);
});

/** A valid 64×64 grey PNG whose IHDR then claims `width` × `height` (CRC left stale: the decoder does not check it). */
function forgedPng(name: string, width: number, height: number): string {
  const png = Uint8Array.from(encodePng({ width: 64, height: 64, channels: 1, data: new Uint8Array(64 * 64).map((_, i) => i % 251) }));
  const v = new DataView(png.buffer);
  v.setUint32(16, width);
  v.setUint32(20, height);
  return writeBytes(name, png);
}

/** A valid 64×64 JPEG, cut to `keep` bytes or with its frame header claiming another size. */
function jpegBytes(options: { keep?: number; width?: number; height?: number } = {}): Uint8Array {
  const rgba = new Uint8Array(64 * 64 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 7) % 256));
  const jpg = Uint8Array.from(jpeg.encode({ width: 64, height: 64, data: rgba }, 90).data);
  if (options.width !== undefined) {
    let p = 2;
    while (jpg[p + 1]! < 0xc0 || jpg[p + 1]! > 0xc2) p += 2 + ((jpg[p + 2]! << 8) | jpg[p + 3]!);
    new DataView(jpg.buffer).setUint16(p + 5, options.height!);
    new DataView(jpg.buffer).setUint16(p + 7, options.width);
  }
  return options.keep === undefined ? jpg : jpg.subarray(0, options.keep);
}

function writeBytes(name: string, bytes: Uint8Array): string {
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
}

test('PNG/JPEG: a forged or cut header gives "corrupt PNG/JPEG (…)" naming the file, never the decoder\'s "Unsupported filter: undefined"', async () => {
  const good = forgedPng('good.png', 64, 64);
  assert.deepEqual((await readImage(good)).volume.dims, [64, 64, 1]);
  const cases: { path: string; message: RegExp }[] = [
    { path: forgedPng('taller.png', 64, 80), message: /taller\.png: corrupt PNG \(the pixel data ends before the 64 × 80 pixels the header announces: truncated, or a forged header\)/ },
    { path: forgedPng('huge.png', 60000, 60000), message: /huge\.png: .*60000 × 60000/ },
    { path: forgedPng('zero.png', 0, 64), message: /zero\.png: corrupt PNG \(IHDR says 0 × 64 pixels\)/ },
    { path: writeBytes('cut.png', readFileSync(good).subarray(0, 60)), message: /cut\.png: corrupt PNG \(/ },
    { path: writeBytes('header-only.png', readFileSync(good).subarray(0, 20)), message: /header-only\.png: corrupt PNG \(the file ends after 20 bytes, inside the header\)/ },
    { path: writeBytes('cut.jpg', jpegBytes({ keep: 400 })), message: /cut\.jpg: corrupt JPEG \(/ },
    { path: writeBytes('no-frame.jpg', Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, 0xff, 0xda, 0, 2])), message: /no-frame\.jpg: corrupt JPEG \(no frame header \(SOF\) before the image data\)/ },
    { path: writeBytes('zero.jpg', jpegBytes({ width: 64, height: 0 })), message: /zero\.jpg: corrupt JPEG \(the frame header says 64 × 0 pixels\)/ },
  ];
  for (const c of cases) {
    await assert.rejects(readImage(c.path), (err: Error) => {
      assert.match(err.message, c.message, c.path);
      assert.doesNotMatch(err.message, /Unsupported filter/, c.path);
      return true;
    });
  }
  assert.deepEqual((await readImage(writeBytes('good.jpg', jpegBytes()))).volume.dims, [64, 64, 1]);
});

/** A DICOM slice whose header announces `rows` × `columns` 16-bit pixels, the file extended to that size as a sparse file (no disk used). */
function sparseDicom(name: string, rows: number, columns: number): string {
  const meta = dicomElement(0x0002, 0x0010, '1.2.840.10008.1.2.1', 'UI');
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(meta.length);
  const pixelHead = Buffer.alloc(12);
  pixelHead.writeUInt16LE(0x7fe0, 0);
  pixelHead.writeUInt16LE(0x0010, 2);
  pixelHead.write('OW', 4, 'latin1');
  pixelHead.writeUInt32LE(rows * columns * 2, 8);
  const header = Buffer.concat([
    Buffer.alloc(128), Buffer.from('DICM', 'latin1'), dicomElement(0x0002, 0x0000, groupLength, 'UL'), meta,
    dicomElement(0x0008, 0x0060, 'CT', 'CS'),
    dicomElement(0x0028, 0x0002, u16(1), 'US'),
    dicomElement(0x0028, 0x0010, u16(rows), 'US'),
    dicomElement(0x0028, 0x0011, u16(columns), 'US'),
    dicomElement(0x0028, 0x0100, u16(16), 'US'),
    pixelHead,
  ]);
  const path = writeBytes(name, header);
  truncateSync(path, header.length + rows * columns * 2);
  return path;
}

test('the voxel cap: every reader refuses an image above maxVoxels from its header, naming the dimensions, before decoding', async () => {
  const limit = (dims: string, voxels: string, max = '320 M') => new RegExp(`: ${dims} = ${voxels} voxels is more than the limit of ${max} \\(--max-voxels\\)$`);
  // Headers that lie: the files hold a few bytes, so only the header can have been read.
  const claim = (v: DataView) => { v.setInt16(NIFTI1.dim + 2, 2000, true); v.setInt16(NIFTI1.dim + 4, 2000, true); v.setInt16(NIFTI1.dim + 6, 100, true); };
  const slice = (x: number, y: number, pixels: string) => new RegExp(`: a slice of ${x} × ${y} = ${pixels} pixels is more than the 67.1 M \\(8192 × 8192\\) a CT slice can have$`);
  const big: { path: string; message: RegExp }[] = [
    { path: nifti('claims-400M.nii', smallCt(), claim), message: limit('2000 × 2000 × 100', '400 M') },
    { path: nifti('claims-400M.nii.gz', smallCt(), claim), message: limit('2000 × 2000 × 100', '400 M') },
    { path: writeBytes('claims.nrrd', Buffer.from('NRRD0004\ntype: short\ndimension: 3\nsizes: 16384 16384 1\nencoding: raw\n\n\0\0')), message: slice(16384, 16384, '268 M') },
    { path: writeBytes('claims.mha', Buffer.from('ObjectType = Image\nNDims = 3\nDimSize = 16384 16384 1\nElementType = MET_SHORT\nElementDataFile = LOCAL\n\0\0')), message: slice(16384, 16384, '268 M') },
    { path: sparseDicom('claims.dcm', 16384, 16384), message: slice(16384, 16384, '268 M') },
    { path: forgedPng('claims.png', 60000, 60000), message: limit('60000 × 60000 × 1', '3600 M') },
    { path: forgedPng('claims-10000.png', 10000, 10000), message: slice(10000, 10000, '100 M') },
    { path: writeBytes('claims.jpg', jpegBytes({ width: 60000, height: 60000 })), message: limit('60000 × 60000 × 1', '3600 M') },
  ];
  for (const c of big) await assert.rejects(readImage(c.path), (err: Error) => (assert.match(err.message, c.message, c.path), assert.ok(err.message.startsWith(c.path), err.message), true));
  // The option moves the limit, for every format: 8 voxels pass a limit of 8 and not of 7.
  const vol = smallCt();
  const dicomDir = join(tmp, 'series');
  writeSyntheticCtSeries(dicomDir, { dims: [2, 2, 2], spacingMm: [0.8, 0.8, 2.5], origin: [0, 0, 0], hu: vol.data });
  const files = [nifti('small.nii.gz', vol), join(tmp, 'small.nrrd'), join(tmp, 'small.mha'), dicomDir];
  await writeVolume(files[1]!, vol);
  await writeVolume(files[2]!, vol);
  for (const path of files) {
    assert.equal((await readImage(path, { maxVoxels: 8 })).volume.data.length, 8, path);
    await assert.rejects(readImage(path, { maxVoxels: 7 }), limit('2 × 2 × 2', '8', '7'), path);
  }
  await assert.rejects(readImage(forgedPng('small.png', 64, 64), { maxVoxels: 4095 }), limit('64 × 64 × 1', '4096', '4095'));
  await assert.rejects(readImage(writeBytes('small.jpg', jpegBytes()), { maxVoxels: 4095 }), limit('64 × 64 × 1', '4096', '4095'));
});

test('a .nii.gz whose stream inflates far past what its header needs is refused, not inflated', async () => {
  const vol = smallCt();
  const header = encodeNiftiHeader(vol, 'bomb.nii.gz');
  // 2×2×2 int16 voxels need 368 bytes; 20 MiB of zeros follow them (20 KB compressed).
  const bytes = Buffer.concat([header, new Uint8Array(vol.data.buffer), Buffer.alloc(20 * 1024 ** 2)]);
  const path = writeBytes('bomb.nii.gz', gzipSync(bytes));
  await assert.rejects(readImage(path), /bomb\.nii\.gz: the gzip stream inflates to more than the \d+ bytes its header's 2 × 2 × 2 voxels need; the file is corrupt$/);
});
