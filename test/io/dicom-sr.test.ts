import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readDicomHeader, readImage, writeDicomSeg, ENHANCED_SR_STORAGE, type WrittenDicomSeg } from '../../src/io/index.js';
import { createVolume, type LabelMap, type Volume } from '../../src/volume/volume.js';
import { buildReport, type SegmentReport } from '../../src/segment/report.js';
import { clinicalFigures, type ZoneScore } from '../../src/clinical/index.js';
import type { SrItem } from '../../src/io/index.js';
import { lungAndLesionSegments } from '../../src/segment/dicom-seg-segments.js';
import { algorithmOf, measurementReportContent, writeMeasurementSr, covsegSegmentNumbers } from '../../src/segment/dicom-sr-content.js';
import { writeSeriesFromSlice, type WrittenSeries } from '../helpers/synthetic-dicom.js';
import { PROJECT_ROOT, needsShared, sharedPath } from '../helpers/shared-data.js';
import { DCIODVFY_MISSING, dciodvfy } from '../helpers/dciodvfy.js';
import { code, many, named, readSr, srGroups, type SrNode } from '../helpers/dicom-sr-read.js';

const REAL_SLICE = resolve(PROJECT_ROOT, 'examples/chest-ct-dicom-slice/chest-ct.dcm');
const models = { lung: 'default:lung-2d.onnx@0123456789ab', lesion: '2D lesion U-Net (lesion-2d.onnx, input 256, threshold 0.5)' };
const algorithms = { lung: algorithmOf(models.lung), lesion: algorithmOf(models.lesion, 'fedcba9876543210'.repeat(4)) };

let dir = '';
let series: WrittenSeries;
let ct: Volume;
let lungs: LabelMap;
let lesions: LabelMap;
let lobes: LabelMap;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'covseg-dicom-sr-'));
  // A complete series (with every UID) from the real chest slice's pixels: the slice, a shifted copy, the slice.
  series = writeSeriesFromSlice(join(dir, 'ct'), (await readImage(REAL_SLICE)).volume);
  ct = (await readImage(join(dir, 'ct'))).volume;
  const [nx, ny] = ct.dims;
  // Air-filled lung-like voxels (−950…−400 HU) in the middle of the image, split left/right by image half; lesions: the denser of them in one box.
  const l = new Uint8Array(ct.data.length);
  const les = new Uint8Array(ct.data.length);
  for (let z = 0; z < 3; z++) for (let y = 100; y < 400; y++) for (let x = 60; x < nx - 60; x++) {
    const i = z * nx * ny + y * nx + x;
    const v = ct.data[i]!;
    if (v > -950 && v < -400) l[i] = x < nx / 2 ? 1 : 2;
    if (l[i] && v > -750 && y > 200 && y < 320) les[i] = 1;
  }
  lungs = createVolume(l, ct.dims, ct) as LabelMap;
  lesions = createVolume(les, ct.dims, ct) as LabelMap;
  // Lobe labels (LTRCLobes values: 3 RUL, 4 RML, 5 RLL, 1 LUL, 2 LLL) as bands of rows in each lung, so that every lobe has lung and lesion.
  const lo = new Uint8Array(ct.data.length);
  for (let i = 0; i < l.length; i++) {
    const y = Math.floor(i / nx) % ny;
    if (l[i] === 1) lo[i] = y < 230 ? 3 : y < 280 ? 4 : 5;
    else if (l[i] === 2) lo[i] = y < 260 ? 1 : 2;
  }
  lobes = createVolume(lo, ct.dims, ct) as LabelMap;
});
after(() => rmSync(dir, { recursive: true, force: true }));

function reportOf(quality: SegmentReport['quality'], withLobes = false): SegmentReport {
  const report = buildReport(lungs, lesions, {
    ct, meta: { format: 'dicom' }, path: 'ct', check: { isHu: true, huReason: 'HU', spacingKnown: true }, quality, models, timingsMs: {}, warnings: [],
  });
  report.clinical = clinicalFigures({ ct, lungs, lesions, isHu: true, ...(withLobes ? { lobes } : {}) });
  return report;
}
const PARTIAL = { assessable: true, lungCoverage: 'partial', warnings: ['the lungs reach the top slice: the apices are cut off'] } as const;

async function seg(name: string): Promise<WrittenDicomSeg> {
  return writeDicomSeg(join(dir, name), { sourceFiles: series.files, layers: lungAndLesionSegments(lungs, lesions, models), seriesDescription: 'test' });
}

test('a TID 1500 SR of report.json: numbers, references to the source series and the SEG\'s segments, codes', async () => {
  const report = reportOf({ ...PARTIAL, warnings: [...PARTIAL.warnings] }, true);
  assert.ok(report.lesions.right.voxels > 0 && report.lesions.left.voxels > 0, 'lesions on both sides');
  const written = await seg('seg.dcm');
  const out = join(dir, 'sr.dcm');
  const uids = await writeMeasurementSr(out, { report, sourceFiles: series.files, seg: written, algorithms });
  const h = await readDicomHeader(out);
  assert.deepEqual([h.sopClassUid, h.modality, h.studyInstanceUid, h.sopInstanceUid, h.patientId], [ENHANCED_SR_STORAGE, 'SR', series.studyInstanceUid, uids.sopInstanceUid, 'SYN0001']);

  const sr = readSr(out);
  assert.deepEqual(code(sr.ConceptNameCodeSequence), { CodeValue: '126000', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Imaging Measurement Report' });
  assert.equal(many(sr.ContentTemplateSequence as { TemplateIdentifier: string }[])[0]!.TemplateIdentifier, '1500');
  // Evidence: the CT series (every slice) and the SEG, in the source study.
  const evidence = many(sr.CurrentRequestedProcedureEvidenceSequence as { StudyInstanceUID: string; ReferencedSeriesSequence: unknown }[]);
  assert.equal(evidence[0]!.StudyInstanceUID, series.studyInstanceUid);
  const bySeries = Object.fromEntries(many(evidence[0]!.ReferencedSeriesSequence as { SeriesInstanceUID: string; ReferencedSOPSequence: unknown }[])
    .map((s) => [s.SeriesInstanceUID, many(s.ReferencedSOPSequence as { ReferencedSOPInstanceUID: string }[]).map((r) => r.ReferencedSOPInstanceUID)]));
  assert.deepEqual(bySeries, { [series.seriesInstanceUid]: series.sopInstanceUids, [written.seriesInstanceUid]: [written.sopInstanceUid] });

  const g = srGroups(sr);
  const regionGroups = ['right lung', 'left lung'].flatMap((lung) => ['upper third', 'middle third', 'lower third', 'ventral half', 'dorsal half', 'peripheral part', 'central part'].map((r) => `lesions in the ${r} of the ${lung}`));
  const lobeGroups = ['right upper lobe', 'right middle lobe', 'right lower lobe', 'left upper lobe', 'left lower lobe'].map((l) => `lesions in the ${l}`);
  assert.deepEqual(Object.keys(g), ['right lung', 'left lung', 'both lungs', 'lesions in the right lung', 'lesions in the left lung', 'lesions in both lungs', ...regionGroups, ...lobeGroups, 'CT severity scores']);
  const numbers = covsegSegmentNumbers(written);
  assert.deepEqual(numbers, { rightLung: 1, leftLung: 2, lesion: 3 });
  for (const [name, finding, segment, ml] of [
    ['right lung', '3341006', 1, report.lungs.right.volumeMl], ['left lung', '44029006', 2, report.lungs.left.volumeMl],
  ] as const) {
    assert.equal(g[name]!.finding, finding);
    assert.deepEqual(g[name]!.segment, { sopInstanceUid: written.sopInstanceUid, segmentNumber: segment }, name);
    assert.equal(g[name]!.sourceSeries, series.seriesInstanceUid);
    assert.deepEqual(g[name]!.nums['Volume'], { value: ml, unit: 'ml', algorithm: ['default:lung-2d.onnx', 'sha256:0123456789ab'] });
  }
  // The total has no single segment: a TID 1501 group without reference.
  assert.deepEqual(g['both lungs'], { template: '1501', finding: '39607008', nums: { Volume: { value: report.lungs.total.volumeMl, unit: 'ml', algorithm: ['default:lung-2d.onnx', 'sha256:0123456789ab'] } } });
  for (const [name, side, site] of [['lesions in the right lung', 'right', '3341006'], ['lesions in the left lung', 'left', '44029006'], ['lesions in both lungs', 'total', '39607008']] as const) {
    const n = g[name]!;
    assert.deepEqual([n.template, n.finding, n.site, n.segment?.segmentNumber], ['1411', '52988006', site, 3], name);
    const value = (k: string) => n.nums[k]?.value;
    assert.equal(value('Volume'), report.lesions[side].volumeMl, `${name} volume`);
    assert.equal(value('Percent of lung affected'), report.lesions[side].percentOfLung, `${name} %`);
    assert.equal(n.nums['Percent of lung affected']!.unit, '%');
    assert.equal(value('Ground glass opacity volume'), report.clinical![side].groundGlass!.volumeMl, `${name} GGO`);
    assert.equal(value('Consolidation volume'), report.clinical![side].consolidation!.volumeMl, `${name} consolidation`);
    assert.deepEqual(n.nums['Volume']!.algorithm, ['2D lesion U-Net (lesion-2d.onnx, input 256, threshold 0.5)', 'sha256:fedcba987654']);
  }
  // report.clinical: each region of each lung, its lesion, % affected and (thirds) zone score; the finding site is the lung, the region its topographical modifier.
  const clinical = report.clinical!;
  const zone = clinical.scores.zone, tss = clinical.scores.lobarTss, pan = clinical.scores.pan;
  assert.ok(zone.available && tss.available && pan.available, 'every score given');
  const modifiers = { upper: '261183002', middle: 'C25569', lower: '261122009', ventral: '255549009', dorsal: '255551008', peripheral: '14414005', central: '26216008' } as const;
  let i = 0;
  for (const [side, site] of [['right', '3341006'], ['left', '44029006']] as const) {
    for (const region of ['upper', 'middle', 'lower', 'ventral', 'dorsal', 'peripheral', 'central'] as const) {
      const n = g[regionGroups[i++]!]!;
      const f = clinical[side].regions[region]!;
      assert.ok(f.lesionVoxels > 0 || region === 'peripheral' || region === 'central', `${side} ${region} has lesion`);
      assert.deepEqual([n.template, n.finding, n.site, n.siteModifier, n.segment], ['1501', '52988006', site, modifiers[region], undefined], `${side} ${region}`);
      const zoneScore: number | undefined = zone.zones.find((z) => z.lung === side && z.zone === region)?.score;
      assert.deepEqual(Object.fromEntries(Object.entries(n.nums).map(([k, v]) => [k, [v.value, v.unit]])), {
        Volume: [f.lesionMl, 'ml'], 'Percent of lung affected': [f.percentAffected, '%'], ...(zoneScore !== undefined ? { 'Zone score (0-4)': [zoneScore, '{score}'] } : {}),
      }, `${side} ${region}`);
      assert.equal(zoneScore !== undefined, ['upper', 'middle', 'lower'].includes(region), 'a zone score in each third only');
    }
  }
  // Each lobe (SNOMED CT body structures), its lesion and both lobe scores; the totals.
  const lobeCodes = { RUL: '42400003', RML: '72481006', RLL: '266005', LUL: '44714003', LLL: '41224006' } as const;
  clinical.lobes!.forEach((lobe, k) => {
    const n = g[lobeGroups[k]!]!;
    assert.deepEqual([n.template, n.finding, n.site, n.siteModifier], ['1501', '52988006', lobeCodes[lobe.lobe], undefined], lobe.name);
    assert.ok(lobe.lesionVoxels > 0, `${lobe.name} has lesion`);
    assert.deepEqual(Object.fromEntries(Object.entries(n.nums).map(([key, v]) => [key, [v.value, v.unit]])), {
      Volume: [lobe.lesionMl, 'ml'], 'Percent of lobe affected': [lobe.percentAffected, '%'],
      'Lobar severity score of the lobe (Chung/Li, 0-4)': [tss.lobes[k]!.score, '{score}'], 'Pan CT score of the lobe (0-5)': [pan.lobes[k]!.score, '{score}'],
    }, lobe.name);
  });
  assert.deepEqual(g['CT severity scores'], {
    template: '1501', finding: '52988006', site: '39607008',
    nums: Object.fromEntries([['Zone severity score (0-24)', zone.total], ['Lobar total severity score (Chung/Li, 0-20)', tss.total], ['Pan CT score (0-25)', pan.total]]
      .map(([k, v]) => [k, { value: v, unit: '{score}', algorithm: ['2D lesion U-Net (lesion-2d.onnx, input 256, threshold 0.5)', 'sha256:fedcba987654'] }])),
  });
  assert.ok(zone.total > 0 && tss.total > 0 && pan.total > 0, 'scores above 0');
  // Not graded: 'not assessable' and the reason.
  const qe = named(sr, 'Qualitative Evaluations')[0]!;
  assert.deepEqual(code((named(qe, 'Severity')[0] as SrNode & { ConceptCodeSequence: never }).ConceptCodeSequence), { CodeValue: 'NO-GRADE', CodingSchemeDesignator: '99COVSEG', CodeMeaning: 'Not assessable' });
  assert.match(String((named(qe, 'Comment')[0] as { TextValue?: string }).TextValue), /^not assessable: the lungs are not wholly in view \(the lungs reach the top slice: the apices are cut off\); the percentages are of the lung in view$/);
  // The private scheme is named; the device observer is covseg.
  assert.equal(many(sr.CodingSchemeIdentificationSequence as { CodingSchemeDesignator: string }[])[0]!.CodingSchemeDesignator, '99COVSEG');
  assert.equal((named(sr, 'Device Observer Name')[0] as { TextValue?: string }).TextValue, 'covseg');
  assert.equal(many((named(named(sr, 'Image Library')[0]!, 'Image Library Group')[0]!).ContentSequence).length, 3, 'the image library lists the 3 slices');
});

test('a graded report: the severity category as a code; a segment the SEG left out is referenced by no group', () => {
  const report = reportOf({ assessable: true, lungCoverage: 'complete', warnings: [] });
  assert.ok(report.severity.category, 'graded');
  const content = measurementReportContent({
    report, images: [{ sopClassUid: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUid: '1.2.3.4', seriesInstanceUid: '1.2.3' }],
    seg: { sopClassUid: '1.2.840.10008.5.1.4.1.1.66.4', sopInstanceUid: '1.2.3.9', seriesInstanceUid: '1.2.3.8', segmentNumbers: { rightLung: 1, leftLung: 2 } },
    algorithms, newUid: (() => { let n = 0; return () => `2.25.${++n}`; })(),
  });
  const evaluations = content.children!.find((c) => c.concept?.meaning === 'Qualitative Evaluations')!.children!;
  assert.deepEqual(evaluations[0]!.valueType === 'CODE' && evaluations[0]!.value, { value: report.severity.category, scheme: '99COVSEG', meaning: `${report.severity.category}: ${report.severity.description.replace('–', '-')}` });
  // Without lobe labels: no lobe groups, the lobe scores left out and a comment saying why.
  const why = "needs lobe labels (lungmask's LTRCLobes weights: --lobe-weights FILE of covseg segment or covseg serve)";
  assert.deepEqual(evaluations.slice(1).map((e) => [e.concept?.meaning, e.valueType === 'TEXT' && e.value]), [
    ['Comment', `lobar total severity score (0-20) not given: ${why}`], ['Comment', `Pan CT score (0-25) not given: ${why}`],
  ]);
  const groups = content.children!.find((c) => c.concept?.meaning === 'Imaging Measurements')!.children!;
  const tracking = (g: SrItem) => { const t = g.children!.find((c) => c.concept?.meaning === 'Tracking Identifier')!; return t.valueType === 'TEXT' ? t.value : ''; };
  assert.ok(!groups.some((g) => /lobe$/.test(tracking(g))), 'no lobe group');
  const scores = groups.find((g) => g.children!.some((c) => c.valueType === 'TEXT' && c.value === 'CT severity scores'))!;
  assert.deepEqual(scores.children!.filter((c) => c.valueType === 'NUM').map((c) => c.valueType === 'NUM' && [c.concept.meaning, c.value, c.unit.value]),
    [['Zone severity score (0-24)', (report.clinical!.scores.zone as ZoneScore).total, '{score}']]);
  const lesion = groups.find((g) => g.children!.some((c) => c.valueType === 'TEXT' && c.value === 'lesions in both lungs'))!;
  assert.ok(lesion.valueType === 'CONTAINER' && lesion.template === '1501' && !lesion.children!.some((c) => c.valueType === 'IMAGE'), 'no lesion segment: TID 1501, no reference');
  const uids = groups.map((g) => g.children!.find((c) => c.valueType === 'UIDREF')!).map((c) => c.valueType === 'UIDREF' && c.value);
  assert.equal(new Set(uids).size, groups.length, 'one tracking UID per group');
});

test('a scan not assessable: no score in the SR, a comment for each saying why; the regions are still reported', () => {
  const report = reportOf({ ...PARTIAL, warnings: [...PARTIAL.warnings] }, true);
  report.clinical = clinicalFigures({ ct, lungs, lesions, lobes, isHu: true, assessable: false, notAssessableReason: 'the apices are cut off' });
  const content = measurementReportContent({
    report, images: [{ sopClassUid: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUid: '1.2.3.4', seriesInstanceUid: '1.2.3' }],
    seg: { sopClassUid: '1.2.840.10008.5.1.4.1.1.66.4', sopInstanceUid: '1.2.3.9', seriesInstanceUid: '1.2.3.8', segmentNumbers: { rightLung: 1, leftLung: 2, lesion: 3 } },
    algorithms, newUid: (() => { let n = 0; return () => `2.25.${++n}`; })(),
  });
  const evaluations = content.children!.find((c) => c.concept?.meaning === 'Qualitative Evaluations')!.children!;
  assert.deepEqual(evaluations.filter((e) => e.valueType === 'TEXT').slice(1).map((e) => e.valueType === 'TEXT' && e.value),
    ['zone severity score (0-24)', 'lobar total severity score (0-20)', 'Pan CT score (0-25)'].map((s) => `${s} not given: not scored: the apices are cut off`));
  const groups = content.children!.find((c) => c.concept?.meaning === 'Imaging Measurements')!.children!;
  const nums = groups.flatMap((g) => g.children!.filter((c) => c.valueType === 'NUM').map((c) => c.concept!.meaning));
  assert.ok(!nums.some((m) => /score/i.test(m)), `no score: ${nums.join(', ')}`);
  assert.ok(!groups.some((g) => g.children!.some((c) => c.valueType === 'TEXT' && c.value === 'CT severity scores')), 'no scores group');
  assert.equal(nums.filter((m) => m === 'Percent of lung affected').length, 3 + 14, 'the lesion groups and every region');
  assert.equal(nums.filter((m) => m === 'Percent of lobe affected').length, 5, 'every lobe');
});

test('dciodvfy finds no error in the SR nor in its SEG', { skip: DCIODVFY_MISSING }, async () => {
  const written = await seg('checked-seg.dcm');
  const out = join(dir, 'checked-sr.dcm');
  await writeMeasurementSr(out, { report: reportOf({ ...PARTIAL, warnings: [...PARTIAL.warnings] }, true), sourceFiles: series.files, seg: written, algorithms });
  for (const f of [out, join(dir, 'checked-seg.dcm')]) {
    const v = dciodvfy(f);
    assert.deepEqual(v.errors, [], `${f}:\n${v.output}`);
  }
  // What it does warn about: the private coding scheme only (a 99… designator is private by definition).
  assert.deepEqual([...new Set(dciodvfy(out).warnings)], ['Unrecognized defined term <99COVSEG> for value 1 of attribute <Coding Scheme Designator>']);
});

test('a source without UIDs is refused before anything is written, naming the file', { skip: needsShared('small-ct-volume') }, async () => {
  // The shared example series is exported with empty study, series and SOP instance UIDs.
  const dicomDir = sharedPath('small-ct-volume/example_ct_dicom');
  const first = join(dicomDir, readdirSync(dicomDir).sort()[0]!);
  const written = await seg('for-orphan.dcm');
  const out = join(dir, 'orphan-sr.dcm');
  await assert.rejects(writeMeasurementSr(out, { report: reportOf({ ...PARTIAL, warnings: [] }), sourceFiles: [first], seg: written, algorithms }),
    (err: Error) => err.message.startsWith(`${first}: cannot write a DICOM SR: the source DICOM lacks StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID, SOPClassUID (anonymised?)`) || assert.fail(err.message));
  assert.ok(!existsSync(out));
});
