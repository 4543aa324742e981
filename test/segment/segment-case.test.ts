import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { readDicomHeader, readDicomSeg, readImage, readVolume, writeVolume } from '../../src/io/index.js';
import { encodePng } from '../../src/io/raster.js';
import { createVolume } from '../../src/volume/volume.js';
import { readSegmentReport, segmentCase, DEFAULT_LESION_MODEL_PATH } from '../../src/segment/index.js';
import { DEFAULT_LUNG_MODEL_PATH } from '../../src/lungs/default-model.js';
import { needsShared, PROJECT_ROOT, sharedPath } from '../helpers/shared-data.js';
import { writeSeriesFromSlice } from '../helpers/synthetic-dicom.js';
import { readSr, srGroups } from '../helpers/dicom-sr-read.js';
import { REGION_SITES } from '../../src/segment/dicom-sr-content.js';
import type { RegionName } from '../../src/clinical/index.js';
import { DCIODVFY_MISSING, dciodvfy } from '../helpers/dciodvfy.js';
import { chestPhantom } from '../lungs/chest-phantom.js';

const DICOM = resolve(PROJECT_ROOT, 'examples/chest-ct-dicom-slice/chest-ct.dcm');
const PNG = resolve(PROJECT_ROOT, 'examples/zenodo20-slices/ct/1397.png');
const skip = !(existsSync(DEFAULT_LUNG_MODEL_PATH) && existsSync(DEFAULT_LESION_MODEL_PATH)) && 'shipped models missing in models/';
let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'covseg-segment-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('a real DICOM chest slice: lungs like lungmask R231 finds, outputs on the input grid, report and pictures', { skip }, async () => {
  const out = join(dir, 'dicom');
  const r = await segmentCase(DICOM, out);
  const { volume: ct } = await readImage(DICOM);
  const lungs = await readVolume(r.files.lungs);
  const lesions = await readVolume(r.files.lesions);
  for (const v of [lungs, lesions]) {
    assert.deepEqual(v.dims, ct.dims);
    assert.deepEqual(v.spacingMm.map((s) => +s.toFixed(4)), ct.spacingMm.map((s) => +s.toFixed(4)));
  }
  // lungmask's R231 labels this slice 32,376 right and 18,268 left pixels.
  const right = r.report.lungs.right.voxels;
  const left = r.report.lungs.left.voxels;
  assert.ok(Math.abs(right - 32376) / 32376 < 0.12, `right lung ${right} px vs R231's 32,376`);
  assert.ok(Math.abs(left - 18268) / 18268 < 0.12, `left lung ${left} px vs R231's 18,268`);
  for (let i = 0; i < lesions.data.length; i++) if (lesions.data[i]) assert.ok(lungs.data[i], 'lesions only inside the lungs');
  const json = JSON.parse(readFileSync(r.files.reportJson, 'utf8'));
  assert.deepEqual(json.lungs, r.report.lungs);
  // One slice shows part of the lungs only: the percentages are of the lung in view, and there is no grade.
  assert.deepEqual(json.quality, { assessable: true, lungCoverage: 'partial', warnings: ['a single slice shows part of the lungs only: percentages are of the lung in this slice, and no severity grade is given'] });
  assert.deepEqual([json.severity.category, json.severity.percentOf], [null, 'the lung in view']);
  assert.match(json.severity.reason, /^the lungs are not wholly in view \(a single slice/);
  assert.ok(json.lungs.total.volumeMl > 0);
  for (const f of [r.files.reportHtml, ...r.files.overlays]) assert.ok(existsSync(f), f);
  assert.ok(r.files.lungs.endsWith('lungs.nii.gz'));
  // The clinical figures of a single HU slice: the density split adds up, no thirds (so no zone score), pictures in the page.
  const c = json.clinical;
  assert.equal(c.format, 'covseg-clinical');
  assert.equal(c.density.available, true);
  assert.equal(c.total.groundGlass.voxels + c.total.consolidation.voxels, r.report.lesions.total.voxels);
  assert.equal(c.total.lung.voxels, r.report.lungs.total.voxels);
  assert.equal(c.right.regions.upper, null);
  assert.equal(c.scores.zone.available, false);
  assert.ok(c.right.regions.peripheral && c.right.regions.ventral);
  for (const f of ['distribution.png', 'lesion-types.png']) assert.ok(r.files.overlays.some((o) => o.endsWith(f)), f);
  // The lesion by type, for viewers: on the input grid, each voxel of the lesion mask 1 (ground glass, below −400 HU) or 2, counted as the figures count.
  assert.equal(json.outputs.lesionTypes, 'lesion-types.nii.gz');
  const types = await readVolume(r.files.lesionTypes!);
  assert.deepEqual(types.dims, ct.dims);
  const counts = [0, 0, 0];
  for (let i = 0; i < types.data.length; i++) {
    const t = types.data[i]!;
    counts[t]!++;
    assert.equal(t !== 0, lesions.data[i] !== 0, 'typed exactly where the lesion is');
    if (t) assert.equal(t, ct.data[i]! >= -400 ? 2 : 1, `voxel ${i}: ${ct.data[i]} HU`);
  }
  assert.deepEqual(counts.slice(1), [c.total.groundGlass.voxels, c.total.consolidation.voxels]);
  assert.ok(counts[1]! > 0 && counts[2]! > 0, 'this slice has both types');
  const html = readFileSync(r.files.reportHtml, 'utf8');
  for (const h of ['Lesion types', 'Where the disease is', 'CT scores', 'ground glass', 'Zone score</b>: not available']) assert.ok(html.includes(h), h);
  // Anonymised without a frame of reference: no SEG, hence no SR (it would reference the SEG), and the report says why.
  assert.equal(r.files.dicomSeg, undefined);
  assert.equal(r.files.dicomSr, undefined);
  for (const what of ['SEG', 'SR']) assert.ok(r.report.warnings.includes(`DICOM ${what} not written: the source DICOM lacks FrameOfReferenceUID (anonymised?), so a SEG could not reference it`), r.report.warnings.join('; '));
});

test('a DICOM series with its UIDs: a DICOM SEG with right lung, left lung and lesion, equal to the masks written beside it, and a DICOM SR of report.json', { skip }, async () => {
  const series = writeSeriesFromSlice(join(dir, 'series'), (await readImage(DICOM)).volume);
  const r = await segmentCase(join(dir, 'series'), join(dir, 'series-out'));
  assert.ok(r.files.dicomSeg && existsSync(r.files.dicomSeg), r.report.warnings.join('; '));
  assert.equal(r.report.outputs.dicomSeg, 'segmentation.dcm');
  const lungs = await readVolume(r.files.lungs);
  const lesions = await readVolume(r.files.lesions);
  const seg = await readDicomSeg(r.files.dicomSeg, { grid: lungs });
  const expected = [Uint8Array.from(lungs.data, (v) => +(v === 1)), Uint8Array.from(lungs.data, (v) => +(v === 2)), Uint8Array.from(lesions.data, (v) => +(v > 0))].filter((m) => m.includes(1));
  assert.equal(seg.masks.length, expected.length);
  for (const [k, m] of seg.masks.entries()) assert.ok(Buffer.from(m.data).equals(Buffer.from(expected[k]!)), `segment ${k + 1} differs from the NIfTI masks`);
  assert.equal((await readDicomHeader(r.files.dicomSeg)).studyInstanceUid, series.studyInstanceUid);
  // Who and when, for covseg compare.
  assert.equal(r.report.input.patientId, 'SYN0001');
  assert.equal(r.report.input.studyDate, '2020-04-01');
  // The SR beside it: report.json's numbers, each group on its segment of this SEG, the models with their hashes.
  assert.equal(r.report.outputs.dicomSr, 'report-sr.dcm');
  const json = JSON.parse(readFileSync(r.files.reportJson, 'utf8'));
  const groups = srGroups(readSr(r.files.dicomSr!));
  const segUid = (await readDicomHeader(r.files.dicomSeg)).sopInstanceUid;
  assert.equal(groups['right lung']!.nums['Volume']!.value, json.lungs.right.volumeMl);
  assert.deepEqual(groups['right lung']!.segment, { sopInstanceUid: segUid, segmentNumber: 1 });
  assert.equal(groups['lesions in both lungs']!.nums['Percent of lung affected']!.value, json.lesions.total.percentOfLung);
  assert.equal(groups['both lungs']!.nums['Volume']!.value, json.lungs.total.volumeMl);
  assert.match(groups['lesions in both lungs']!.nums['Volume']!.algorithm[1]!, /^sha256:[0-9a-f]{12}$/, 'the lesion model file\'s hash');
  // report.json's clinical block in it: each region's % affected, the zone score where given.
  let regions = 0;
  for (const side of ['right', 'left'] as const) {
    for (const [region, f] of Object.entries(json.clinical[side].regions) as [RegionName, { percentAffected: number } | null][]) {
      const g = groups[`lesions in the ${REGION_SITES[region].phrase} of the ${side} lung`];
      assert.equal(g?.nums['Percent of lung affected']!.value, f?.percentAffected, `${side} ${region}`);
      if (f) regions++;
    }
  }
  assert.ok(regions > 0, 'some regions reported');
  const zone = json.clinical.scores.zone;
  assert.equal(groups['CT severity scores']?.nums['Zone severity score (0-24)']?.value, zone.available ? zone.total : undefined);
  if (!DCIODVFY_MISSING) for (const f of [r.files.dicomSeg, r.files.dicomSr!]) assert.deepEqual(dciodvfy(f).errors, [], f);
});

test('a PNG slice: percentages without volumes, label PNGs too', { skip }, async () => {
  const r = await segmentCase(PNG, join(dir, 'png'));
  assert.equal(r.report.lungs.total.volumeMl, null);
  assert.ok(r.report.lungs.total.voxels > 5000);
  assert.ok(r.report.warnings.some((w) => /pixel size is unknown/.test(w)));
  const lungsPng = await readImage(r.files.lungsPng!);
  assert.deepEqual(lungsPng.volume.dims, [256, 256, 1]);
  assert.ok([...new Set(lungsPng.volume.data)].every((v) => v <= 2));
  // No HU: the density split is unavailable, with the reason; the regions are measured.
  assert.equal(r.report.clinical!.density.available, false);
  assert.match((r.report.clinical!.density as { reason: string }).reason, /needs Hounsfield units/);
  assert.equal(r.report.clinical!.total.groundGlass, null);
  assert.ok(r.report.clinical!.right.regions.dorsal);
  assert.equal(r.files.lesionTypes, undefined, 'no lesion types without HU');
});

test('the small real CT volume: clinical figures in 3D, and compare of two segment results of it is stable', { skip: skip || needsShared('small-ct-volume') }, async () => {
  const input = sharedPath('small-ct-volume/example_ct_sm.nii.gz');
  const a = await segmentCase(input, join(dir, 'small-a'), { writeViewerCt: true });
  const c = a.report.clinical!;
  assert.equal(c.density.available, true);
  assert.equal(c.total.lung.voxels, a.report.lungs.total.voxels);
  const parts = c.total.composition!;
  assert.equal(parts.affected.voxels + parts.functional.voxels + parts.emphysemaRange.voxels + parts.other.voxels, c.total.lung.voxels, 'the composition adds up to the lungs');
  const bands = Object.values(c.total.bands!).reduce((n, b) => n + b.voxels, 0);
  assert.equal(bands, c.total.lung.voxels, 'the bands add up to the lungs');
  for (const side of ['right', 'left'] as const) {
    const regions = c[side].regions;
    if (!regions.upper) continue;
    assert.equal(regions.upper.lungVoxels + regions.middle!.lungVoxels + regions.lower!.lungVoxels, c[side].lung.voxels, `${side} thirds add up`);
    assert.equal(regions.peripheral!.lungVoxels + regions.central!.lungVoxels, c[side].lung.voxels, `${side} depth adds up`);
  }
  assert.match(readFileSync(a.files.reportHtml, 'utf8'), /Where the disease is/);
  // The result folder as segment writes it feeds covseg compare: the same result twice is stable.
  cpSync(a.outDir, join(dir, 'small-b'), { recursive: true });
  const cli = resolve(PROJECT_ROOT, 'dist/src/cli/main.js');
  const cmp = spawnSync(process.execPath, [cli, 'compare', a.outDir, join(dir, 'small-b'), '--out', join(dir, 'small-cmp')], { encoding: 'utf8' });
  assert.equal(cmp.status, 0, cmp.stderr);
  assert.match(cmp.stdout, /STABLE, both lungs .*\(\+?0\.00 points; within ±5\)/);
  assert.ok(existsSync(join(dir, 'small-cmp', 'levels.png')));
});

test('refusals: not HU, colour picture, tiny image, label PNG, no lungs, existing output; nothing half-written', { skip }, async () => {
  const windowed = join(dir, 'windowed.nii.gz');
  const { volume } = await readImage(DICOM);
  await writeVolume(windowed, createVolume(Uint8Array.from(volume.data, (v) => Math.max(0, Math.min(255, (v + 1000) / 6))), volume.dims, volume));
  await assert.rejects(segmentCase(windowed, join(dir, 'w')), /windowed\.nii\.gz: the values are not Hounsfield units .*; pass --force to segment it anyway/);
  assert.ok(!existsSync(join(dir, 'w')), 'no output folder after a refusal');
  const forced = await segmentCase(windowed, join(dir, 'w'), { force: true });
  assert.ok(forced.report.warnings.some((w) => /segmented despite: the values are not Hounsfield units/.test(w)));

  const colour = join(dir, 'photo.png');
  const rgb = new Uint8Array(128 * 128 * 3).map((_, i) => (i % 3 === 0 ? 200 : i % 3 === 1 ? 30 : 90));
  writeFileSync(colour, encodePng({ width: 128, height: 128, channels: 3, data: rgb }));
  await assert.rejects(segmentCase(colour, join(dir, 'c')), /photo\.png: this is a colour picture, not a greyscale CT slice; pass --force/);

  const tiny = join(dir, 'tiny.png');
  writeFileSync(tiny, encodePng({ width: 32, height: 32, channels: 1, data: new Uint8Array(1024).fill(100) }));
  await assert.rejects(segmentCase(tiny, join(dir, 't')), /tiny\.png: the image is only 32×32 pixels, too small for a CT slice/);

  const flat = join(dir, 'flat.png');
  writeFileSync(flat, encodePng({ width: 128, height: 128, channels: 1, data: new Uint8Array(128 * 128).fill(200) }));
  await assert.rejects(segmentCase(flat, join(dir, 'f')), /flat\.png: no lungs were found in this image/);
  assert.ok(!existsSync(join(dir, 'f')));

  mkdirSync(join(dir, 'busy'));
  writeFileSync(join(dir, 'busy', 'keep.txt'), 'x');
  await assert.rejects(segmentCase(PNG, join(dir, 'busy')), /busy: the output folder exists and is not empty; choose another --out or pass --overwrite/);
  await segmentCase(PNG, join(dir, 'busy'), { overwrite: true });
  assert.ok(!readdirSync(join(dir, 'busy')).includes('keep.txt'));
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temp folders left');
});

test('a body with no lungs in view: the report says so, with no grade (never CT-0), and the CLI prints it', { skip }, async () => {
  const p = chestPhantom({ lungs: false, trachea: false });
  const input = join(dir, 'abdomen.nii.gz');
  await writeVolume(input, p.ct);
  const r = await segmentCase(input, join(dir, 'abdomen'));
  assert.equal(r.report.lungs.total.voxels, 0);
  assert.deepEqual([r.report.quality.assessable, r.report.quality.lungCoverage, r.report.quality.warnings[0]], [false, 'none', 'no lungs in view: no severity grade can be given']);
  // The model's gas (this phantom's bowel) was dropped: said, in case it was an emphysematous lung.
  assert.ok(r.report.quality.warnings.slice(1).every((w) => /was pure air and was dropped as gas/.test(w)), r.report.quality.warnings.join('; '));
  assert.deepEqual([r.report.severity.category, r.report.severity.description], [null, 'no lungs in view']);
  assert.match(readFileSync(r.files.reportHtml, 'utf8'), /No lungs in view/);
  const cli = spawnSync(process.execPath, [resolve(PROJECT_ROOT, 'dist/src/cli/main.js'), 'segment', input, '--out', join(dir, 'abdomen-cli'), '--quiet'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, /^no lungs in view: no severity grade\n/);
});

test('a real abdominal DICOM series (../shared example_ct_dicom): no lungs in view, not assessable, no grade', { skip: skip || needsShared('small-ct-volume/example_ct_dicom') }, async () => {
  const r = await segmentCase(sharedPath('small-ct-volume/example_ct_dicom'), join(dir, 'abdominal-dicom'));
  assert.ok(r.report.lungs.total.volumeMl! <= 1, `${r.report.lungs.total.volumeMl} mL of lung`);
  assert.equal(r.report.quality.assessable, false);
  assert.equal(r.report.severity.category, null);
});

test('covseg segment: exit codes and the printed summary', { skip }, async () => {
  const cli = resolve(PROJECT_ROOT, 'dist/src/cli/main.js');
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'segment', ...args], { encoding: 'utf8', env: { ...process.env, COVSEG_QUIET: '1' } });
  const ok = run(PNG, '--out', join(dir, 'cli'), '--quiet');
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^no severity grade: \d+\.\d% of the lung in view affected; the lungs are not wholly in view \(a single slice/);
  assert.match(ok.stdout, /report: .*report\.html/);
  assert.match(ok.stdout, /ground glass \/ consolidation: needs HU; zone score n\/a/, 'a PNG: one slice, no HU');
  assert.equal(run('--out', join(dir, 'x')).status, 2);
  assert.equal(run(PNG).status, 2);
  const missing = run(join(dir, 'nope.nii.gz'), '--out', join(dir, 'y'));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nope\.nii\.gz/);
  // Every lung model of the registry, by its one name.
  const unknown = run(PNG, '--out', join(dir, 'z'), '--lung-model', 'nope');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /--lung-model: 'nope' is not one of default, r231, ltrclobes, r231covidweb/);
  const noWeights = run(PNG, '--out', join(dir, 'z'), '--lung-model', 'ltrclobes');
  assert.equal(noWeights.status, 2);
  assert.match(noWeights.stderr, /--lung-model ltrclobes needs --lung-weights FILE: user-supplied: download unet_ltrclobes-3a07043d\.pth/);
  const report = await readSegmentReport(join(dir, 'cli'));
  assert.match(report.models.lung, /^default:lung-2d\.onnx@[0-9a-f]{12}$/, 'the registry\'s name of the model');
});
