/**
 * `covseg segment --lobe-weights`: lungmask's LTRCLobes run in the segment core, so the
 * report carries the lobar TSS (0–20) and Pan (0–25) scores with the per-lobe evidence,
 * equal to the clinical scorer's on the lobes written beside the masks. The official
 * weights cannot be downloaded here: the network is the lungmask fixture's (the LTRCLobes
 * architecture with narrow layers, trained on the fixture CT; scripts/make-lungmask-fixtures.py).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readVolume, writeVolume } from '../../src/io/index.js';
import { asLps } from '../../src/volume/index.js';
import { createVolume, type LabelMap } from '../../src/volume/volume.js';
import { segmentCase, segmentCt } from '../../src/segment/index.js';
import { clinicalCsv, clinicalFigures } from '../../src/clinical/index.js';
import type { SegmentationModel } from '../../src/infer/segmentation-model.js';
import type { LungSegmenter } from '../../src/lungs/segmenter.js';
import { openLungModel } from '../../src/lungs/models.js';
import { runCovseg } from '../helpers/run-cli.js';
import { fixturePath, scoredCt } from '../lungs/fixtures.js';
import { writeSyntheticCtSeries } from '../helpers/synthetic-dicom.js';
import { readSr, srGroups } from '../helpers/dicom-sr-read.js';
import { DCIODVFY_MISSING, dciodvfy } from '../helpers/dciodvfy.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'covseg-lobes-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A 2D "lesion model" without a network: the brightest part of its (normalised) input, so that every lobe has some lesion. */
function brightLesions(): SegmentationModel {
  return {
    file: 'bright.onnx',
    spec: { task: 'lesion', dims: 2, inputSize: 64, inputTransform: 'clahe-v2', threshold: 0.5 },
    onnx: { source: 'bright.onnx', metadata: {}, inputName: 'x', outputName: 'y', run: async (input, shape) => ({ data: input.map((v) => (v > 0.6 ? 1 : 0)), shape }), release: async () => {} },
  };
}

const FIXTURE_LUNGS = { lungModel: 'r231', lungWeights: fixturePath('r231-tiny.pth'), threads: 1 } as const;

test('segment --lobe-weights: lobar TSS and Pan scores in report.json, report.html and the CSV row, equal to the clinical scorer on the lobes written', async () => {
  const input = join(dir, 'ct.nii.gz');
  await writeVolume(input, scoredCt());
  const out = join(dir, 'scored');
  const r = await segmentCase(input, out, { ...FIXTURE_LUNGS, lobeWeights: fixturePath('lobes-tiny-legacy.pth'), loaded: { lesion: brightLesions() } });
  const report = JSON.parse(readFileSync(r.files.reportJson, 'utf8'));
  assert.equal(report.severity.category !== null, true, 'a graded scan');
  assert.equal(report.models.lobes, 'ltrclobes:lobes-tiny-legacy.pth');
  assert.equal(typeof report.timingsMs.lobes, 'number', 'the lobe model is timed');
  assert.equal(report.outputs.lobes, 'lobes.nii.gz');
  const tss = report.clinical.scores.lobarTss;
  const pan = report.clinical.scores.pan;
  assert.equal(tss.available, true, JSON.stringify(tss));
  assert.equal(pan.available, true, JSON.stringify(pan));
  assert.deepEqual(tss.lobes.map((l: { lobe: string }) => l.lobe), ['RUL', 'RML', 'RLL', 'LUL', 'LLL']);
  assert.ok(report.clinical.lobes.every((l: { voxels: number; lesionVoxels: number }) => l.voxels > 0 && l.lesionVoxels > 0), 'every lobe found, each with some lesion');
  assert.ok(tss.total > 0 && pan.total > 0);

  // The clinical scorer on the written files (put in LPS order, as the core counts) gives the same figures.
  const lps = async (f: string) => asLps(await readVolume(f)).volume;
  const lobes = (await lps(r.files.lobes!)) as LabelMap;
  assert.deepEqual([...new Set(lobes.data)].sort(), [0, 1, 2, 3, 4, 5]);
  const expected = clinicalFigures({
    ct: await lps(input), lungs: (await lps(r.files.lungs)) as LabelMap, lesions: (await lps(r.files.lesions)) as LabelMap, lobes, isHu: true,
  });
  assert.deepEqual(report.clinical.lobes, expected.lobes);
  assert.deepEqual(report.clinical.scores.lobarTss, expected.scores.lobarTss);
  assert.deepEqual(report.clinical.scores.pan, expected.scores.pan);

  const html = readFileSync(r.files.reportHtml, 'utf8');
  assert.match(html, new RegExp(`Lobar total severity score: ${tss.total}/20`));
  assert.match(html, new RegExp(`Pan et al\\. score: ${pan.total}/25`));
  assert.match(html, /<th>right middle lobe \(RML\)<\/th>/);
  assert.match(html, /Lobe model: ltrclobes:lobes-tiny-legacy\.pth/);
  const [header, row] = clinicalCsv([{ info: { scan: 'scored' }, figures: report.clinical }]).trim().split('\n').map((l) => l.split(','));
  assert.equal(row![header!.indexOf('lobar_tss')], String(tss.total));
  assert.equal(row![header!.indexOf('pan_score_LUL')], String(pan.lobes[3].score));
});

test('segment --lobe-weights on a DICOM series: the SR carries each lobe (SNOMED CT site) with its % affected and scores, and the totals, as report.json has them; dciodvfy finds no error', async () => {
  // The scored CT in LPS order written as a complete DICOM series (every UID), so that segment writes the SEG and the SR.
  const ct = asLps(scoredCt()).volume;
  const series = writeSyntheticCtSeries(join(dir, 'dicom-ct'), {
    dims: ct.dims as [number, number, number], spacingMm: ct.spacingMm as [number, number, number], origin: ct.origin as [number, number, number], hu: ct.data,
  });
  // covseg's shipped lesion model: the SR names it with its file's sha256, which a model without a file has not.
  const r = await segmentCase(join(dir, 'dicom-ct'), join(dir, 'dicom-scored'), { ...FIXTURE_LUNGS, lobeWeights: fixturePath('lobes-tiny-legacy.pth') });
  assert.equal(r.files.dicomSr !== undefined, true, r.report.warnings.join('; '));
  const report = JSON.parse(readFileSync(r.files.reportJson, 'utf8'));
  const { lobarTss: tss, pan } = report.clinical.scores;
  assert.ok(tss.available && pan.available, JSON.stringify([tss, pan]));
  const groups = srGroups(readSr(r.files.dicomSr!));
  const sites = { RUL: '42400003', RML: '72481006', RLL: '266005', LUL: '44714003', LLL: '41224006' } as const;
  report.clinical.lobes.forEach((lobe: { lobe: keyof typeof sites; name: string; percentAffected: number }, k: number) => {
    const g = groups[`lesions in the ${lobe.name}`]!;
    assert.equal(g.site, sites[lobe.lobe], lobe.name);
    assert.deepEqual([g.nums['Percent of lobe affected']!.value, g.nums['Lobar severity score of the lobe (Chung/Li, 0-4)']!.value, g.nums['Pan CT score of the lobe (0-5)']!.value],
      [lobe.percentAffected, tss.lobes[k].score, pan.lobes[k].score], lobe.name);
  });
  const totals = groups['CT severity scores']!.nums;
  assert.equal(totals['Lobar total severity score (Chung/Li, 0-20)']!.value, tss.total);
  assert.equal(totals['Pan CT score (0-25)']!.value, pan.total);
  assert.equal(totals['Zone severity score (0-24)']?.value, report.clinical.scores.zone.available ? report.clinical.scores.zone.total : undefined);
  if (!DCIODVFY_MISSING) assert.deepEqual(dciodvfy(r.files.dicomSr!).errors, [], dciodvfy(r.files.dicomSr!).output);
});

test('segment --lobe-weights with a file that is not LTRCLobes weights: one line naming the file, before the lungs are segmented, no output', { skip: !existsSync(fixturePath('r231-tiny.pth')) && 'fixture missing' }, async () => {
  const input = join(dir, 'ct-bad.nii.gz');
  await writeVolume(input, scoredCt());
  const junk = join(dir, 'junk.pth');
  writeFileSync(junk, 'not a checkpoint');
  const cases: [string, RegExp][] = [
    [fixturePath('r231-tiny.pth'), /r231-tiny\.pth: not usable as lobe weights \(lungmask's LTRCLobes, unet_ltrclobes-3a07043d\.pth\): the weights have 3 classes but model 'ltrclobes' has 6 \(unet_ltrclobes-3a07043d\.pth\)\n$/],
    [junk, /junk\.pth: not usable as lobe weights \(lungmask's LTRCLobes, unet_ltrclobes-3a07043d\.pth\): /],
    [join(dir, 'missing.pth'), /missing\.pth: not usable as lobe weights .*(no such file|not found|does not exist)/i],
  ];
  for (const [weights, message] of cases) {
    const out = join(dir, 'refused');
    const r = runCovseg(['segment', input, '--out', out, '--lung-model', 'r231', '--lung-weights', fixturePath('r231-tiny.pth'), '--lobe-weights', weights, '--quiet']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal(existsSync(out), false);
  }
});

/** Lungs without a network: the left and right thirds of every slice's middle rows. */
const boxLungs = (classes: readonly string[] = ['background', 'right lung', 'left lung']): LungSegmenter => ({
  name: 'boxes',
  classes,
  async segment(v) {
    const [nx, ny] = v.dims;
    const out = new Uint8Array(v.data.length);
    for (let i = 0; i < out.length; i++) {
      const x = i % nx, y = Math.floor(i / nx) % ny;
      if (y > ny / 4 && y < (3 * ny) / 4) out[i] = x < nx / 3 ? 1 : x >= (2 * nx) / 3 ? 2 : 0;
    }
    return createVolume(out, v.dims, v);
  },
  release: async () => {},
});

test('segmentCt: a lobe labeller that does not label the five lobes is refused before the lungs; a volume not in HU gets no lobes, with the reason', async () => {
  const META = { format: 'nifti' as const, path: 'ct.nii.gz', warnings: [] };
  let lungRuns = 0;
  const lungs = boxLungs();
  const counting: LungSegmenter = { ...lungs, segment: async (v, run) => (lungRuns++, lungs.segment(v, run)) };
  await assert.rejects(segmentCt(scoredCt(), META, async () => ({ lungs: counting, lesion: brightLesions(), lobes: boxLungs() })),
    /the lobe model 'boxes' labels right lung, left lung, not the five lobes of lungmask's LTRCLobes/);
  assert.equal(lungRuns, 0);

  // A windowed 8-bit volume, segmented anyway (--force): the lobe model is not asked, the report says why.
  let lobeRuns = 0;
  const lobes: LungSegmenter = { ...boxLungs(['background', 'left upper lobe', 'left lower lobe', 'right upper lobe', 'right middle lobe', 'right lower lobe']), segment: async () => { lobeRuns++; throw new Error('not reached'); } };
  const windowed = createVolume(new Uint8Array(96 * 96 * 8).map((_, i) => (i * 7) % 256), [96, 96, 8], { spacingMm: [3, 3, 20] });
  const r = await segmentCt(windowed, META, async () => ({ lungs, lesion: brightLesions(), lobes }), { force: true });
  assert.equal(lobeRuns, 0);
  assert.equal(r.lps.lobes, undefined);
  assert.ok(r.report.warnings.some((w) => /^no lobe scores: the lobe model reads CT volumes in Hounsfield units only: /.test(w)), r.report.warnings.join('\n'));
  assert.equal(r.report.clinical!.lobes, null);
});

test('segmentCt with a lung model that labels lobes (ltrclobes): its own labels are the lobes, no second model', async () => {
  const ltrc = await openLungModel('ltrclobes', { weightsPath: fixturePath('lobes-tiny-legacy.pth'), threads: 1 });
  try {
    const r = await segmentCt(scoredCt(), { format: 'nifti', path: 'ct.nii.gz', warnings: [] }, async () => ({ lungs: ltrc, lesion: brightLesions() }));
    assert.ok(r.lps.lobes, 'lobes kept');
    assert.equal(r.report.models.lobes, undefined);
    assert.equal(r.report.timingsMs['lobes'], undefined);
    // Lungs folded from the same labels: every lung voxel is in a lobe.
    for (let i = 0; i < r.lps.lungs.data.length; i++) assert.equal(r.lps.lungs.data[i] !== 0, r.lps.lobes!.data[i] !== 0);
    assert.equal(r.report.clinical!.scores.pan.available, true, JSON.stringify(r.report.clinical!.scores.pan));
  } finally {
    await ltrc.release();
  }
});
