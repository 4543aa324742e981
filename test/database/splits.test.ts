import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSplits, makeSplits, seededShuffle, splitCounts, SPLIT_NAMES, type SplitCase, type SplitName } from '../../src/database/index.js';
import type { SourceName } from '../../src/datasets/index.js';

/** Cases of `groups` patient groups of one source, `perGroup` cases each. */
function cases(source: SourceName, groups: number, perGroup = 1, prefix: string = source): SplitCase[] {
  const out: SplitCase[] = [];
  for (let g = 0; g < groups; g++) for (let k = 0; k < perGroup; k++) out.push({ caseId: `${prefix}-${g}-${k}`, source, patientGroup: `${prefix}:${g}` });
  return out;
}

/** Fails when any patient group has cases in two subsets. */
function assertGroupsInOneSplit(all: readonly SplitCase[], caseSplit: Record<string, SplitName>): void {
  const seen = new Map<string, SplitName>();
  for (const c of all) {
    const s = caseSplit[c.caseId];
    assert.ok(s, `${c.caseId} has a split`);
    const prev = seen.get(c.patientGroup);
    assert.ok(prev === undefined || prev === s, `${c.patientGroup} is in ${prev} and ${s}`);
    seen.set(c.patientGroup, s!);
  }
}

test('splitCounts: validation and test get round(n · 10%), train the rest', () => {
  const f = { train: 0.8, validation: 0.1, test: 0.1 };
  const table: [number, [number, number, number]][] = [
    [0, [0, 0, 0]], [1, [1, 0, 0]], [4, [4, 0, 0]], [5, [3, 1, 1]], [9, [7, 1, 1]], [10, [8, 1, 1]], [18, [14, 2, 2]], [50, [40, 5, 5]], [1614, [1292, 161, 161]],
  ];
  for (const [n, [train, validation, test]] of table) assert.deepEqual(splitCounts(n, f), { train, validation, test }, `n = ${n}`);
});

test('seededShuffle is a deterministic permutation', () => {
  const items = Array.from({ length: 20 }, (_, i) => i);
  const a = seededShuffle(items, 42);
  assert.deepEqual(seededShuffle(items, 42), a);
  assert.deepEqual([...a].sort((x, y) => x - y), items);
  assert.notDeepEqual(seededShuffle(items, 43), a);
  assert.deepEqual(items, Array.from({ length: 20 }, (_, i) => i), 'input untouched');
});

test('makeSplits: patient-level, stratified by source, deterministic, no group in two splits', () => {
  // Zenodo volumes and zenodo-slices share the coronacases groups: they are stratified with Zenodo.
  const zenodo = Array.from({ length: 10 }, (_, g) => ({ caseId: `Case-${g}`, source: 'zenodo' as const, patientGroup: `coronacases:${g}` }));
  const slices = Array.from({ length: 10 }, (_, g) => Array.from({ length: 7 }, (_, k) => ({ caseId: `Slice-${g}-${k}`, source: 'zenodo-slices' as const, patientGroup: `coronacases:${g}` }))).flat();
  const all = [...cases('mosmed', 50), ...cases('medseg9', 9), ...zenodo, ...slices, ...cases('zenodo-slices', 8, 20, 'rp')];
  const s = makeSplits(all, { seed: 42 });
  assertGroupsInOneSplit(all, s.caseSplit);
  assert.deepEqual(s.strata['mosmed'], { train: 40, validation: 5, test: 5 });
  assert.deepEqual(s.strata['medseg9'], { train: 7, validation: 1, test: 1 });
  assert.deepEqual(s.strata['zenodo'], { train: 8, validation: 1, test: 1 });
  assert.deepEqual(s.strata['zenodo-slices'], { train: 6, validation: 1, test: 1 });
  assert.equal(SPLIT_NAMES.reduce((n, k) => n + s.cases[k].length, 0), all.length);
  assert.deepEqual(makeSplits(all, { seed: 42 }), s, 'same seed, same split');
  assert.notDeepEqual(makeSplits(all, { seed: 7 }).caseSplit, s.caseSplit, 'another seed, another split');
  // Adding a source leaves the other sources' assignments alone (each stratum has its own shuffle).
  const more = makeSplits([...all, ...cases('semiseg', 50)], { seed: 42 });
  for (const c of all) assert.equal(more.caseSplit[c.caseId], s.caseSplit[c.caseId], c.caseId);
});

test("makeSplits overlap 'merge': each unmatched overlap family is one split unit", () => {
  const all = [
    ...cases('medseg9', 9),
    { caseId: 'Z-rp', source: 'zenodo' as const, patientGroup: 'radiopaedia-case:10' },
    { caseId: 'Z-cc', source: 'zenodo' as const, patientGroup: 'coronacases:001' },
    ...cases('medseg100', 20),
    ...cases('semiseg', 20),
  ];
  const merged = makeSplits(all, { overlap: 'merge' });
  const splitOf = (pred: (c: SplitCase) => boolean) => new Set(all.filter(pred).map((c) => merged.caseSplit[c.caseId]));
  assert.equal(splitOf((c) => c.source === 'medseg9' || c.caseId === 'Z-rp').size, 1, 'all Radiopaedia material in one split');
  assert.equal(splitOf((c) => c.source === 'medseg100' || c.source === 'semiseg').size, 1, 'MedSeg slices and their SemiSeg crops in one split');
  assert.ok(merged.units.train.includes('overlap:radiopaedia') || merged.units.validation.includes('overlap:radiopaedia') || merged.units.test.includes('overlap:radiopaedia'));
  const warned = makeSplits(all, { overlap: 'warn' });
  assert.ok(new Set(cases('medseg100', 20).map((c) => warned.caseSplit[c.caseId])).size > 1, "'warn' splits the groups individually");
});

test('makeSplits errors', () => {
  assert.throws(() => makeSplits([], { fractions: { train: 0.8, validation: 0.1, test: 0.2 } }), /fractions must be ≥ 0 and sum to 1, got train 0.8, validation 0.1, test 0.2/);
  assert.throws(() => makeSplits([], { seed: 1.5 }), /seed must be an integer, got 1.5/);
});

test('loadSplits reads what makeSplits wrote; errors name the file and the key', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'covseg-splits-'));
  try {
    const s = makeSplits(cases('medseg9', 9), { seed: 3 });
    await writeFile(join(dir, 'splits.json'), JSON.stringify(s));
    assert.deepEqual(await loadSplits(dir), s);
    const { caseSplit: _drop, ...noCaseSplit } = s;
    await writeFile(join(dir, 'splits.json'), JSON.stringify(noCaseSplit));
    await assert.rejects(loadSplits(dir), /splits\.json: missing key 'caseSplit' \(object\); rebuild the database/);
    const moved = structuredClone(s);
    const id = moved.cases.train[0]!;
    moved.caseSplit[id] = 'test';
    await writeFile(join(dir, 'splits.json'), JSON.stringify(moved));
    await assert.rejects(loadSplits(join(dir, 'splits.json')), new RegExp(`key 'cases.train' lists ${id}, which caseSplit puts in 'test'`));
    await assert.rejects(loadSplits(join(dir, 'nope')), /nope\/splits\.json: cannot read the database splits: ENOENT/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('pseudo-labels (a train-only source) only train, move no other group, and are left out where their patient is held out', () => {
  const expert = cases('zenodo-slices', 20);
  const before = makeSplits(expert, { seed: 3 });
  const held = expert.find((c) => before.caseSplit[c.caseId] === 'test')!;
  const trained = expert.find((c) => before.caseSplit[c.caseId] === 'train')!;
  const pseudo: SplitCase[] = [
    ...cases('pseudo-labels', 30, 2),
    { caseId: 'pl-held', source: 'pseudo-labels', patientGroup: held.patientGroup },
    { caseId: 'pl-trained', source: 'pseudo-labels', patientGroup: trained.patientGroup },
  ];
  const s = makeSplits([...expert, ...pseudo], { seed: 3 });
  for (const c of expert) assert.equal(s.caseSplit[c.caseId], before.caseSplit[c.caseId], `${c.caseId} stays where it was`);
  for (const c of pseudo.filter((p) => p.caseId !== 'pl-held')) assert.equal(s.caseSplit[c.caseId], 'train', c.caseId);
  assert.equal(s.caseSplit['pl-held'], undefined, 'in no subset');
  assert.match(s.leftOut?.['pl-held'] ?? '', new RegExp(`^patient group '${held.patientGroup}' is in the test split \\(source zenodo-slices\\): a pseudo-labels case may only train`));
  assert.deepEqual(Object.keys(s.leftOut ?? {}), ['pl-held']);
  assert.deepEqual(s.strata['pseudo-labels'], { train: 30, validation: 0, test: 0 }, 'its own groups, all train');
  assert.deepEqual(s.strata['zenodo-slices'], before.strata['zenodo-slices']);
  assert.equal(s.cases.train.length, before.cases.train.length + 61);
  assert.ok(s.cases.train.includes('pl-trained'));
  // Alone in a database, pseudo-labels are all train (nothing to validate or test on).
  const alone = makeSplits(cases('pseudo-labels', 12));
  assert.deepEqual([alone.cases.validation.length, alone.cases.test.length, alone.cases.train.length], [0, 0, 12]);
});
