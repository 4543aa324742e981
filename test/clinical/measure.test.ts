import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clinicalFigures, LOBES, MIN_SCORED_PERCENT, panScore, quarterScore, type ClinicalFigures, type RegionName } from '../../src/clinical/index.js';
import { lungModel } from '../../src/lungs/models.js';
import { CT0_MAX_PERCENT } from '../../src/segment/severity.js';
import { createVolume } from '../../src/volume/volume.js';
import { bilateral, phantom, reoriented, unilateral, type Phantom } from './phantom.js';

const ML = 0.024; // one 2 × 2 × 6 mm voxel
const figures = (p: Phantom, extra: Partial<Parameters<typeof clinicalFigures>[0]> = {}) => clinicalFigures({ ct: p.ct, lungs: p.lungs, lesions: p.lesions, lobes: p.lobes, isHu: true, ...extra });
const regionPercents = (f: ClinicalFigures, side: 'right' | 'left' | 'total') =>
  Object.fromEntries((Object.entries(f[side].regions) as [RegionName, { percentAffected: number } | null][]).map(([k, r]) => [k, r?.percentAffected ?? null]));

test('scores bin the share affected as the papers do (0 below the CT-0 noise limit)', () => {
  const quarter: [number, number][] = [[0, 0], [0.05, 0], [0.1, 1], [25, 1], [25.01, 2], [50, 2], [50.01, 3], [75, 3], [75.01, 4], [100, 4]];
  for (const [p, s] of quarter) assert.equal(quarterScore(p), s, `quarter ${p}%`);
  const pan: [number, number][] = [[0, 0], [0.05, 0], [0.1, 1], [4.99, 1], [5, 2], [25, 2], [25.01, 3], [49.99, 3], [50, 4], [75, 4], [75.01, 5], [100, 5]];
  for (const [p, s] of pan) assert.equal(panScore(p), s, `Pan ${p}%`);
  assert.equal(MIN_SCORED_PERCENT, CT0_MAX_PERCENT, 'the scores\' noise limit is MosMedData\'s CT-0 limit');
});

test('the lobe labels are those of the lungs registry (lungmask LTRCLobes)', () => {
  const classes = lungModel('ltrclobes').classes;
  for (const lobe of LOBES) assert.equal(classes[lobe.label], lobe.name);
  assert.equal(classes.length, LOBES.length + 1);
});

test('unilateral case: bands, composition, ground glass vs consolidation, every region and score', () => {
  const f = figures(unilateral());
  const r = f.right;
  assert.deepEqual(r.lung, { voxels: 324, volumeMl: +(324 * ML).toFixed(2) });
  assert.deepEqual(r.lesion, { voxels: 34, volumeMl: +(34 * ML).toFixed(2), percentOfLung: 10.49 });
  assert.deepEqual(r.groundGlass, { voxels: 16, volumeMl: 0.38, percentOfLung: 4.94 });
  assert.deepEqual(r.consolidation, { voxels: 18, volumeMl: 0.43, percentOfLung: 5.56 });
  assert.equal(r.consolidationPercentOfLesion, 52.94);
  const voxels = (o: Record<string, { voxels: number }> | null) => Object.fromEntries(Object.entries(o!).map(([k, v]) => [k, v.voxels]));
  // Density alone (Lung CT Analyzer's bands): ground glass at −600 is infiltrated, consolidation at −100 collapsed.
  assert.deepEqual(voxels(r.bands), { emphysema: 6, aerated: 282, infiltrated: 17, collapsed: 18, vessels: 1 });
  // Affected + functional + emphysema range + other = the lung.
  assert.deepEqual(voxels(r.composition), { affected: 34, functional: 282, emphysemaRange: 6, other: 2 });
  assert.deepEqual(regionPercents(f, 'right'), { upper: 14.81, middle: 0, lower: 16.67, ventral: 4.94, dorsal: 16.05, peripheral: 5.56, central: 16.67 });
  assert.deepEqual(
    Object.fromEntries(Object.entries(r.regions).map(([k, v]) => [k, [v!.lungVoxels, v!.lesionVoxels, v!.consolidationVoxels]])),
    { upper: [108, 16, 0], middle: [108, 0, 0], lower: [108, 18, 18], ventral: [162, 8, 0], dorsal: [162, 26, 18], peripheral: [180, 10, 10], central: [144, 24, 8] },
  );
  assert.equal(r.maxDepthMm, 6);
  // The clear left lung: everything 0, all of it functional.
  assert.equal(f.left.lesion.percentOfLung, 0);
  assert.deepEqual(voxels(f.left.composition), { affected: 0, functional: 324, emphysemaRange: 0, other: 0 });
  assert.ok(Object.values(f.left.regions).every((v) => v!.percentAffected === 0));
  assert.equal(f.total.lesion.percentOfLung, 5.25);
  assert.equal(f.total.regions.upper!.lungVoxels, 216);

  const zone = f.scores.zone;
  assert.ok(zone.available);
  assert.deepEqual(zone.zones.map((z) => `${z.lung} ${z.zone} ${z.percentAffected} ${z.score}`), [
    'right upper 14.81 1', 'right middle 0 0', 'right lower 16.67 1', 'left upper 0 0', 'left middle 0 0', 'left lower 0 0',
  ]);
  assert.equal(zone.total, 2);
  assert.equal(zone.max, 24);
  const tss = f.scores.lobarTss;
  const pan = f.scores.pan;
  assert.ok(tss.available && pan.available);
  assert.deepEqual(tss.lobes.map((l) => `${l.lobe} ${l.percentAffected} ${l.score}`), ['RUL 14.81 1', 'RML 0 0', 'RLL 16.67 1', 'LUL 0 0', 'LLL 0 0']);
  assert.equal(tss.total, 2);
  assert.deepEqual(pan.lobes.map((l) => l.score), [2, 0, 2, 0, 0]);
  assert.equal(pan.total, 4);
  assert.deepEqual(f.lobes!.map((l) => [l.lobe, l.voxels, l.lesionVoxels]), [['RUL', 108, 16], ['RML', 108, 0], ['RLL', 108, 18], ['LUL', 180, 0], ['LLL', 144, 0]]);
  assert.match(zone.label, /six zones/);
  assert.match(tss.label, /Chung/);
  assert.match(pan.label, /Pan et al/);
});

test('bilateral case: both lungs, higher zone and lobe scores', () => {
  const f = figures(bilateral());
  const l = f.left;
  assert.equal(l.lesion.voxels, 180);
  assert.equal(l.lesion.percentOfLung, 55.56);
  assert.equal(l.groundGlass!.voxels, 108);
  assert.equal(l.consolidation!.voxels, 72);
  assert.deepEqual(regionPercents(f, 'left'), { upper: 100, middle: 66.67, lower: 0, ventral: 66.67, dorsal: 44.44, peripheral: 53.33, central: 58.33 });
  assert.equal(f.total.lesion.percentOfLung, 33.02);
  assert.equal(f.total.consolidationPercentOfLesion, 42.06); // (18 + 72) / 214
  const zone = f.scores.zone;
  assert.ok(zone.available);
  assert.deepEqual(zone.zones.map((z) => z.score), [1, 0, 1, 4, 3, 0]);
  assert.equal(zone.total, 9);
  const tss = f.scores.lobarTss;
  const pan = f.scores.pan;
  assert.ok(tss.available && pan.available);
  assert.deepEqual(tss.lobes.map((x) => `${x.lobe} ${x.percentAffected} ${x.score}`), ['RUL 14.81 1', 'RML 0 0', 'RLL 16.67 1', 'LUL 86.67 4', 'LLL 16.67 1']);
  assert.equal(tss.total, 7);
  assert.deepEqual(pan.lobes.map((x) => x.score), [2, 0, 2, 5, 2]);
  assert.equal(pan.total, 11);
});

test('any orientation: the same chest on a flipped or transposed grid gives the same figures', () => {
  const p = bilateral();
  const base = figures(p);
  for (const kind of ['flip-z', 'swap-xy', 'z-first'] as const) {
    const f = figures(reoriented(p, kind));
    assert.deepEqual({ ...f, regionRules: undefined }, { ...base, regionRules: undefined }, kind);
  }
});

test('rows a whole number of 8-voxel words wide are scanned word by word: the same figures as voxel by voxel', () => {
  // The 15-wide chest put into grids 16 and 24 voxels wide (background added on the right):
  // the lung scan skips empty words there; on a lung map whose bytes start off a word
  // boundary it reads voxel by voxel. All must give the 15-wide chest's figures.
  const p = bilateral();
  const [nx, ny, nz] = p.lungs.dims;
  const want = figures(p);
  for (const wide of [16, 24]) {
    for (const offset of [0, 1]) {
      const widen = <T extends Int16Array | Uint8Array>(v: T, make: (n: number) => T): T => {
        const out = make(wide * ny * nz);
        for (let r = 0; r < ny * nz; r++) out.set(v.subarray(r * nx, (r + 1) * nx), r * wide);
        return out;
      };
      const dims = [wide, ny, nz] as [number, number, number];
      const g = { spacingMm: p.lungs.spacingMm };
      const lungs = widen(p.lungs.data, (n) => new Uint8Array(n + offset).subarray(offset));
      const f = clinicalFigures({
        ct: createVolume(widen(p.ct.data, (n) => new Int16Array(n).fill(40)), dims, g), lungs: createVolume(lungs, dims, g),
        lesions: createVolume(widen(p.lesions.data, (n) => new Uint8Array(n)), dims, g), lobes: createVolume(widen(p.lobes.data, (n) => new Uint8Array(n)), dims, g), isHu: true,
      });
      assert.deepEqual(f, want, `${wide} wide, lung map at byte offset ${offset}`);
    }
  }
});

test('without HU the density split is unavailable, with the reason; regions and scores remain', () => {
  const f = figures(unilateral(), { isHu: false, huReason: 'an 8-bit PNG export' });
  assert.deepEqual(f.density, { available: false, reason: 'ground glass and consolidation are told apart by density, which needs Hounsfield units: an 8-bit PNG export' });
  assert.equal(f.right.groundGlass, null);
  assert.equal(f.right.bands, null);
  assert.equal(f.right.composition, null);
  assert.equal(f.right.regions.upper!.consolidationVoxels, null);
  assert.equal(f.right.regions.upper!.percentAffected, 14.81);
  assert.ok(f.scores.zone.available);
  const noSize = figures(unilateral(), { spacingKnown: false });
  assert.equal(noSize.right.lesion.volumeMl, null);
  assert.equal(noSize.right.lesion.percentOfLung, 10.49);
});

test('no score where the scan is not assessable, or what a score needs is missing', () => {
  const p = unilateral();
  const f = figures(p, { assessable: false, notAssessableReason: 'the lung bases are cut off' });
  for (const s of [f.scores.zone, f.scores.lobarTss, f.scores.pan]) assert.deepEqual(s, { available: false, reason: 'not scored: the lung bases are cut off' });
  assert.equal(f.right.lesion.percentOfLung, 10.49, 'the measurements stay');
  const noLobes = clinicalFigures({ ct: p.ct, lungs: p.lungs, lesions: p.lesions, isHu: true });
  assert.equal(noLobes.lobes, null);
  assert.match((noLobes.scores.lobarTss as { reason: string }).reason, /needs lobe labels/);
  // A lobe map without the right middle lobe.
  const lobes = createVolume(p.lobes.data.map((v) => (v === 4 ? 5 : v)), p.lobes.dims, p.lobes);
  const missing = figures({ ...p, lobes });
  assert.deepEqual(missing.scores.pan, { available: false, reason: 'not every lobe is in the lobe map (missing: right middle lobe)' });
  // One lung only: no zone score, the present lung's regions are reported.
  const oneLung = figures({ ...p, lungs: createVolume(p.lungs.data.map((v) => (v === 2 ? 0 : v)), p.lungs.dims, p.lungs) });
  assert.equal(oneLung.left.regions.upper, null);
  assert.equal(oneLung.right.regions.upper!.percentAffected, 14.81);
  assert.match((oneLung.scores.zone as { reason: string }).reason, /no left lung/);
});

test('a single slice: no thirds and no zone score; the rest is measured', () => {
  const p = phantom();
  const z = 5;
  const plane = p.ct.dims[0] * p.ct.dims[1];
  const slice = <T extends Int16Array | Uint8Array>(d: T) => d.slice(z * plane, (z + 1) * plane) as T;
  const dims: [number, number, number] = [p.ct.dims[0], p.ct.dims[1], 1];
  const lesions = slice(p.lesions.data);
  lesions.fill(1, 1 + 15 * 1, 7 + 15 * 1); // the ventral row y = 1 of the right lung
  const f = clinicalFigures({ ct: createVolume(slice(p.ct.data), dims), lungs: createVolume(slice(p.lungs.data), dims), lesions: createVolume(lesions, dims), isHu: true, spacingKnown: false, distanceGridMm: 0 });
  assert.equal(f.right.regions.upper, null);
  assert.equal(f.right.lesion.percentOfLung, 16.67);
  assert.equal(f.right.regions.ventral!.percentAffected, 33.33);
  assert.equal(f.right.regions.peripheral!.percentAffected, 30); // the row is on the ring: 6 of 20
  assert.equal(f.scores.zone.available, false);
  assert.match(f.regionRules.notes.join(' '), /single axial slice/);
});

test('bad input is refused with what to pass', () => {
  const p = phantom();
  const small = createVolume(new Uint8Array(8), [2, 2, 2]);
  assert.throws(() => clinicalFigures({ ct: p.ct, lungs: p.lungs, lesions: small, isHu: true }), /clinical figures: the lesion mask has grid \[2, 2, 2\] but the lungs have \[15, 8, 11\]/);
  assert.throws(() => figures(p, { bands: { emphysemaBelow: -700, aeratedBelow: -750, infiltratedBelow: -400, collapsedBelow: 0 } }), /rise strictly/);
});
