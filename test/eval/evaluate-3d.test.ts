/**
 * End to end, 3D: a tiny random 3D U-Net over the volumes of a database built by
 * build-db. Each case's counts must equal those counted by hand from `predictVolume3d`
 * on the database CT, over the whole volume.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDatabase } from '../../src/database/index.js';
import { readVolume } from '../../src/io/index.js';
import { percentiles, voxelVolumeMl } from '../../src/volume/index.js';
import { loadSegmentationModel, type SegmentationModel } from '../../src/infer/segmentation-model.js';
import { predictVolume3d } from '../../src/infer/volume-inferer.js';
import { evaluateModel, planDatabaseEvaluation } from '../../src/eval/index.js';
import { writeMedseg9Layout } from '../helpers/synthetic-datasets.js';
import { tinyModel } from '../helpers/tiny-models.js';

let root: string;
let db: string;
let model: SegmentationModel;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'covseg-eval3d-'));
  await writeMedseg9Layout(join(root, 'medseg9'), [1], [24, 24, 6]);
  db = join(root, 'db');
  await buildDatabase({ sources: [{ name: 'medseg9', root: join(root, 'medseg9') }], out: db }, { dims: [16, 16, 4], workers: 0, overview: false });
  await writeFile(join(root, 'lesion3d.onnx'), tinyModel({ task: 'lesion', dims: 3, inputSize: 320, inputTransform: 'method-3d', threshold: 0.5 }, { baseFilters: 2, depth: 1 }));
  model = await loadSegmentationModel(join(root, 'lesion3d.onnx'));
});

after(async () => {
  await model?.onnx.release();
  await rm(root, { recursive: true, force: true });
});

test('3D: a case is a volume; its counts, Dice, mL and listed slices match predictVolume3d counted by hand', async () => {
  const plan = await planDatabaseEvaluation(db, model.spec, { split: 'all' });
  if (plan.dims !== 3) throw new Error('a 3D model gets a 3D plan');
  assert.equal(plan.cases.length, 1);
  const first = plan.cases[0]!;
  const ct = await readVolume(first.image);
  const prob = (await predictVolume3d(model, ct, { preprocessed: true })).data;
  // A random network's probabilities cluster; cut at their median so predictions are neither empty nor full.
  const level = percentiles(prob, [50])[0]!;
  const { evaluation, figureSlices } = await evaluateModel(model, plan, { threshold: level });
  const ref = (await readVolume(first.reference)).data;
  const lung = (await readVolume(first.lungMask!)).data;
  const whole = { tp: 0, fp: 0, fn: 0, tn: 0 };
  const inLungs = { tp: 0, fp: 0, fn: 0, tn: 0 };
  const plane = ct.dims[0] * ct.dims[1];
  const listed = new Set<number>();
  let bestZ = -1;
  let bestRef = -1;
  for (let z = 0; z < ct.dims[2]; z++) {
    let refHere = 0;
    let anyHere = 0;
    for (let i = z * plane; i < (z + 1) * plane; i++) {
      // Predictions count only inside the lungs (as covseg segment reports them).
      const p = prob[i]! > level && lung[i] !== 0;
      const r = ref[i]! !== 0;
      const key = p && r ? 'tp' : p ? 'fp' : r ? 'fn' : 'tn';
      whole[key]++;
      if (lung[i]) inLungs[key]++;
      refHere += r ? 1 : 0;
      anyHere += p || r ? 1 : 0;
    }
    if (anyHere) listed.add(z);
    if (refHere > bestRef) [bestZ, bestRef] = [z, refHere];
  }
  const got = evaluation.cases.find((c) => c.id === first.info.id)!;
  assert.deepEqual(got.confusion, whole);
  assert.deepEqual(got.confusion_in_lungs, inLungs);
  assert.equal(got.slices, ct.dims[2], 'every axial slice pools into the case');
  assert.ok(Math.abs(got.dice - (2 * whole.tp) / (2 * whole.tp + whole.fp + whole.fn)) < 1e-12);
  assert.ok(Math.abs(got.reference_ml - (whole.tp + whole.fn) * voxelVolumeMl(ct)) < 1e-9, 'mL from the database voxel size');
  assert.deepEqual(new Set(evaluation.slices.filter((s) => s.caseId === first.info.id).map((s) => s.z)), listed, 'only slices with reference or prediction are listed');
  assert.equal(figureSlices.get(first.info.id)!.sliceId, `${first.info.id}_z${String(bestZ).padStart(3, '0')}`, 'figure slice: the most reference voxels');
  assert.ok(whole.tp + whole.fp > 0 && whole.fp + whole.tn > 0, 'mixed prediction');
});
