/**
 * Hostile and careless input to the readers: corrupt NIfTI headers, unknown voxel
 * sizes, non-finite voxels, lying PNG/JPEG headers and images too large to decode.
 * Every file is synthetic, written here into a temporary folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageInfo, readImage } from '../../src/io/index.js';
import { formatInfo } from '../../src/cli/commands/info.js';
import { createVolume, type Volume } from '../../src/volume/volume.js';
import { NIFTI1, unknownPixdim, writePatchedNifti } from '../helpers/synthetic-nifti.js';

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
