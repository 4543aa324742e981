import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  affectedColor, CLASS_CONSOLIDATION, CLASS_GROUND_GLASS, clinicalCsv, clinicalFigures, distributionPicture, drawLevel, lesionTypeMap, levelKey, levelSlice, lungLevels, sliceSource,
} from '../../src/clinical/index.js';
import { createVolume } from '../../src/volume/volume.js';
import { CONSOLIDATION, GROUND_GLASS, LESION, WHITE, type Rgb, type RgbImage } from '../../src/figures/index.js';
import { bilateral, reoriented, unilateral } from './phantom.js';

const count = (img: RgbImage, c: Rgb) => {
  let n = 0;
  for (let i = 0; i < img.data.length; i += 3) if (img.data[i] === c[0] && img.data[i + 1] === c[1] && img.data[i + 2] === c[2]) n++;
  return n;
};

test('the distribution picture colours each region by its % affected and shows the lesion split', () => {
  assert.deepEqual(affectedColor(0), WHITE);
  assert.deepEqual(affectedColor(50), LESION);
  const p = bilateral();
  const f = clinicalFigures({ ct: p.ct, lungs: p.lungs, lesions: p.lesions, isHu: true });
  const img = distributionPicture(f);
  // The left lung's upper third (100 %) and middle third (66.67 %) are cells of their colour; the ramp has one pixel column of each at most.
  assert.ok(count(img, affectedColor(100)) > 1000);
  assert.ok(count(img, affectedColor(66.67)) > 1000);
  assert.ok(count(img, GROUND_GLASS) > 100 && count(img, CONSOLIDATION) > 100);
  const noHu = distributionPicture(clinicalFigures({ ct: p.ct, lungs: p.lungs, lesions: p.lesions, isHu: false }));
  assert.equal(count(noHu, GROUND_GLASS), 0);
});

test('slice levels are matched by position within the lungs, and the lesion is drawn in its two classes', () => {
  const p = bilateral();
  const src = sliceSource(p.ct, p.lungs, p.lesions, true);
  // Lungs on z 1–9: the middles of the thirds are z 8, 5 and 2.
  assert.deepEqual(lungLevels(src, [1 / 6, 0.5, 5 / 6]), [8, 5, 2]);
  const classesAt = (z: number) => [...levelSlice(src, z).classes.data];
  assert.equal(classesAt(9).filter((c) => c === CLASS_GROUND_GLASS).length, 16 + 36, 'top slice: right core −600 HU, left lung −650 HU');
  assert.equal(classesAt(5).filter((c) => c === CLASS_CONSOLIDATION).length, 24, 'middle: left rows y 1–4 at −300 HU');
  assert.equal(classesAt(1).filter((c) => c === CLASS_CONSOLIDATION).length, 18);
  // Without HU there is one lesion class.
  const noHu = sliceSource(p.ct, p.lungs, p.lesions, false);
  for (const z of [1, 5, 9]) assert.ok(!levelSlice(noHu, z).classes.data.includes(CLASS_CONSOLIDATION));
  // The same chest stored upside down gives the same pictures at the same levels.
  const flipped = sliceSource(...((q) => [q.ct, q.lungs, q.lesions] as const)(reoriented(p, 'flip-z')), true);
  assert.deepEqual(lungLevels(flipped, [1 / 6, 0.5, 5 / 6]), [8, 5, 2]);
  for (const z of [8, 5, 2]) assert.deepEqual(drawLevel(flipped, z).data, drawLevel(src, z).data);
  // Transposed in-plane axes, or world z stored along the array's x: the slices come back the same way round.
  for (const kind of ['swap-xy', 'z-first'] as const) {
    const other = sliceSource(...((q) => [q.ct, q.lungs, q.lesions] as const)(reoriented(p, kind)), true);
    assert.deepEqual(lungLevels(other, [1 / 6, 0.5, 5 / 6]), [8, 5, 2], kind);
    assert.deepEqual(drawLevel(other, 5).data, drawLevel(src, 5).data, kind);
  }
  const img = drawLevel(src, 5, { title: 'middle' });
  assert.ok(img.width >= 384);
  assert.ok(levelKey(true).width > 0 && levelKey(false).width > 0);
});

test('lesionTypeMap (which skips empty stretches of the mask eight voxels at a time) equals the voxel-by-voxel rule: any nonzero lesion value, odd lengths, unaligned masks', () => {
  // The voxel-by-voxel rule, written out: lesion inside the lungs, consolidation from −400 HU.
  const rule = (hu: ArrayLike<number>, lungs: ArrayLike<number>, lesions: ArrayLike<number>, isHu: boolean) =>
    Array.from({ length: lungs.length }, (_, i) => (lesions[i] && lungs[i] ? (isHu && hu[i]! >= -400 ? CLASS_CONSOLIDATION : CLASS_GROUND_GLASS) : 0));
  const p = bilateral();
  for (const isHu of [true, false]) {
    const mine = lesionTypeMap(p.ct, p.lungs, p.lesions, isHu);
    assert.deepEqual([...mine.data], rule(p.ct.data, p.lungs.data, p.lesions.data, isHu));
    assert.deepEqual([mine.dims, mine.spacingMm], [p.lungs.dims, p.lungs.spacingMm]);
  }
  // 61 voxels (not a whole number of words), on a buffer offset by 3 bytes; lesion values 1, 128 (the sign byte of a float64 word) and 255, one outside the lungs, one at the very end.
  const n = 61;
  const buf = new Uint8Array(n + 3);
  const lesions = buf.subarray(3);
  const lungs = new Uint8Array(n).fill(1);
  const hu = Int16Array.from({ length: n }, (_, i) => (i % 3 === 0 ? -100 : -700));
  for (const [i, v] of [[0, 1], [7, 128], [15, 255], [33, 1], [40, 128], [60, 1]] as const) lesions[i] = v;
  lungs[33] = 0;
  const dims = [n, 1, 1] as const;
  const unaligned = lesionTypeMap(createVolume(hu, [...dims]), createVolume(lungs, [...dims]), createVolume(lesions, [...dims]), true);
  assert.deepEqual([...unaligned.data], rule(hu, lungs, lesions, true));
  // The same on an aligned copy, where the words are read.
  const aligned = lesionTypeMap(createVolume(hu, [...dims]), createVolume(lungs, [...dims]), createVolume(Uint8Array.from(lesions), [...dims]), true);
  assert.deepEqual([...aligned.data], rule(hu, lungs, lesions, true));
  assert.deepEqual([...aligned.data].map((c, i) => (c ? i : -1)).filter((i) => i >= 0), [0, 7, 15, 40, 60]);
  // Only the lesion's 128 at index 7 sits where a float64 word's sign is (byte 7 of 8): it is lesion.
  assert.equal(aligned.data[7], CLASS_GROUND_GLASS);
});

test('the CSV export: one row per scan, fixed columns, empty cells for what is not available', () => {
  const a = unilateral();
  const b = bilateral();
  const fa = clinicalFigures({ ct: a.ct, lungs: a.lungs, lesions: a.lesions, lobes: a.lobes, isHu: true });
  const fb = clinicalFigures({ ct: b.ct, lungs: b.lungs, lesions: b.lesions, isHu: false });
  const csv = clinicalCsv([{ info: { scan: 'scan, first', date: '2020-03-01', severity: 'CT-1' }, figures: fa }, { info: { scan: 'second' }, figures: fb }]);
  const lines = csv.trimEnd().split('\n');
  assert.equal(lines.length, 3);
  const header = lines[0]!.split(',');
  assert.equal(new Set(header).size, header.length, 'column names are unique');
  const cells = (line: string) => line.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.map((c) => c.replace(/,$/, '')).slice(0, header.length);
  const row = (k: number) => Object.fromEntries(header.map((h, i) => [h, cells(lines[k]!)[i]]));
  const first = row(1);
  const second = row(2);
  assert.equal(first['scan'], '"scan, first"');
  assert.equal(first['right_ggo_pct'], '4.94');
  assert.equal(first['right_consolidation_pct_of_lesion'], '52.94');
  assert.equal(first['right_upper_pct'], '14.81');
  assert.equal(first['zone_score'], '2');
  assert.equal(first['lobar_tss'], '2');
  assert.equal(first['pan_score_RUL'], '2');
  assert.equal(first['density_split'], '1');
  assert.equal(second['density_split'], '0');
  assert.equal(second['right_ggo_pct'], '', 'no HU: no split');
  assert.equal(second['lobar_tss'], '', 'no lobes: no lobe score');
  assert.equal(second['zone_score'], '9');
  assert.equal(second['left_upper_pct'], '100');
});
