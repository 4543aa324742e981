import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVolume, type Mat3, type Vec3 } from '../../src/volume/volume.js';
import {
  countNonzero,
  harmoniseLesion,
  harmoniseLung,
  lungSidesByPosition,
  naturalCompare,
  overlapFamily,
  overlapWarnings,
  zenodoCaseName,
  zenodoSliceGroup,
  type LesionLabels,
  type SourceName,
} from '../../src/datasets/index.js';

const vol = (values: number[], dims: Vec3 = [values.length, 1, 1], direction?: Mat3) =>
  createVolume(Float32Array.from(values), dims, direction ? { direction } : {});

test('harmoniseLesion: lesion = GGO ∪ consolidation, pleural effusion is not lesion', () => {
  const cases: [LesionLabels, number[], number[]][] = [
    // MedSeg: 1 GGO, 2 consolidation, 3 pleural effusion.
    ['ggo-consolidation', [0, 1, 2, 3, 4], [0, 1, 1, 0, 0]],
    // Float-stored labels round to the nearest integer first.
    ['ggo-consolidation', [0.9999, 2.0001, 2.9, 1.49], [1, 1, 0, 1]],
    // MosMed {0,1}; Kaggle's Zenodo copy has values like 0.99997.
    ['nonzero', [0, 1, 0.99997, 0.4, 0.5, 255], [0, 1, 1, 0, 1, 1]],
    // 0/255 grey pictures: anti-aliased edges below 128 are background.
    ['grey-0-255', [0, 127, 128, 255], [0, 0, 1, 1]],
  ];
  for (const [labels, input, expected] of cases) {
    const out = harmoniseLesion(vol(input), { labels });
    assert.ok(out.data instanceof Uint8Array);
    assert.deepEqual(Array.from(out.data), expected, `${labels} ${input}`);
  }
});

test('harmoniseLung: lung = lung ∪ lesion; no source lung → undefined', () => {
  const lesion = createVolume(Uint8Array.from([0, 1, 1, 0, 0]), [5, 1, 1]);
  assert.equal(harmoniseLung(lesion), undefined);
  const lung = harmoniseLung(lesion, { lungLabels: vol([0, 0, 2, 1, 0]) })!;
  assert.deepEqual(Array.from(lung.lungMask.data), [0, 1, 1, 1, 0]);
  const grey = harmoniseLung(lesion, { lungLabels: vol([255, 0, 0, 100, 200]), encoding: 'grey-0-255' })!;
  assert.deepEqual(Array.from(grey.lungMask.data), [1, 1, 1, 0, 1]);
});

test('lungSidesByPosition: 1 = right (smaller LPS x), 2 = left, whatever the source numbering or orientation', () => {
  // Two labels on a 4×1×1 row: label 7 at x = 0, label 3 at x = 3.
  const labels = [7, 0, 0, 3];
  const cases: [string, Mat3, number[]][] = [
    // Identity: index x → +L, so x = 0 is the patient's right.
    ['identity', [1, 0, 0, 0, 1, 0, 0, 0, 1], [1, 0, 0, 2]],
    // x axis flipped (index x → −L = patient right): x = 3 is now the right.
    ['x flipped', [-1, 0, 0, 0, 1, 0, 0, 0, 1], [2, 0, 0, 1]],
  ];
  for (const [name, direction, expected] of cases) {
    const sides = lungSidesByPosition(createVolume(Uint8Array.from(labels), [4, 1, 1], { direction }));
    assert.deepEqual(Array.from(sides!.data), expected, name);
  }
  assert.equal(lungSidesByPosition(createVolume(Uint8Array.from([1, 1, 0]), [3, 1, 1])), undefined, 'one label: no sides');
  assert.equal(lungSidesByPosition(createVolume(Uint8Array.from([1, 2, 3]), [3, 1, 1])), undefined, 'three labels: no sides');
  const viaLung = harmoniseLung(createVolume(new Uint8Array(4), [4, 1, 1]), { lungLabels: vol([2, 0, 0, 1]) })!;
  assert.deepEqual(Array.from(viaLung.lungSides!.data), [1, 0, 0, 2]);
});

test('countNonzero', () => {
  assert.equal(countNonzero(Uint8Array.from([0, 1, 255, 0, 3])), 3);
  assert.equal(countNonzero(new Uint8Array(0)), 0);
});

test('naturalCompare orders embedded numbers by value', () => {
  const table: [string[], string[]][] = [
    [['10.nii.gz', '9.nii.gz', '1.nii.gz'], ['1.nii.gz', '9.nii.gz', '10.nii.gz']],
    [['study_0300', 'study_0255', 'study_1'], ['study_1', 'study_0255', 'study_0300']],
    [['radiopaedia_10_85902_3', 'radiopaedia_10_85902_1', 'radiopaedia_4_85506_1'], ['radiopaedia_4_85506_1', 'radiopaedia_10_85902_1', 'radiopaedia_10_85902_3']],
    [['b', 'a10', 'a9'], ['a9', 'a10', 'b']],
  ];
  for (const [input, expected] of table) assert.deepEqual([...input].sort(naturalCompare), expected);
});

test('Zenodo names: image stem → mask stem and patient group (two scans of Radiopaedia case 10 share one group)', () => {
  const table: [string, string, string][] = [
    ['coronacases_org_001', 'coronacases_001', 'coronacases:001'],
    ['coronacases_org_010', 'coronacases_010', 'coronacases:010'],
    ['radiopaedia_org_covid-19-pneumonia-10_85902_1-dcm', 'radiopaedia_10_85902_1', 'radiopaedia-case:10'],
    ['radiopaedia_org_covid-19-pneumonia-10_85902_3-dcm', 'radiopaedia_10_85902_3', 'radiopaedia-case:10'],
    ['radiopaedia_org_covid-19-pneumonia-4_85506_1-dcm', 'radiopaedia_4_85506_1', 'radiopaedia-case:4'],
    ['something_else', 'something_else', 'zenodo:something_else'],
  ];
  for (const [stem, mask, group] of table) assert.deepEqual(zenodoCaseName(stem), { maskStem: mask, patientGroup: group }, stem);
  // zenodo-slices' coronacases groups are Zenodo's patients; its radiopaedia groups are its own.
  assert.equal(zenodoSliceGroup('coronacases_001'), 'coronacases:001');
  assert.equal(zenodoSliceGroup('radiopaedia_D'), 'zenodo-slices:radiopaedia_D');
});

test('overlapWarnings: one warning per combined pair whose shared patients cannot all be matched', () => {
  const table: [SourceName[], number][] = [
    [['mosmed', 'medseg9'], 0],
    [['zenodo-slices', 'semiseg'], 0],
    [['zenodo', 'zenodo-slices'], 1],
    [['medseg100', 'semiseg'], 1],
    [['medseg9', 'zenodo', 'zenodo-slices'], 3],
    [['mosmed', 'medseg100', 'medseg9', 'zenodo', 'zenodo-slices', 'semiseg'], 4],
  ];
  for (const [sources, n] of table) assert.equal(overlapWarnings(sources).length, n, sources.join('+'));
  assert.match(overlapWarnings(['semiseg', 'medseg100'])[0]!, /^medseg100 \+ semiseg: .*inflates test scores/);
});

test('overlapFamily: unmatched overlapping groups share a family; matched or lone groups have none', () => {
  const all: SourceName[] = ['medseg100', 'medseg9', 'zenodo', 'zenodo-slices', 'semiseg'];
  const table: [SourceName, string, SourceName[], string | undefined][] = [
    ['zenodo', 'radiopaedia-case:10', all, 'overlap:radiopaedia'],
    ['zenodo', 'coronacases:001', all, undefined],
    ['zenodo-slices', 'zenodo-slices:radiopaedia_A', all, 'overlap:radiopaedia'],
    ['zenodo-slices', 'coronacases:003', all, undefined],
    ['medseg9', 'medseg9:1', all, 'overlap:radiopaedia'],
    ['medseg9', 'medseg9:1', ['medseg9', 'mosmed'], undefined],
    ['semiseg', 'semiseg:4', all, 'overlap:medseg-slices'],
    ['semiseg', 'semiseg:4', ['semiseg', 'zenodo-slices'], undefined],
    ['medseg100', 'medseg100:slice_000', all, 'overlap:medseg-slices'],
  ];
  for (const [source, group, included, family] of table) assert.equal(overlapFamily(source, group, included), family, `${source} ${group}`);
});
