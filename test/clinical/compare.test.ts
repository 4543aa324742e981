/**
 * `covseg compare` on result folders built from a real CT (TotalSegmentator's small
 * volume: real HU, real lung lobes) with a lesion painted into its right lower lobe: one
 * pair where the lesion shrinks, and the same scan shifted and re-sliced onto another
 * grid and orientation, which must come out stable; a real DICOM series given as a scan
 * (segmented first). Plus the rule and the refusals on hand-built figures.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readVolume, writeVolume } from '../../src/io/index.js';
import { decodePng } from '../../src/io/raster.js';
import { lungAndLesionNumbers, type SegmentReport } from '../../src/segment/report.js';
import { segmentCase } from '../../src/segment/index.js';
import { checkSamePatient, clinicalFigures, compareScans, type Comparison } from '../../src/clinical/index.js';
import { resampleToGrid } from '../../src/volume/resample.js';
import { createVolume, indexToWorld, type LabelMap, type Vec3, type Volume } from '../../src/volume/volume.js';
import { needsShared, PROJECT_ROOT, sharedPath } from '../helpers/shared-data.js';
import { bilateral, unilateral } from './phantom.js';

const MAIN = resolve(PROJECT_ROOT, 'dist/src/cli/main.js');
const SMALL = 'small-ct-volume';
let dir = '';

function covseg(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, 'compare', ...args], { encoding: 'utf8', env: { ...process.env, COVSEG_QUIET: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Scan { ct: Volume; lungs: LabelMap; lesions: LabelMap }

/** A segment result folder: masks, the CT (as --viewer-ct writes it), report.json. */
async function writeResult(name: string, s: Scan, input: Record<string, unknown> = {}): Promise<string> {
  const out = join(dir, name);
  mkdirSync(out, { recursive: true });
  await writeVolume(join(out, 'lungs.nii.gz'), s.lungs);
  await writeVolume(join(out, 'lesions.nii.gz'), s.lesions);
  await writeVolume(join(out, 'ct.nii.gz'), s.ct);
  const report = {
    format: 'covseg-report', version: 1, createdAt: '2020-01-01T00:00:00Z',
    input: { path: join(out, 'gone.nii.gz'), format: 'nifti', dims: s.ct.dims, spacingMm: s.ct.spacingMm, spacingKnown: true, isHu: true, huReason: 'HU', ...input },
    ...lungAndLesionNumbers(s.lungs, s.lesions, true, { assessable: true, lungCoverage: 'complete', warnings: [] }),
    models: { lung: 'test', lesion: 'test' }, outputs: { lungs: 'lungs.nii.gz', lesions: 'lesions.nii.gz', viewerCt: 'ct.nii.gz' }, timingsMs: {}, warnings: [],
  };
  writeFileSync(join(out, 'report.json'), JSON.stringify(report));
  return out;
}

/** The real CT with its real lungs (TotalSegmentator lobes 10–11 left, 12–14 right) and a ball of lesion (−600 HU, a −100 HU core) in the right lower lobe. */
async function realScan(radiusMm: number): Promise<Scan> {
  const ct = (await readVolume(sharedPath(`${SMALL}/example_ct_sm.nii.gz`))) as Volume<Int16Array>;
  const seg = await readVolume(sharedPath(`${SMALL}/example_seg.nii.gz`));
  const lungs = createVolume(Uint8Array.from(seg.data, (v) => (v >= 12 && v <= 14 ? 1 : v === 10 || v === 11 ? 2 : 0)), seg.dims, seg);
  const [nx, ny, nz] = ct.dims;
  const centre: Vec3 = [0, 0, 0];
  let n = 0;
  for (let z = 0, i = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++, i++) {
    if (seg.data[i] !== 14) continue;
    const w = indexToWorld(ct, [x, y, z]);
    for (let a = 0; a < 3; a++) centre[a]! += w[a]!;
    n++;
  }
  for (let a = 0; a < 3; a++) centre[a]! /= n;
  const data = ct.data.slice();
  const lesions = new Uint8Array(data.length);
  for (let z = 0, i = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++, i++) {
    if (lungs.data[i] !== 1) continue;
    const w = indexToWorld(ct, [x, y, z]);
    const r = Math.hypot(w[0] - centre[0], w[1] - centre[1], w[2] - centre[2]);
    if (r > radiusMm) continue;
    lesions[i] = 1;
    data[i] = r < radiusMm / 2 ? -100 : -600;
  }
  return { ct: createVolume(data, ct.dims, ct), lungs, lesions: createVolume(lesions, ct.dims, ct) };
}

/** `s` on another grid: LPS-aligned (the source is stored flipped), 2.4 × 2.6 × 2.2 mm voxels, shifted by a fraction of a voxel. */
function resliced(s: Scan): Scan {
  const corners: Vec3[] = [];
  for (const x of [0, s.ct.dims[0] - 1]) for (const y of [0, s.ct.dims[1] - 1]) for (const z of [0, s.ct.dims[2] - 1]) corners.push(indexToWorld(s.ct, [x, y, z]));
  const lo = [0, 1, 2].map((a) => Math.min(...corners.map((c) => c[a]!))) as Vec3;
  const hi = [0, 1, 2].map((a) => Math.max(...corners.map((c) => c[a]!))) as Vec3;
  const spacingMm: Vec3 = [2.4, 2.6, 2.2];
  // The source's field of view reaches half a voxel (1.5 mm) beyond its outer voxel centres; the new grid covers it, shifted.
  const shift: Vec3 = [0.9, 0.4, 1.1];
  const origin = [0, 1, 2].map((a) => lo[a]! - 1.5 + shift[a]!) as Vec3;
  const dims = [0, 1, 2].map((a) => Math.floor((hi[a]! + 1.5 - origin[a]!) / spacingMm[a]!) + 1) as Vec3;
  const grid = { dims, spacingMm, origin, direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] as Volume['direction'] };
  return {
    ct: resampleToGrid(s.ct, grid, { interpolation: 'linear' }),
    lungs: resampleToGrid(s.lungs, grid, { interpolation: 'label' }) as LabelMap,
    lesions: resampleToGrid(s.lesions, grid, { interpolation: 'label' }) as LabelMap,
  };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'covseg-compare-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('compare on a real CT: a shrinking lesion is better; the same scan shifted and re-sliced is stable', { skip: needsShared(SMALL) }, async () => {
  const big = await realScan(30);
  const small = await realScan(11);
  const a = await writeResult('a', big, { patientId: 'P1', studyDate: '20200301' });
  const b = await writeResult('b', small, { patientId: 'P1', studyDate: '20200315' });
  const c = await writeResult('c', resliced(big), { patientId: 'P1' });

  const out = join(dir, 'out-ab');
  // Given newest first: the dates put them in order.
  const r = covseg(b, a, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const ab = JSON.parse(readFileSync(join(out, 'comparison.json'), 'utf8')) as Comparison;
  assert.deepEqual(ab.scans.map((s) => s.date), ['2020-03-01', '2020-03-15']);
  assert.equal(ab.steps.length, 1);
  const step = ab.steps[0]!;
  assert.equal(step.days, 14);
  assert.equal(step.verdict, 'better', step.reason);
  assert.ok(step.total.percentAffected.change! < -5);
  assert.ok(step.right.lesionMl.change! < 0 && step.left.percentAffected.change === 0);
  assert.ok(step.total.consolidationPercentOfLesion.from! > 0, 'the painted core is consolidation');
  assert.match(r.stdout, /BETTER/);
  const csv = readFileSync(join(out, 'comparison.csv'), 'utf8').trimEnd().split('\n');
  assert.equal(csv.length, 3);
  for (const png of ['levels.png', 'trend.png']) assert.ok(decodePng(readFileSync(join(out, png))).width > 300, png);

  const out2 = join(dir, 'out-ac');
  const r2 = covseg(a, c, '--out', out2, '--dates', '2020-03-01,2020-03-02');
  assert.equal(r2.status, 0, r2.stderr);
  const ac = JSON.parse(readFileSync(join(out2, 'comparison.json'), 'utf8')) as Comparison;
  const same = ac.steps[0]!;
  assert.equal(same.verdict, 'stable', same.reason);
  // The re-sliced copy moves the share by well under the rule's 5 points (the rule's justification says under one).
  assert.ok(Math.abs(same.total.percentAffected.change!) < 1, same.reason);
  assert.ok(Math.abs(same.total.lungMl.change!) / same.total.lungMl.from! < 0.05, 'lung volume kept within 5 %');
  for (const region of ['upper', 'middle', 'lower', 'ventral', 'dorsal'] as const) {
    assert.ok(Math.abs(same.right.regions[region].change ?? 0) < 5, `${region}: ${JSON.stringify(same.right.regions[region])}`);
  }
});

test('compare refuses different patients unless forced, and bad usage with the reason', { skip: needsShared(SMALL) }, async () => {
  const scan = await realScan(15);
  const a = await writeResult('p1', scan, { patientId: 'P1' });
  const b = await writeResult('p2', scan, { patientId: 'P2' });
  const refused = covseg(a, b, '--out', join(dir, 'out-p'));
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /different patients \(PatientID .*p1: P1, .*p2: P2\); pass --force/);
  const forced = covseg(a, b, '--out', join(dir, 'out-p'), '--force');
  assert.equal(forced.status, 0, forced.stderr);
  assert.match(forced.stdout, /STABLE/);
  assert.match(forced.stdout, /note: the scans name different patients/);
  assert.equal(covseg(a, '--out', join(dir, 'x')).status, 2);
  const badDates = covseg(a, b, '--out', join(dir, 'x'), '--dates', '2020-03-01');
  assert.equal(badDates.status, 2);
  assert.match(badDates.stderr, /--dates gives 1 dates for 2 folders/);
  const notResult = covseg(a, dir, '--out', join(dir, 'x'), '--force');
  assert.equal(notResult.status, 1);
  assert.match(notResult.stderr, /not a covseg segment result folder: report\.json is missing/);
  // report.json is checked against its schema: a broken or foreign one is named with the key.
  const broken = await writeResult('broken', scan);
  const brokenReport = JSON.parse(readFileSync(join(broken, 'report.json'), 'utf8'));
  delete brokenReport.quality;
  brokenReport.lesions.left.percentOfLung = 'high';
  writeFileSync(join(broken, 'report.json'), JSON.stringify(brokenReport));
  const badReport = covseg(a, broken, '--out', join(dir, 'x'));
  assert.equal(badReport.status, 1);
  assert.match(badReport.stderr, /broken\/report\.json: missing key 'quality' \(object\); segment the scan again with this covseg/);
  brokenReport.quality = { assessable: true, lungCoverage: 'complete', warnings: [] };
  writeFileSync(join(broken, 'report.json'), JSON.stringify(brokenReport));
  assert.match(covseg(a, broken, '--out', join(dir, 'x')).stderr, /broken\/report\.json: key 'lesions\.left\.percentOfLung' should be number ≥ 0 ≤ 100, got string; segment the scan again/);
  delete brokenReport.format;
  writeFileSync(join(broken, 'report.json'), JSON.stringify({ ...brokenReport, format: 'covseg-clinical' }));
  assert.match(covseg(a, broken, '--out', join(dir, 'x')).stderr, /report\.json: key 'format' is 'covseg-clinical', expected 'covseg-report' \(a covseg segment report\)/);
  // Existing outputs are kept unless --overwrite.
  const again = covseg(a, b, '--out', join(dir, 'out-p'), '--force');
  assert.equal(again.status, 1);
  assert.match(again.stderr, /exists; pass --overwrite/);
});

test('the verdict rule: beyond ±X points of % affected, by date order, every change reported', () => {
  const fa = (() => { const p = unilateral(); return clinicalFigures({ ct: p.ct, lungs: p.lungs, lesions: p.lesions, lobes: p.lobes, isHu: true }); })();
  const fb = (() => { const p = bilateral(); return clinicalFigures({ ct: p.ct, lungs: p.lungs, lesions: p.lesions, lobes: p.lobes, isHu: true }); })();
  // 5.25 % → 33.02 %: worse; back: better; with X = 30 points both stable.
  const c = compareScans([{ name: 'later', date: '2020-04-10', figures: fa }, { name: 'earlier', date: '2020-04-01', figures: fb }, { name: 'latest', date: '2020-04-20', figures: fb }]);
  assert.deepEqual(c.scans.map((s) => s.name), ['earlier', 'later', 'latest']);
  assert.deepEqual(c.steps.map((s) => s.verdict), ['better', 'worse']);
  assert.equal(c.overall.verdict, 'stable');
  assert.equal(c.steps[0]!.days, 9);
  assert.deepEqual(c.steps[0]!.total.percentAffected, { from: 33.02, to: 5.25, change: -27.77 });
  assert.deepEqual(c.steps[0]!.scores.zone, { from: 9, to: 2, change: -7 });
  assert.deepEqual(c.steps[0]!.scores.zones['left upper'], { from: 4, to: 0, change: -4 });
  assert.deepEqual(c.steps[0]!.scores.lobes['LUL'], { tss: { from: 4, to: 0, change: -4 }, pan: { from: 5, to: 0, change: -5 } });
  assert.deepEqual(c.steps[0]!.left.regions.upper, { from: 100, to: 0, change: -100 });
  assert.match(c.steps[0]!.reason, /33\.02% → 5\.25% affected \(-27\.77 points; beyond ±5\)/);
  const loose = compareScans([{ name: 'a', figures: fa }, { name: 'b', figures: fb }], { stableWithinPoints: 30 });
  assert.equal(loose.steps[0]!.verdict, 'stable');
  assert.equal(loose.steps[0]!.days, null);
  assert.throws(() => compareScans([{ name: 'a', figures: fa }]), /two or more scans/);
  assert.deepEqual(checkSamePatient([{ name: 'a', patientId: 'X' }, { name: 'b' }]), []);
  assert.throws(() => checkSamePatient([{ name: 'a', patientId: 'X' }, { name: 'b', patientId: 'Y' }]), /different patients/);
});

test('compare with scans for folders: each scan is segmented first (a DICOM series folder here) and compares exactly as its segment result folder does', { skip: needsShared('chest-ct-dicom-slice') }, async () => {
  // A folder of DICOM files without report.json is a series (the real chest slice: lungs and some lesion).
  const series = join(dir, 'example_ct_dicom');
  mkdirSync(series);
  copyFileSync(sharedPath('chest-ct-dicom-slice/0.dcm'), join(series, '0.dcm'));
  // The same scan segmented by segment itself, with the same models and threads: a result folder.
  const segmented = join(dir, 'seg-dicom');
  await segmentCase(series, segmented, { writeViewerCt: true, threads: 1 });
  const out = join(dir, 'out-scan');
  const r = covseg(segmented, series, '--out', out, '--threads', '1', '--quiet', '--dates', '2020-03-01,2020-03-02');
  assert.equal(r.status, 0, r.stderr);
  const c = JSON.parse(readFileSync(join(out, 'comparison.json'), 'utf8')) as Comparison;
  assert.deepEqual(c.scans.map((s) => s.name), [segmented, series]);
  const written = join(out, 'segmented', '2-example_ct_dicom');
  for (const f of ['report.json', 'lungs.nii.gz', 'lesions.nii.gz', 'ct.nii.gz']) assert.ok(existsSync(join(written, f)), f);
  const step = c.steps[0]!;
  assert.equal(step.verdict, 'stable', step.reason);
  assert.ok(step.total.lungMl.from! > 10 && c.scans[0]!.percentAffected! > 0, 'lungs and lesion are found, so the equality means something');
  for (const key of ['lungMl', 'lesionMl', 'percentAffected', 'consolidationPercentOfLesion'] as const) assert.equal(step.total[key].change, 0, key);
  // The comparison gives figures to 2 decimals.
  const reported = (JSON.parse(readFileSync(join(written, 'report.json'), 'utf8')) as SegmentReport).severity.percentAffected;
  assert.equal(c.scans[1]!.percentAffected, Math.round(reported * 100) / 100);

  // A scan that is not there is named; nothing is compared.
  const missing = covseg(segmented, join(dir, 'gone.nii.gz'), '--out', join(dir, 'out-missing'), '--quiet');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /gone\.nii\.gz: /);
  assert.equal(existsSync(join(dir, 'out-missing', 'comparison.json')), false);
});
