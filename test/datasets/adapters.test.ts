import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePng, readVolume } from '../../src/io/index.js';
import {
  adapterFor,
  countNonzero,
  loadCase,
  scanMedseg100,
  scanMedseg9,
  scanMosmed,
  scanSemiseg,
  scanZenodo,
  scanZenodoSlices,
} from '../../src/datasets/index.js';
import { needsShared, sharedPath } from '../helpers/shared-data.js';
import {
  CONSOLIDATION,
  EFFUSION,
  GGO,
  MEDSEG9_GEOMETRY,
  MOSMED_GEOMETRY,
  expectedLesion,
  writeMedseg100Layout,
  writeMedseg9Layout,
  writeMosmedLayout,
  writeNifti,
  writeZenodoLayout,
  type Phantom,
} from '../helpers/synthetic-datasets.js';

async function tempDir(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `covseg-${name}-`));
}

/** lung ∪ lesion (GGO or consolidation), counted from the phantom's own arrays. */
function lungUnionLesion(p: Phantom, from = 0, to = p.lungSides.length): number {
  let n = 0;
  for (let i = from; i < to; i++) if (p.lungSides[i] !== 0 || p.lesionLabels[i] === GGO || p.lesionLabels[i] === CONSOLIDATION) n++;
  return n;
}

test('MosMed: masked studies are the cases, in id order, unmasked studies counted; int16 HU on the real header geometry', async () => {
  const root = await tempDir('mosmed');
  try {
    const phantoms = await writeMosmedLayout(root, [
      { id: 'study_0256' },
      { id: 'study_0255' },
      { id: 'study_0001', folder: 'CT-0', masked: false },
      { id: 'study_1110', folder: 'CT-4', masked: false },
    ]);
    const scan = await scanMosmed(root);
    assert.deepEqual(scan.cases.map((c) => c.originalId), ['study_0255', 'study_0256']);
    assert.deepEqual(scan.cases.map((c) => c.patientGroup), ['mosmed:study_0255', 'mosmed:study_0256']);
    assert.equal(scan.cases[0]!.files.image, join(root, 'studies', 'CT-1', 'study_0255.nii.gz'));
    assert.equal(scan.cases[0]!.files.lesion, join(root, 'masks', 'study_0255_mask.nii.gz'));
    assert.equal(scan.cases[0]!.files.lung, undefined, 'MosMed has no lung masks');
    assert.match(scan.notes[0]!, /^4 studies seen, 2 with a lesion mask; 2 studies without a mask/);
    const loaded = await loadCase(scan.cases[0]!);
    assert.ok(loaded.ct.data instanceof Int16Array);
    assert.deepEqual(loaded.ct.dims, [32, 32, 6]);
    assert.deepEqual(loaded.ct.spacingMm.map((s) => Number(s.toFixed(3))), MOSMED_GEOMETRY.spacingMm);
    assert.deepEqual(loaded.ct.direction.map((d) => Math.round(d)), MOSMED_GEOMETRY.direction);
    assert.equal(countNonzero(loaded.lesionMask.data), expectedLesion(phantoms.get('study_0255')!));
    assert.equal(loaded.lungMask, undefined);
    assert.equal(loaded.isHu, true);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('MosMed: MOSMED_GEOMETRY is the real mask header, and a real mask pairs with a CT of its geometry', { skip: needsShared('mosmed-masks') }, async () => {
  const realMask = sharedPath('mosmed-masks/study_0255_mask.nii.gz');
  const mask = await readVolume(realMask);
  assert.ok(mask.data instanceof Int16Array, 'MosMed masks are int16');
  assert.deepEqual(mask.dims, MOSMED_GEOMETRY.dims);
  for (let a = 0; a < 3; a++) {
    assert.ok(Math.abs(mask.spacingMm[a]! - MOSMED_GEOMETRY.spacingMm[a]!) < 1e-3, `spacing ${mask.spacingMm}`);
    assert.ok(Math.abs(mask.origin[a]! - MOSMED_GEOMETRY.origin[a]!) < 1e-2, `origin ${mask.origin}`);
  }
  assert.deepEqual(mask.direction.map((d) => Math.round(d)), MOSMED_GEOMETRY.direction);
  const values = new Set(mask.data);
  assert.ok([...values].every((v) => v === 0 || v === 1), `labels ${[...values]}`);
  const root = await tempDir('mosmed-real');
  try {
    await mkdir(join(root, 'masks'));
    await mkdir(join(root, 'studies', 'CT-1'), { recursive: true });
    await cp(realMask, join(root, 'masks', 'study_0255_mask.nii.gz'));
    // Air everywhere is enough here: the test is about pairing the real mask header with a CT.
    await writeNifti(join(root, 'studies', 'CT-1', 'study_0255.nii.gz'), new Float32Array(mask.data.length).fill(-1000), 'int16', mask);
    const loaded = await loadCase((await scanMosmed(root)).cases[0]!);
    assert.equal(countNonzero(loaded.lesionMask.data), countNonzero(Uint8Array.from(mask.data, (v) => (v ? 1 : 0))));
    assert.deepEqual(loaded.warnings, []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('MedSeg 100: each slice is a case and its own patient group; pleural effusion (3) is not lesion', async () => {
  const root = await tempDir('medseg100');
  try {
    const p = await writeMedseg100Layout(root, { size: 24, slices: 4 });
    const scan = await scanMedseg100(root);
    assert.deepEqual(scan.cases.map((c) => c.originalId), ['slice_000', 'slice_001', 'slice_002', 'slice_003']);
    assert.deepEqual(scan.cases.map((c) => c.sliceIndex), [0, 1, 2, 3]);
    assert.equal(new Set(scan.cases.map((c) => c.patientGroup)).size, 4);
    assert.ok(scan.cases.every((c) => c.kind === 'slice'));
    assert.match(scan.notes[0]!, /each slice is its own patientGroup/);
    const n = 24 * 24;
    const z = 1;
    const labels = p.lesionLabels.subarray(z * n, (z + 1) * n);
    const effusion = labels.filter((v) => v === EFFUSION).length;
    assert.ok(effusion > 0, 'the phantom slice has pleural effusion, so the test can fail');
    const loaded = await loadCase(scan.cases[z]!);
    assert.deepEqual(loaded.ct.dims, [24, 24, 1]);
    assert.ok(loaded.ct.data instanceof Float32Array, 'non-integral HU stay float');
    assert.equal(countNonzero(loaded.lesionMask.data), labels.filter((v) => v === GGO || v === CONSOLIDATION).length);
    assert.equal(countNonzero(loaded.lungMask!.data), lungUnionLesion(p, z * n, (z + 1) * n));
    assert.ok(loaded.lungSides, 'two lung labels give right/left');
    assert.equal(loaded.isHu, true);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('MedSeg 9: rp_im/N in natural order, GGO ∪ consolidation, one-label lung mask harmonised to lung ∪ lesion', async () => {
  const root = await tempDir('medseg9');
  try {
    const p = await writeMedseg9Layout(root, [2, 10, 1]);
    const scan = await scanMedseg9(root);
    assert.deepEqual(scan.cases.map((c) => c.originalId), ['1', '2', '10']);
    assert.deepEqual(scan.cases.map((c) => c.patientGroup), ['medseg9:1', 'medseg9:2', 'medseg9:10']);
    assert.equal(scan.cases[1]!.files.lung, join(root, 'rp_lung_msk', '2.nii.gz'));
    const loaded = await loadCase(scan.cases[0]!);
    assert.ok(p.counts.effusion > 0 && p.counts.consolidation > 0 && p.counts.ggo > 0);
    assert.equal(countNonzero(loaded.lesionMask.data), p.counts.ggo + p.counts.consolidation);
    assert.equal(countNonzero(loaded.lungMask!.data), lungUnionLesion(p));
    assert.equal(loaded.lungSides, undefined, 'one lung label: no sides');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('Zenodo: names, patient groups, sides from position (source labels 1 left / 2 right), 0–255 Radiopaedia scans are not HU', async () => {
  const root = await tempDir('zenodo');
  try {
    const stems = ['radiopaedia_org_covid-19-pneumonia-10_85902_3-dcm', 'coronacases_org_001', 'radiopaedia_org_covid-19-pneumonia-10_85902_1-dcm'];
    const phantoms = await writeZenodoLayout(root, { stems });
    const scan = await scanZenodo(root);
    assert.deepEqual(scan.cases.map((c) => c.originalId), ['coronacases_001', 'radiopaedia_10_85902_1', 'radiopaedia_10_85902_3']);
    assert.deepEqual(scan.cases.map((c) => c.patientGroup), ['coronacases:001', 'radiopaedia-case:10', 'radiopaedia-case:10']);
    assert.equal(scan.cases[1]!.files.image, join(root, 'COVID-19-CT-Seg_20cases', 'radiopaedia_org_covid-19-pneumonia-10_85902_1-dcm.nii.gz'));
    assert.equal(scan.cases[1]!.files.lesion, join(root, 'Infection_Mask', 'radiopaedia_10_85902_1.nii.gz'));
    assert.equal(scan.cases[1]!.files.lung, join(root, 'Lung_Mask', 'radiopaedia_10_85902_1.nii.gz'));
    const corona = await loadCase(scan.cases[0]!);
    const p = phantoms.coronacases;
    assert.ok(corona.ct.data instanceof Int16Array);
    assert.equal(corona.isHu, true);
    assert.equal(countNonzero(corona.lesionMask.data), expectedLesion(p));
    assert.equal(countNonzero(corona.lungMask!.data), lungUnionLesion(p));
    // The phantom's own sides are 1 right / 2 left; the file had them swapped.
    assert.deepEqual(Array.from(corona.lungSides!.data), Array.from(p.lungSides));
    const rp = await loadCase(scan.cases[1]!);
    assert.ok(rp.ct.data instanceof Uint8Array);
    assert.equal(rp.isHu, false);
    assert.match(rp.huReason, /8-bit windowed export/);
    assert.equal(countNonzero(rp.lesionMask.data), expectedLesion(phantoms.radiopaedia));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('Zenodo, Kaggle copy: .nii files paired through metadata.csv, float infection masks with decimals', async () => {
  const root = await tempDir('kaggle');
  try {
    const phantoms = await writeZenodoLayout(root, { layout: 'kaggle', stems: ['coronacases_org_002', 'radiopaedia_org_covid-19-pneumonia-4_85506_1-dcm'] });
    const scan = await scanZenodo(root);
    assert.ok(scan.notes.some((n) => /Kaggle layout/.test(n)) && scan.notes.some((n) => /metadata\.csv/.test(n)));
    assert.deepEqual(scan.cases.map((c) => c.originalId), ['coronacases_002', 'radiopaedia_4_85506_1']);
    assert.equal(scan.cases[0]!.files.image, join(root, 'ct_scans', 'coronacases_org_002.nii'));
    assert.equal(scan.cases[0]!.files.lesion, join(root, 'infection_mask', 'coronacases_002.nii'));
    const loaded = await loadCase(scan.cases[0]!);
    assert.equal(countNonzero(loaded.lesionMask.data), expectedLesion(phantoms.coronacases));
    assert.equal(countNonzero(loaded.lungMask!.data), lungUnionLesion(phantoms.coronacases));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('Zenodo without Lung_Mask/: lungs come from Lung_and_Infection_Mask/ (3 = infection dropped, lesion added back)', async () => {
  const root = await tempDir('zenodo-combined');
  try {
    const phantoms = await writeZenodoLayout(root, { stems: ['coronacases_org_003'], lungMasks: false });
    const scan = await scanZenodo(root);
    assert.equal(scan.cases[0]!.files.lung, join(root, 'Lung_and_Infection_Mask', 'coronacases_003.nii.gz'));
    const loaded = await loadCase(scan.cases[0]!);
    const p = phantoms.coronacases;
    assert.equal(countNonzero(loaded.lungMask!.data), lungUnionLesion(p));
    // Sides come from the lung labels only: infection voxels (3 in the file) have no side.
    const sidesOutsideLesion = Array.from(p.lungSides, (v, i) => (p.lesionLabels[i] === GGO || p.lesionLabels[i] === CONSOLIDATION ? 0 : v));
    assert.deepEqual(Array.from(loaded.lungSides!.data), sidesOutsideLesion);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('zenodo-slices (real): 1,614 slices in 18 patient groups; coronacases groups are Zenodo patients; 0/255 masks', { skip: needsShared('zenodo20-slices') }, async () => {
  const root = sharedPath('zenodo20-slices');
  const scan = await scanZenodoSlices(root);
  assert.equal(scan.cases.length, 1614);
  assert.equal(new Set(scan.cases.map((c) => c.patientGroup)).size, 18);
  assert.deepEqual([scan.cases[0]!.originalId, scan.cases[0]!.patientGroup], ['0000', 'coronacases:001']);
  assert.equal(scan.cases[1613]!.patientGroup, 'zenodo-slices:radiopaedia_H');
  const ref = scan.cases[100]!;
  const loaded = await loadCase(ref);
  assert.deepEqual(loaded.ct.dims, [256, 256, 1]);
  assert.equal(loaded.isHu, false);
  const covid = decodePng(await readFile(ref.files.lesion));
  assert.equal(countNonzero(loaded.lesionMask.data), Array.from(covid.data).filter((v) => v >= 128).length);
  assert.equal(countNonzero(loaded.lesionMask.data), 911, 'covid/0100.png has 911 lesion pixels');
});

test('COVID-SemiSeg (real): 50 slices, each its own group; multi-class GT 1 ∪ 2 is the lesion; binary GT is the fallback', { skip: needsShared('covid-semiseg') }, async () => {
  const scan = await scanSemiseg(sharedPath('covid-semiseg'));
  assert.equal(scan.cases.length, 50);
  assert.deepEqual(scan.cases.slice(0, 8).map((c) => c.originalId), ['0', '1', '2', '3', '4', '5', '10', '11']);
  assert.equal(new Set(scan.cases.map((c) => c.patientGroup)).size, 50);
  assert.ok(scan.notes.some((n) => /each slice is its own patientGroup/.test(n)));
  const loaded = await loadCase(scan.cases[0]!);
  assert.deepEqual(loaded.ct.dims, [273, 369, 1]);
  // 0.png: 8,136 GGO + 27,645 consolidation pixels.
  assert.equal(countNonzero(loaded.lesionMask.data), 8136 + 27645);
  assert.equal(loaded.lungMask, undefined);
  assert.equal(loaded.isHu, false);
  const root = await tempDir('semiseg-binary');
  try {
    const binary = join(root, 'TrainingSet', 'LungInfection-Train', 'Doctor-label');
    await mkdir(join(binary, 'Imgs'), { recursive: true });
    await mkdir(join(binary, 'GT'), { recursive: true });
    await cp(sharedPath('covid-semiseg/TrainingSet/LungInfection-Train/Doctor-label/Imgs/0.jpg'), join(binary, 'Imgs', '0.jpg'));
    await cp(sharedPath('covid-semiseg/TrainingSet/LungInfection-Train/Doctor-label/GT/0.png'), join(binary, 'GT', '0.png'));
    const fallback = await scanSemiseg(root);
    assert.equal(fallback.cases[0]!.files.lesion, join(binary, 'GT', '0.png'));
    assert.equal(countNonzero((await loadCase(fallback.cases[0]!)).lesionMask.data), 8136 + 27645);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('per-case errors name the file and the problem: missing mask, other grid, other spacing, shifted origin, unreadable file', async () => {
  const root = await tempDir('errors');
  try {
    await writeMedseg9Layout(root, [1, 2, 3, 4, 5]);
    const g = MEDSEG9_GEOMETRY([30, 30, 8]);
    await rm(join(root, 'rp_msk', '1.nii.gz'));
    await writeNifti(join(root, 'rp_msk', '2.nii.gz'), new Uint8Array(30 * 30 * 7), 'uint8', { ...g, dims: [30, 30, 7] });
    await writeNifti(join(root, 'rp_msk', '3.nii.gz'), new Uint8Array(30 * 30 * 8), 'uint8', { ...g, spacingMm: [0.55, 0.55, 2.5] });
    await writeNifti(join(root, 'rp_lung_msk', '4.nii.gz'), new Uint8Array(30 * 30 * 8), 'uint8', { ...g, origin: [-173, -173, -90] });
    await writeFile(join(root, 'rp_im', '5.nii.gz'), 'this is not a NIfTI file');
    const cases = (await scanMedseg9(root)).cases;
    const expected: [string, RegExp][] = [
      ['1', /rp_msk\/1\.nii\.gz: missing lesion mask/],
      ['2', /rp_msk\/2\.nii\.gz: mask grid \[30×30×7\] differs from its image's \[30×30×8\]/],
      ['3', /rp_msk\/3\.nii\.gz: mask spacing \[0\.550, 0\.550, 2\.500\] mm differs from its image's/],
      ['4', /rp_lung_msk\/4\.nii\.gz: mask origin is 10\.00 mm away from its image's/],
      ['5', /rp_im\/5\.nii\.gz: unsupported or unrecognised image format/],
    ];
    for (const [id, message] of expected) {
      await assert.rejects(loadCase(cases.find((c) => c.originalId === id)!), message, `case ${id}`);
    }
    await assert.rejects(loadCase({ ...cases[4]!, source: 'medseg100', files: { image: join(root, 'rp_im', '2.nii.gz'), lesion: join(root, 'rp_im', '2.nii.gz') }, sliceIndex: 99 }), /slice 99 does not exist \(the file has 8 slices\)/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('scan errors: a source folder without its layout says what layout is expected', async () => {
  const empty = await tempDir('empty');
  try {
    await writeFile(join(empty, 'metadata.csv'), 'image,mask\n');
    await writeFile(join(empty, 'slices.csv'), 'file,group\n');
    const table: [() => Promise<unknown>, RegExp][] = [
      [() => scanMosmed(join(empty, 'nope')), /nope: not a folder; --source mosmed=PATH must point at the dataset's top folder/],
      [() => scanMosmed(empty), /no masks\/ folder; MosMed's lesion masks are expected as studies\/CT-0…CT-4/],
      [() => scanMedseg100(empty), /no tr_im\.nii\.gz; the MedSeg 100-slice set is expected as/],
      [() => scanMedseg9(empty), /no rp_im\/ folder/],
      [() => scanZenodo(empty), /neither COVID-19-CT-Seg_20cases\/ nor ct_scans\/ found/],
      [() => scanZenodoSlices(empty), /no ct\/ folder/],
      [() => scanSemiseg(empty), /no MultiClassInfection-Train\/Imgs or LungInfection-Train\/Doctor-label\/Imgs folder/],
    ];
    for (const [scan, message] of table) await assert.rejects(scan(), message);
    await mkdir(join(empty, 'ct_scans'));
    await assert.rejects(scanZenodo(empty), /metadata\.csv: missing column 'ct_scan' \(columns: image, mask\)/);
    await mkdir(join(empty, 'ct'));
    await assert.rejects(scanZenodoSlices(empty), /slices\.csv: missing column 'file' \(columns: file, group\)|slices\.csv: missing column 'patient_group'/);
    assert.throws(() => adapterFor('kaggle'), /unknown source 'kaggle'; valid sources: mosmed, medseg100, medseg9, zenodo, zenodo-slices, zenodo-slice-stacks, semiseg, semiseg-pseudo, pseudo-labels/);
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
});
