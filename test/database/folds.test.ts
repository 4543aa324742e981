import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeFoldSplits, parseFold, type SplitCase } from '../../src/database/index.js';

/** A tiny database's cases: 6 coronacases patients in two renderings, 4 Radiopaedia groups, 10 SemiSeg slices. */
function cases(): SplitCase[] {
  const out: SplitCase[] = [];
  let n = 0;
  const add = (source: SplitCase['source'], patientGroup: string, k = 1) => {
    for (let i = 0; i < k; i++) out.push({ caseId: `Slice-${String(++n).padStart(5, '0')}`, source, patientGroup });
  };
  for (let p = 1; p <= 6; p++) add('zenodo-slices', `coronacases:00${p}`, 3);
  for (const g of ['A', 'B', 'C', 'D']) add('zenodo-slices', `zenodo-slices:radiopaedia_${g}`, 2);
  for (let i = 0; i < 10; i++) add('semiseg', `semiseg:${i}`);
  for (let p = 1; p <= 6; p++) add('semiseg-pseudo', `coronacases:00${p}`, 2);
  return out;
}

test('out=semiseg: the SemiSeg slices are the test set, nothing of them trains; the others split train/validation by group', () => {
  const all = cases();
  const s = makeFoldSplits(all, parseFold('out=semiseg'));
  const semiseg = all.filter((c) => c.source === 'semiseg').map((c) => c.caseId);
  assert.deepEqual(s.cases.test, semiseg);
  assert.ok(s.cases.validation.length > 0 && s.cases.train.length > 0);
  // 'semiseg' does not catch 'semiseg-pseudo'.
  assert.ok(all.filter((c) => c.source === 'semiseg-pseudo').every((c) => s.caseSplit[c.caseId] !== 'test'));
});

test('out=coronacases: every coronacases patient, in both renderings, is test; a group never spans two subsets', () => {
  const all = cases();
  const s = makeFoldSplits(all, parseFold('out=coronacases'));
  for (const c of all) assert.equal(s.caseSplit[c.caseId] === 'test', c.patientGroup.startsWith('coronacases:'), c.caseId);
  const byGroup = new Map<string, Set<string>>();
  for (const c of all) byGroup.set(c.patientGroup, (byGroup.get(c.patientGroup) ?? new Set()).add(s.caseSplit[c.caseId]!));
  for (const [g, subsets] of byGroup) assert.equal(subsets.size, 1, g);
});

test('kK/I: the K test folds partition the patient groups, stratified by source; validation is the next fold', () => {
  const all = cases();
  const groups = new Set(all.map((c) => c.patientGroup));
  const seen = new Map<string, number>();
  for (let f = 1; f <= 4; f++) {
    const s = makeFoldSplits(all, parseFold(`k4/${f}`));
    const next = makeFoldSplits(all, parseFold(`k4/${(f % 4) + 1}`));
    assert.deepEqual(s.units.validation, next.units.test);
    for (const u of s.units.test) seen.set(u, (seen.get(u) ?? 0) + 1);
    const semisegTest = s.units.test.filter((u) => u.startsWith('semiseg:')).length;
    assert.ok(semisegTest === 2 || semisegTest === 3, `fold ${f}: ${semisegTest} SemiSeg groups`);
  }
  assert.equal(seen.size, groups.size);
  assert.ok([...seen.values()].every((n) => n === 1));
});

test('parseFold refuses what it cannot read, naming both forms', () => {
  assert.throws(() => parseFold('semiseg'), /out=NAME.*kK\/I/);
  assert.throws(() => parseFold('k5/6'), /1 ≤ I ≤ K/);
  assert.throws(() => makeFoldSplits(cases(), parseFold('out=mosmed')), /no case of source 'mosmed'/);
});

test('folds: pseudo-labels only ever train; those of a held-out patient are in no subset', () => {
  const all = cases();
  const pseudo: SplitCase[] = [
    ...[1, 2, 3].map((p) => ({ caseId: `PL-own-${p}`, source: 'pseudo-labels' as const, patientGroup: `pseudo-labels:${p}` })),
    ...[1, 2, 3, 4, 5, 6].map((p) => ({ caseId: `PL-cc-${p}`, source: 'pseudo-labels' as const, patientGroup: `coronacases:00${p}` })),
  ];
  for (const fold of ['out=coronacases', 'k3/1', 'k3/2', 'k3/3']) {
    const expert = makeFoldSplits(all, parseFold(fold));
    const s = makeFoldSplits([...all, ...pseudo], parseFold(fold));
    for (const c of all) assert.equal(s.caseSplit[c.caseId], expert.caseSplit[c.caseId], `${fold}: ${c.caseId} unmoved`);
    for (const c of pseudo) {
      const patient = all.find((a) => a.patientGroup === c.patientGroup);
      const patientSplit = patient && expert.caseSplit[patient.caseId];
      if (patientSplit === undefined || patientSplit === 'train') assert.equal(s.caseSplit[c.caseId], 'train', `${fold}: ${c.caseId}`);
      else assert.ok(s.caseSplit[c.caseId] === undefined && s.leftOut?.[c.caseId]?.includes(`in the ${patientSplit} split`), `${fold}: ${c.caseId} left out`);
    }
  }
  // out=coronacases: every coronacases pseudo-label is a test patient's, so none trains.
  const out = makeFoldSplits([...all, ...pseudo], parseFold('out=coronacases'));
  assert.deepEqual(Object.keys(out.leftOut ?? {}).sort(), pseudo.filter((c) => c.caseId.startsWith('PL-cc')).map((c) => c.caseId).sort());
  assert.throws(() => makeFoldSplits(pseudo.slice(0, 3), parseFold('out=pseudo-labels')), /fold out=pseudo-labels: the source only trains \(its lesion masks are a teacher model's predictions/);
});
