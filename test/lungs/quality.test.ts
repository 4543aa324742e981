import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVolume, type LabelMap, type Volume } from '../../src/volume/volume.js';
import { cropToBox } from '../../src/volume/index.js';
import { ADULT_LUNG_VOLUME_ML, lungQuality } from '../../src/lungs/quality.js';
import { chestPhantom } from './chest-phantom.js';

const p = chestPhantom();

function crop<T extends Volume>(v: T, z0: number, z1: number): T {
  return cropToBox(v, [0, 0, z0], [v.dims[0], v.dims[1], z1]).volume as T;
}

test('both lungs wholly in view, of adult size, inside the body: complete and assessable', () => {
  const q = lungQuality(p.ct, p.lungs);
  assert.deepEqual(q, { assessable: true, lungCoverage: 'complete', warnings: [] });
});

test('lungs cut off at the top or bottom slice are partial, and say which end', () => {
  const nz = p.ct.dims[2];
  const top = lungQuality(crop(p.ct, 0, nz - 10), crop(p.lungs, 0, nz - 10));
  assert.equal(top.lungCoverage, 'partial');
  assert.ok(top.warnings.some((w) => /top slice: the apices are cut off/.test(w)), top.warnings.join('; '));
  // Only the bases in view: partial, and a small volume is no reason to distrust the mask.
  const bases = lungQuality(crop(p.ct, 0, 32), crop(p.lungs, 0, 32));
  assert.deepEqual([bases.lungCoverage, bases.assessable], ['partial', true]);
  assert.ok(bases.warnings.some((w) => /apices are cut off/.test(w)) && !bases.warnings.some((w) => /adult range/.test(w)), bases.warnings.join('; '));
});

test('lungs that reach the field of view\'s edge or its padding are partial', () => {
  const lungs = Uint8Array.from(p.lungs.data);
  const ct = Int16Array.from(p.ct.data);
  const [nx, ny] = p.ct.dims;
  // Out-of-field padding (−3024) right next to a lung voxel.
  const i = lungs.findIndex((v, k) => v === 1 && !lungs[k - 1]);
  ct[i - 1] = -3024;
  const q = lungQuality(createVolume(ct, p.ct.dims, p.ct), p.lungs);
  assert.equal(q.lungCoverage, 'partial');
  assert.ok(q.warnings.some((w) => /edge of the field of view/.test(w)));
  // A lung voxel on the grid's border.
  lungs[Math.floor(ny / 2) * nx + 30 * nx * ny] = 1;
  assert.equal(lungQuality(p.ct, createVolume(lungs, p.lungs.dims, p.lungs)).lungCoverage, 'partial');
});

test('a single slice or image file is partial by definition', () => {
  const z = 40;
  const slice = crop(p.ct, z, z + 1), lungs = crop(p.lungs, z, z + 1);
  assert.equal(lungQuality(slice, lungs).lungCoverage, 'partial');
  const img = lungQuality(slice, lungs, { imageFile: true });
  assert.deepEqual([img.lungCoverage, img.assessable], ['partial', true]);
});

test('no lungs: coverage none, not assessable, "no lungs in view"', () => {
  const q = lungQuality(p.ct, createVolume(new Uint8Array(p.lungs.data.length), p.lungs.dims, p.lungs));
  assert.deepEqual(q, { assessable: false, lungCoverage: 'none', warnings: ['no lungs in view: no severity grade can be given'] });
});

test('one side missing, a volume outside the adult range, lungs outside the body, or values not in HU: not assessable', () => {
  const only = (keep: (v: number, i: number) => boolean): LabelMap => createVolume(Uint8Array.from(p.lungs.data, (v, i) => (keep(v, i) ? v : 0)), p.lungs.dims, p.lungs);
  const right = lungQuality(p.ct, only((v) => v === 1));
  assert.equal(right.assessable, false);
  assert.ok(right.warnings.some((w) => /the left lung is missing/.test(w)), right.warnings.join('; '));
  // The same lungs on a grid of 9× the voxel volume (17 L): above the range.
  const big = (v: Volume) => createVolume(v.data, v.dims, { ...v, spacingMm: [9, 9, 3] });
  const huge = lungQuality(big(p.ct), big(p.lungs) as LabelMap);
  assert.ok(huge.warnings.some((w) => /above the adult range/.test(w)) && !huge.assessable, huge.warnings.join('; '));
  // … and of ¼: below it, wholly in view.
  const small = (v: Volume) => createVolume(v.data, v.dims, { ...v, spacingMm: [1.5, 1.5, 3] });
  const tiny = lungQuality(small(p.ct), small(p.lungs) as LabelMap);
  assert.ok(tiny.warnings.some((w) => w.includes(`below the adult range (${ADULT_LUNG_VOLUME_ML[0] / 1000}–`)) && !tiny.assessable, tiny.warnings.join('; '));
  // Lungs drawn where the body is air.
  const air = createVolume(Int16Array.from(p.ct.data, (v, i) => (p.lungs.data[i] === 2 ? -1000 : v)), p.ct.dims, p.ct);
  const shifted = lungQuality(createVolume(Int16Array.from(air.data, (v) => (v > -500 ? -1000 : v)), p.ct.dims, p.ct), p.lungs);
  assert.ok(shifted.warnings.some((w) => /outside the body/.test(w)) && !shifted.assessable, shifted.warnings.join('; '));
  const notHu = lungQuality(p.ct, p.lungs, { isHu: false });
  assert.ok(!notHu.assessable && notHu.warnings.some((w) => /not Hounsfield units/.test(w)));
});

test('pure air the anatomy kept as lung (emphysema) or dropped as gas is told, with its volume', async () => {
  const { anatomicalLungs } = await import('../../src/lungs/anatomy.js');
  const { everythingDark } = await import('./chest-phantom.js');
  // Both lungs emphysematous: kept, and the quality block says how much of them is pure air.
  const e = chestPhantom({ emphysema: 'both' });
  const kept = anatomicalLungs(e.ct, everythingDark(e));
  const q = lungQuality(e.ct, kept.lungs, { anatomy: kept.removed });
  assert.equal(q.assessable, true);
  assert.ok(q.warnings.some((w) => /^\d+ mL of the lung mask is nearly all pure air .*emphysema or bullae\?/.test(w)), q.warnings.join('; '));
  // A lone emphysematous left lung (no right lung in view): not a pair, so dropped as gas — never silently.
  const lone = chestPhantom({ emphysema: 'left', trachea: false });
  const input = createVolume(Uint8Array.from(lone.lungs.data, (v, i) => +(v === 2 || lone.stomach.data[i]! > 0)), lone.ct.dims, lone.ct);
  const dropped = anatomicalLungs(lone.ct, input);
  const ql = lungQuality(lone.ct, dropped.lungs, { anatomy: dropped.removed });
  assert.equal(ql.lungCoverage, 'none');
  const ml = Number(/^(\d+) mL of the model's lung was pure air and was dropped as gas/.exec(ql.warnings[1] ?? '')?.[1]);
  assert.ok(ml > 750, ql.warnings.join('; '));
  // A normal chest: a gastric bubble the model marked is dropped without a word (it is small next to the lungs).
  const n = anatomicalLungs(p.ct, everythingDark(p));
  assert.deepEqual(lungQuality(p.ct, n.lungs, { anatomy: n.removed }).warnings, []);
});
