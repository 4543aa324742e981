import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GAP_RATIO,
  MIN_RUN_MM,
  STACK_SPACING_MM,
  adapterFor,
  cutRuns,
  findGaps,
  groupRuns,
  isStackable,
  loadCase,
  neighbourChange,
  readGroups,
  scanZenodoSliceStacks,
  scanZenodoSlices,
  stackSlices,
} from '../../src/datasets/index.js';
import { makeSplits } from '../../src/database/splits.js';
import { createVolume, type Vec3 } from '../../src/volume/volume.js';
import { needsShared, sharedPath } from '../helpers/shared-data.js';
import { SIZE, phantomSlice, writeSliceSet } from '../helpers/synthetic-slice-runs.js';

const asVolumes = (s: ReturnType<typeof phantomSlice>) => ({
  ct: createVolume(s.ct, [SIZE, SIZE, 1]),
  lung: createVolume(Uint8Array.from(s.lung, (v) => (v > 0 ? 1 : 0)), [SIZE, SIZE, 1]),
});

/** Changes between neighbours of slices at heights `zs` (mm), with per-slice gamma. */
function changesOf(zs: readonly number[], gamma: (k: number) => number = () => 1) {
  const slices = zs.map((z, k) => asVolumes(phantomSlice(z, gamma(k))));
  return slices.slice(1).map((s, k) => neighbourChange(slices[k]!, s));
}

test('gap detection: a run of 1 mm slices with two left-out stretches is cut exactly there; contrast jumps and lung-mask jitter alone are not gaps', () => {
  // Slices 0–29, then 45–89, then 120–159: two gaps (after index 29 and after index 74).
  const zs = [...Array.from({ length: 30 }, (_, i) => i), ...Array.from({ length: 45 }, (_, i) => 45 + i), ...Array.from({ length: 40 }, (_, i) => 120 + i)];
  const changes = changesOf(zs, (k) => (k === 10 || k === 50 ? 0.6 : 1));
  assert.deepEqual(findGaps(changes), [29, 74]);
  assert.deepEqual(cutRuns(zs.length, findGaps(changes)), [[0, 29], [30, 74], [75, 114]]);
  // The contrast jumps into and out of slices 10 and 50 change the image as much as a gap, but not the lungs: no cut.
  for (const k of [9, 10, 49, 50]) assert.ok(changes[k]!.image > GAP_RATIO * changes[5]!.image, `image change ${k}`);
  // A change on one signal only never cuts (an image jump with continuous lungs, or the reverse).
  const base = { image: 0.002, lung: 0.01 };
  const lungOnly = [base, base, { image: 0.002, lung: 0.5 }, base, base];
  const imageOnly = [base, base, { image: 0.5, lung: 0.01 }, base, base];
  assert.deepEqual(findGaps(lungOnly), []);
  assert.deepEqual(findGaps(imageOnly), []);
  assert.deepEqual(findGaps([base, base, { image: 0.5, lung: 0.5 }, base, base]), [2]);
  // Identical slices: medians of 0 are floored, so they are one run.
  assert.deepEqual(findGaps(changesOf([5, 5, 5, 5])), []);
});

test('cutRuns and the spacing rule: runs are inclusive, cover every slice once; a run is stacked from MIN_RUN_MM (72 mm = 16 slices of 4.5 mm) up', () => {
  assert.deepEqual(cutRuns(10, []), [[0, 9]]);
  assert.deepEqual(cutRuns(10, [0, 8]), [[0, 0], [1, 8], [9, 9]]);
  assert.deepEqual(cutRuns(0, []), []);
  assert.equal(MIN_RUN_MM, 16 * 4.5);
  assert.deepEqual(STACK_SPACING_MM, [1.4, 1.4, 1.0]);
  assert.equal(isStackable(72), true);
  assert.equal(isStackable(71), false);
  assert.equal(isStackable(16, 4.5), true);
  assert.equal(isStackable(15, 4.5), false);
});

test('stackSlices: slice k at z = k with the stack spacing, identity direction; a slice of another grid is refused', () => {
  const slices = [0, 1, 2].map((k) => createVolume(new Uint8Array(6).fill(k + 1), [3, 2, 1]));
  const vol = stackSlices(slices);
  assert.deepEqual(vol.dims, [3, 2, 3]);
  assert.deepEqual(vol.spacingMm, STACK_SPACING_MM);
  assert.ok(vol.data instanceof Uint8Array);
  assert.deepEqual([...vol.data], [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3]);
  assert.throws(() => stackSlices([slices[0]!, createVolume(new Uint8Array(4), [2, 2, 1])]), /slice 1 is 2×2×1, the first 3×2×1/);
});

test('zenodo-slice-stacks scan + load: coronacases runs ≥ 72 mm become volumes with the slices\' patient group; short runs and Radiopaedia groups are left out; no 2D slices', async () => {
  const root = await mkdtemp(join(tmpdir(), 'covseg-stacks-'));
  try {
    const range = (a: number, n: number) => Array.from({ length: n }, (_, i) => a + i);
    await writeSliceSet(root, {
      coronacases_001: [...range(0, 80), ...range(100, 20)], // a gap: runs of 80 (stacked) and 20 (too short)
      coronacases_002: range(0, 60), // too short
      radiopaedia_A: range(0, 90), // spacing unknown: never stacked
    });
    const scan = await scanZenodoSliceStacks(root);
    assert.deepEqual(scan.cases.map((c) => [c.originalId, c.kind, c.patientGroup, c.stack!.length]), [['coronacases_001_0000-0079', 'volume', 'coronacases:001', 80]]);
    assert.match(scan.notes[0]!, /^coronacases_001: 100 slices, 1 gap \(before 0080\.png\), runs of 80 \+ 20 slices, 1 stacked$/);
    assert.match(scan.notes.at(-1)!, /1 volumes of 80 slices .*; 2 runs shorter than 72 mm and 1 Radiopaedia group .* left to the 2D database/);
    // The slices source names the same patient: one split for the slices and the volume.
    const slices = await scanZenodoSlices(root);
    assert.equal(slices.cases[0]!.patientGroup, scan.cases[0]!.patientGroup);
    const loaded = await loadCase(scan.cases[0]!);
    assert.deepEqual(loaded.ct.dims, [SIZE, SIZE, 80]);
    assert.deepEqual(loaded.ct.spacingMm, STACK_SPACING_MM);
    assert.equal(loaded.isHu, false);
    const n = SIZE * SIZE;
    const z = 37;
    const want = phantomSlice(z);
    assert.deepEqual([...loaded.ct.data.subarray(z * n, (z + 1) * n)], [...want.ct]);
    assert.deepEqual([...loaded.lesionMask.data.subarray(z * n, (z + 1) * n)], [...want.lesion].map((v) => (v > 0 ? 1 : 0)));
    assert.equal(loaded.lungMask!.data.subarray(z * n, (z + 1) * n).reduce((a, v) => a + v, 0), want.lung.filter((v) => v > 0).length);
    assert.ok(adapterFor('zenodo-slice-stacks').no2dSlices);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('zenodo-slice-stacks: a folder without slices.csv or lungs/ is one line naming the folder', async () => {
  const root = await mkdtemp(join(tmpdir(), 'covseg-stacks-'));
  try {
    await mkdir(join(root, 'ct'));
    await mkdir(join(root, 'covid'));
    await assert.rejects(scanZenodoSliceStacks(root), (err: Error) => err.message.startsWith(`${root}: no lungs/ folder`));
    await mkdir(join(root, 'lungs'));
    await assert.rejects(scanZenodoSliceStacks(root), (err: Error) => err.message.startsWith(`${root}: no slices.csv`));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('splits: adding zenodo-slice-stacks to zenodo-slices moves no group, and a group\'s volume sits in its slices\' split', () => {
  const groups = Array.from({ length: 18 }, (_, i) => (i < 10 ? `coronacases:${String(i + 1).padStart(3, '0')}` : `zenodo-slices:radiopaedia_${'ABCDEFGH'[i - 10]}`));
  const sliceCases = groups.flatMap((g, i) => [0, 1].map((k) => ({ caseId: `Slice-${String(i * 2 + k).padStart(5, '0')}`, source: 'zenodo-slices' as const, patientGroup: g })));
  const volumeCases = groups.slice(0, 9).map((g, i) => ({ caseId: `Case-${String(i).padStart(4, '0')}`, source: 'zenodo-slice-stacks' as const, patientGroup: g }));
  const alone = makeSplits(sliceCases);
  const both = makeSplits([...volumeCases, ...sliceCases]);
  assert.deepEqual(both.units, alone.units);
  for (const c of sliceCases) assert.equal(both.caseSplit[c.caseId], alone.caseSplit[c.caseId]);
  for (const v of volumeCases) assert.equal(both.caseSplit[v.caseId], alone.caseSplit[sliceCases.find((s) => s.patientGroup === v.patientGroup)!.caseId]);
});

/**
 * The measured runs of the real groups (../shared/data/zenodo20-slices): gaps per group, and
 * which file follows each. Recorded so a change of the rule or the data shows here.
 */
const REAL_GAPS: Record<string, string[]> = {
  coronacases_001: [], coronacases_002: [], coronacases_003: [], coronacases_004: ['0404.png'], coronacases_005: ['0621.png'],
  coronacases_006: [], coronacases_007: ['0702.png'], coronacases_008: [], coronacases_009: [], coronacases_010: [],
  radiopaedia_A: [], radiopaedia_B: [], radiopaedia_C: [], radiopaedia_D: ['1474.png', '1475.png', '1476.png', '1477.png'],
  radiopaedia_E: [], radiopaedia_F: [], radiopaedia_G: [], radiopaedia_H: [],
};

test('zenodo-slice-stacks (real): gaps and runs per group are stable; 9 volumes of 1,159 slices', { skip: needsShared('zenodo20-slices') }, async () => {
  const root = sharedPath('zenodo20-slices');
  // The coronacases groups' gaps from the scan's notes, the Radiopaedia groups' (never stacked) measured here.
  const scan = await scanZenodoSliceStacks(root);
  const found: Record<string, string[]> = {};
  for (const note of scan.notes) {
    const m = note.match(/^(coronacases_\d+): \d+ slices, \d+ gaps?(?: \(before ([^)]*)\))?/);
    if (m) found[m[1]!] = m[2] ? m[2].split(', ') : [];
  }
  for (const [group, files] of await readGroups(root)) {
    if (group.startsWith('coronacases')) continue;
    const runs = await groupRuns(root, group, files);
    found[group] = runs.gaps.map((g) => runs.files[g + 1]!);
    assert.equal(runs.runs.length, runs.gaps.length + 1);
  }
  assert.deepEqual(found, REAL_GAPS);
  assert.deepEqual(scan.cases.map((c) => `${c.originalId}:${c.stack!.length}`), [
    'coronacases_001_0000-0158:159', 'coronacases_002_0159-0278:120', 'coronacases_003_0279-0396:118', 'coronacases_004_0404-0509:106',
    'coronacases_005_0510-0620:111', 'coronacases_007_0702-0788:87', 'coronacases_008_0789-0969:181', 'coronacases_009_0970-1080:111',
    'coronacases_010_1081-1246:166',
  ]);
  const dims: Vec3 = (await loadCase(scan.cases[5]!)).ct.dims;
  assert.deepEqual(dims, [256, 256, 87]);
});
