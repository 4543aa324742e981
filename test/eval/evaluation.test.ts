/** The pure chain: slice → case (pooled) → split summary → evaluation JSON and Table 2, with hand-computed answers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildEvaluation, casesTable, evaluateSlice, evaluationToJson, poolCase, summarizeCases, summaryLines,
  type CaseInfo, type EvaluationMeta, type SliceResult,
} from '../../src/eval/index.js';

const info = (id: string, extra: Partial<CaseInfo> = {}): CaseInfo => ({ id, source: null, patientGroup: null, split: 'test', voxelMl: null, ...extra });
const near = (a: number, b: number, what = '') => assert.ok(Math.abs(a - b) < 1e-9, `${what} ${a} vs ${b}`);

// Case A, two slices (4 pixels each):
//   s1 pred 1100 ref 1000 lung 1110 → TP1 FP1 FN0 TN2 (Dice 2/3); in lungs TP1 FP1 TN1
//   s2 pred 0000 ref 1100 lung 1111 → TP0 FP0 FN2 TN2 (Dice 0);   in lungs the same
//   pooled TP1 FP1 FN2 TN4: Dice 2/(2+1+2) = 0.4, not the slices' mean 1/3.
const A1 = evaluateSlice({ prediction: [1, 1, 0, 0], reference: [1, 0, 0, 0], lungMask: [1, 1, 1, 0] }, { id: 'A1', caseId: 'A', z: 0 });
const A2 = evaluateSlice({ prediction: [0, 0, 0, 0], reference: [1, 1, 0, 0], lungMask: [1, 1, 1, 1] }, { id: 'A2', caseId: 'A', z: 1 });
// Case B: empty reference, empty prediction (Dice 1). Case C: empty reference, one predicted pixel (Dice 0).
const B1 = evaluateSlice({ prediction: [0, 0], reference: [0, 0] }, { id: 'B1', caseId: 'B', z: 0 });
const C1 = evaluateSlice({ prediction: [1, 0], reference: [0, 0] }, { id: 'C1', caseId: 'C', z: 0 });
const A = poolCase([A1, A2], info('A', { source: 'zenodo-slices', patientGroup: 'p:A' }));
const B = poolCase([B1], info('B', { split: 'validation' }));
const C = poolCase([C1], info('C', { voxelMl: 0.5 }));

test('slice scores: whole image and inside the lungs', () => {
  assert.deepEqual(A1.confusion, { tp: 1, fp: 1, fn: 0, tn: 2 });
  assert.deepEqual(A1.confusion_in_lungs, { tp: 1, fp: 1, fn: 0, tn: 1 });
  near(A1.dice, 2 / 3);
  near(A1.dice_in_lungs, 2 / 3);
  assert.equal(A2.dice, 0);
  assert.deepEqual([A1.reference_voxels, A1.predicted_voxels, A2.reference_voxels, A2.predicted_voxels], [1, 2, 2, 0]);
  assert.ok(Number.isNaN(B1.dice_in_lungs) && B1.confusion_in_lungs === null, 'no lung mask: no in-lung Dice');
});

const caseTable: { name: string; got: () => ReturnType<typeof poolCase>; want: Record<string, number> }[] = [
  { name: 'pooled counts, not the mean of slice Dice', got: () => A, want: { slices: 2, dice: 0.4, dice_in_lungs: 0.4, sensitivity: 1 / 3, specificity: 4 / 5, precision: 0.5, slice_dice_mean: 1 / 3, reference_voxels: 3, predicted_voxels: 2 } },
  { name: 'empty reference and empty prediction: Dice 1, sensitivity and precision undefined', got: () => B, want: { slices: 1, dice: 1, sensitivity: NaN, precision: NaN, specificity: 1, slice_dice_mean: 1, reference_voxels: 0, predicted_voxels: 0 } },
  { name: 'empty reference with a prediction: Dice 0, precision 0', got: () => C, want: { slices: 1, dice: 0, sensitivity: NaN, precision: 0, specificity: 0.5, reference_voxels: 0, predicted_voxels: 1, reference_ml: 0, predicted_ml: 0.5 } },
];
for (const c of caseTable) {
  test(`poolCase: ${c.name}`, () => {
    const got = c.got() as unknown as Record<string, number>;
    for (const [key, value] of Object.entries(c.want)) {
      if (Number.isNaN(value)) assert.ok(Number.isNaN(got[key]), `${key} should be NaN, is ${got[key]}`);
      else near(got[key]!, value, key);
    }
  });
}

test('poolCase: in-lung Dice only when every slice has a lung mask; volumes in mL only with a voxel size', () => {
  const mixed = poolCase([A1, B1], info('M'));
  assert.ok(Number.isNaN(mixed.dice_in_lungs) && mixed.confusion_in_lungs === null);
  assert.ok(Number.isNaN(A.reference_ml), 'PNG slices: no mL');
  assert.deepEqual([A.id, A.source, A.patientGroup, A.split], ['A', 'zenodo-slices', 'p:A', 'test']);
  assert.throws(() => poolCase([], info('E')), /case E has no slices to pool/);
});

test('summarizeCases: mean ± sample std, median, range, pooled Dice, empty-case counts', () => {
  const s = summarizeCases([A, B, C], [A1, A2, B1, C1]);
  // Dice 0.4, 1, 0: mean m = 1.4/3; sample std sqrt(((0.4−m)² + (1−m)² + m²) / 2) = sqrt((0.004444 + 0.284444 + 0.217778) / 2) = sqrt(0.76/3).
  near(s.dice_mean, 1.4 / 3);
  near(s.dice_std, Math.sqrt(0.76 / 3), 'std');
  assert.deepEqual([s.dice_median, s.dice_min, s.dice_max, s.dice_n, s.n, s.slices], [0.4, 0, 1, 3, 3, 4]);
  // Sensitivity defined for A only; precision for A (0.5) and C (0): mean 0.25, std sqrt(2·0.25²) = 0.35355.
  assert.deepEqual([s.sensitivity_n, s.precision_n], [1, 2]);
  near(s.sensitivity_mean, 1 / 3);
  assert.equal(s.sensitivity_std, 0);
  near(s.precision_std, Math.sqrt(0.125));
  // Pooled: TP1 FP1 FN2 (A) + FP1 (C): 2/(2 + 2 + 2) = 1/3; in lungs only A has masks: 0.4.
  near(s.pooled_dice, 1 / 3);
  near(s.pooled_dice_in_lungs, 0.4);
  assert.deepEqual([s.dice_in_lungs_n, s.emptyReference, s.emptyBoth], [1, 2, 1]);
  // Per slice: 2/3, 0, 1, 0.
  near(s.slice_dice_mean, 5 / 12);
  assert.equal(s.slice_dice_n, 4);
  // Slices of other cases are ignored.
  assert.equal(summarizeCases([B], [A1, A2, B1, C1]).slices, 1);
  assert.throws(() => summarizeCases([], []), /no cases to summarise/);
});

const META: EvaluationMeta = {
  model: { file: 'runs/x/model.onnx', spec: { task: 'lesion', dims: 2, inputSize: 32, inputTransform: 'clahe-v1', threshold: 0.5 } },
  data: { kind: 'database', db: 'db', split: 'all', sources: null },
  threshold: 0.5,
  date: '2026-01-02T03:04:05.000Z',
  warnings: [],
  lungMask: 'reference',
};

test('buildEvaluation: per-split summaries in train, validation, test order; JSON keys and NaN as null', () => {
  const ev = buildEvaluation([A, B, C], [A1, A2, B1, C1], META);
  assert.deepEqual(Object.keys(ev.splits), ['validation', 'test']);
  assert.deepEqual([ev.splits['validation']!.n, ev.splits['test']!.n, ev.summary.n], [1, 2, 3]);
  const json = JSON.parse(evaluationToJson(ev)) as Record<string, unknown> & { summary: Record<string, unknown>; cases: Record<string, unknown>[]; slices: unknown[] };
  assert.deepEqual(Object.keys(json), ['format', 'version', 'date', 'model', 'data', 'task', 'threshold', 'lungMask', 'definitions', 'warnings', 'summary', 'splits', 'cases', 'slices']);
  const stats = ['mean', 'std', 'median', 'min', 'max', 'n'];
  assert.deepEqual(Object.keys(json.summary).sort(), [
    'n', 'slices', 'pooled_dice', 'pooled_dice_in_lungs', 'emptyReference', 'emptyBoth',
    ...['dice', 'dice_in_lungs', 'sensitivity', 'specificity', 'precision', 'slice_dice'].flatMap((m) => stats.map((s) => `${m}_${s}`)),
  ].sort());
  assert.deepEqual(Object.keys(json.cases[0]!), ['id', 'source', 'patientGroup', 'split', 'slices', 'dice', 'dice_in_lungs', 'sensitivity', 'specificity', 'precision', 'reference_voxels', 'predicted_voxels', 'slice_dice_mean', 'reference_ml', 'predicted_ml', 'confusion', 'confusion_in_lungs']);
  assert.equal(json.cases[1]!['sensitivity'], null, 'NaN is written as null');
  assert.equal(json.slices.length, 4);
  assert.equal(json['task'], 'lesion');
});

test('casesTable: one row per case, then mean ± std, median [min, max], pooled and per-slice rows (hand-computed)', () => {
  const ev = buildEvaluation([A, C], [A1, A2, C1], META);
  // Dice 0.4, 0 → 0.20 ± 0.28; precision 0.5, 0 → 0.25 ± 0.35; per slice 2/3, 0, 0 → 0.22 ± 0.38; pooled 1/3.
  assert.equal(casesTable(ev), [
    '| case | source | patient group | split | slices | Dice | Dice in lungs | sensitivity | precision | lesion (mL or px) |',
    '|---|---|---|---|---:|---:|---:|---:|---:|---:|',
    '| A | zenodo-slices | p:A | test | 2 | 0.40 | 0.40 | 0.33 | 0.50 | 3 px |',
    '| C | – | – | test | 1 | 0.00 | – | – | 0.00 | 0.0 mL |',
    '| **test: mean ± std** (n = 2) |  |  |  | 3 | 0.20 ± 0.28 | 0.40 ± 0.00 | 0.33 ± 0.00 | 0.25 ± 0.35 |  |',
    '| **test: median [min, max]** |  |  |  |  | 0.20 [0.00, 0.40] | 0.40 [0.40, 0.40] | 0.33 [0.33, 0.33] | 0.25 [0.00, 0.50] |  |',
    '| **test: pooled** |  |  |  |  | 0.33 | 0.40 |  |  |  |',
    '| **test: per slice** (n = 3) |  |  |  |  | 0.22 ± 0.38 |  |  |  |  |',
  ].join('\n'));
  assert.deepEqual(summaryLines(ev), ['test: Dice 0.20 ± 0.28 (median 0.20, pooled 0.33), in lungs 0.40 ± 0.00, per-slice mean 0.22 ± 0.38, sensitivity 0.33 ± 0.00, precision 0.25 ± 0.35 — n = 2 cases, 3 slices, 1 empty reference (0 both empty)']);
});

test('casesTable: a lung model has no in-lung column; several splits add an "all" block', () => {
  const ev = buildEvaluation([A, B], [A1, A2, B1], { ...META, model: { ...META.model, spec: { ...META.model.spec, task: 'lung' } } });
  const lines = casesTable(ev, { decimals: 3 }).split('\n');
  assert.equal(lines[0], '| case | source | patient group | split | slices | Dice | sensitivity | precision | lung (mL or px) |');
  assert.equal(lines[2], '| A | zenodo-slices | p:A | test | 2 | 0.400 | 0.333 | 0.500 | 3 px |');
  assert.deepEqual(lines.filter((l) => l.includes('mean ± std')).map((l) => l.split(' | ')[0]), ['| **validation: mean ± std** (n = 1)', '| **test: mean ± std** (n = 1)', '| **all: mean ± std** (n = 2)']);
  assert.ok(ev.definitions[1]!.startsWith('reference = lung mask'));
});
