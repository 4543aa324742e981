import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEvaluation, compareDims, dimsComparisonMarkdown, evaluateSlice, onePerSplitFigure, poolCase, volumeSliceIds, type CaseInfo, type SliceResult } from '../../src/eval/index.js';
import type { ModelSpec } from '../../src/infer/model-spec.js';
import type { Manifest } from '../../src/database/index.js';

const SPEC_2D: ModelSpec = { task: 'lesion', dims: 2, inputSize: 32, inputTransform: 'clahe-v1', threshold: 0.5 };
const SPEC_3D: ModelSpec = { task: 'lesion', dims: 3, inputSize: 32, inputTransform: 'method-3d', threshold: 0.5 };

/** A slice whose prediction hits `tp` of `ref` reference pixels and adds `fp` false ones (16 pixels). */
function slice(id: string, caseId: string, z: number, ref: number, tp: number, fp: number): SliceResult {
  const reference = new Uint8Array(16);
  const prediction = new Uint8Array(16);
  for (let i = 0; i < ref; i++) reference[i] = 1;
  for (let i = 0; i < tp; i++) prediction[i] = 1;
  for (let i = 0; i < fp; i++) prediction[15 - i] = 1;
  return evaluateSlice({ prediction, reference }, { id, caseId, z });
}

function evaluation(spec: ModelSpec, slices: SliceResult[], infos: CaseInfo[]) {
  const cases = infos.map((info) => poolCase(slices.filter((s) => s.caseId === info.id), info));
  return buildEvaluation(cases, slices, { model: { file: `m${spec.dims}d.onnx`, spec }, data: { kind: 'database', db: 'DB', split: 'all', sources: null }, threshold: 0.5, date: '2026-01-01', warnings: [], lungMask: 'reference' });
}

test('compareDims: a stacked volume is paired with its own 2D slices only (not the rest of its group); scores pooled and per slice, mean ± std per split', () => {
  const manifest = {
    cases: [
      { caseId: 'Case-0000', kind: 'volume', patientGroup: 'coronacases:004', stack: ['0404.png', '0405.png'], inputFiles: { image: '/d/ct/0404.png' } },
      { caseId: 'Case-0001', kind: 'volume', patientGroup: 'coronacases:008', inputFiles: { image: '/d/x.nii.gz' } },
      { caseId: 'Slice-00000', kind: 'slice', patientGroup: 'coronacases:004', inputFiles: { image: '/d/ct/0403.png' } },
      { caseId: 'Slice-00001', kind: 'slice', patientGroup: 'coronacases:004', inputFiles: { image: '/d/ct/0404.png' } },
      { caseId: 'Slice-00002', kind: 'slice', patientGroup: 'coronacases:004', inputFiles: { image: '/d/ct/0405.png' } },
      { caseId: 'Slice-00003', kind: 'slice', patientGroup: 'coronacases:008', inputFiles: { image: '/d/ct/0900.png' } },
    ],
  } as unknown as Manifest;
  const ids = volumeSliceIds(manifest);
  assert.deepEqual([...ids.get('Case-0000')!], ['Slice-00001', 'Slice-00002']);
  assert.equal(ids.get('Case-0001'), undefined);

  const e2d = evaluation(SPEC_2D, [
    slice('Slice-00000', 'coronacases:004', 0, 8, 0, 0), // outside the stack: must not count
    slice('Slice-00001', 'coronacases:004', 0, 8, 8, 0), // Dice 1
    slice('Slice-00002', 'coronacases:004', 0, 8, 4, 0), // Dice 2·4/(8+4) = 0.667
    slice('Slice-00003', 'coronacases:008', 0, 4, 2, 2), // Dice 0.5
  ], [
    { id: 'coronacases:004', source: 'zenodo-slices', patientGroup: 'coronacases:004', split: 'train', voxelMl: null },
    { id: 'coronacases:008', source: 'zenodo-slices', patientGroup: 'coronacases:008', split: 'validation', voxelMl: null },
  ]);
  const e3d = evaluation(SPEC_3D, [
    slice('Case-0000_z010', 'Case-0000', 10, 8, 8, 8), // Dice 0.667
    slice('Case-0000_z011', 'Case-0000', 11, 0, 0, 2), // no reference: not a per-slice score
    slice('Case-0001_z020', 'Case-0001', 20, 4, 4, 0), // Dice 1
  ], [
    { id: 'Case-0000', source: 'zenodo-slice-stacks', patientGroup: 'coronacases:004', split: 'train', voxelMl: 0.003645 },
    { id: 'Case-0001', source: 'zenodo', patientGroup: 'coronacases:008', split: 'validation', voxelMl: 0.003645 },
  ]);
  const cmp = compareDims(e3d, e2d, ids);
  assert.deepEqual(cmp.unmatched, []);
  const [a, b] = cmp.rows;
  assert.equal(a!.d2.slices, 2);
  assert.equal(a!.d2.dice.toFixed(4), (24 / 28).toFixed(4)); // pooled: 2·12 / (2·12 + 0 + 4)
  assert.equal(a!.d2.sliceDiceMean.toFixed(4), ((1 + 2 / 3) / 2).toFixed(4));
  assert.equal(a!.d3.slices, 1);
  assert.equal(a!.d3.dice.toFixed(4), (16 / 26).toFixed(4)); // the whole volume, the FP-only slice included
  assert.equal(b!.d2.slices, 1);
  assert.equal(b!.d3.dice, 1);
  assert.deepEqual(cmp.splits.map((s) => [s.split, s.cases]), [['train', 1], ['validation', 1]]);
  const md = dimsComparisonMarkdown(cmp);
  assert.match(md, /\| Case-0000 \| coronacases:004 \| train \| 2 \| 0\.86 \| 0\.83 ± 0\.24 \| 1 \| 0\.62 \| 0\.67 ± 0\.00 \|/);
  assert.match(md, /\| validation \| 1 \| 0\.50 ± 0\.00 \| 0\.50 ± 0\.00 \| 1\.00 ± 0\.00 \| 1\.00 ± 0\.00 \| 0\.52 \| 0\.43 \|/);
  assert.throws(() => compareDims(e2d, e3d), /needs a 3D and a 2D evaluation, got 2D and 3D/);
});

test('onePerSplitFigure: one panel per split (its median case); a case without a kept slice is named', () => {
  const e3d = evaluation(SPEC_3D, [slice('Case-0000_z010', 'Case-0000', 10, 8, 8, 0), slice('Case-0001_z001', 'Case-0001', 1, 8, 4, 0)], [
    { id: 'Case-0000', source: 'zenodo-slice-stacks', patientGroup: 'coronacases:004', split: 'train', voxelMl: 1 },
    { id: 'Case-0001', source: 'zenodo-slice-stacks', patientGroup: 'coronacases:008', split: 'validation', voxelMl: 1 },
  ]);
  const fig = (id: string) => ({ caseId: id, sliceId: `${id}_z010`, width: 4, height: 4, image: new Float32Array(16).fill(0.5), prediction: new Uint8Array(16), reference: new Uint8Array(16).fill(1), referenceVoxels: 16, predictedVoxels: 0 });
  const one = onePerSplitFigure(e3d.cases, new Map([['Case-0000', fig('Case-0000')], ['Case-0001', fig('Case-0001')]]));
  const single = onePerSplitFigure(e3d.cases.slice(0, 1), new Map([['Case-0000', fig('Case-0000')]]));
  assert.ok(one.width > 1.9 * single.width, `${one.width} vs ${single.width}`);
  assert.throws(() => onePerSplitFigure(e3d.cases, new Map()), /no figure slice kept for case Case-0000/);
});

test('covseg evaluate: --compare needs --versus, and --versus is for --db (usage errors before any model is read)', async () => {
  const { command } = await import('../../src/cli/commands/evaluate.js');
  await assert.rejects(command.run(['--model', 'm3d.onnx', '--db', 'DB', '--compare', 'out.md']), (err: Error) => err.name === 'UsageError' && err.message === '--compare needs --versus M2D.onnx');
  await assert.rejects(command.run(['--model', 'm3d.onnx', '--images', 'I', '--masks', 'M', '--versus', 'm2d.onnx']), (err: Error) => err.name === 'UsageError' && /^--versus is for --db/.test(err.message));
});
