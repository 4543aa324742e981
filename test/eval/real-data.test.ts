/**
 * The --images/--masks layout on the real COVID-SemiSeg training half: JPEG slices of
 * varying sizes, palette-PNG masks (0 background, 1 GGO, 2 consolidation) and 0/255 masks.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodePng } from '../../src/io/raster.js';
import { loadSegmentationModel, type SegmentationModel } from '../../src/infer/segmentation-model.js';
import { evaluateModel, planFolderEvaluation } from '../../src/eval/index.js';
import { needsShared, sharedPath } from '../helpers/shared-data.js';
import { tinyModel } from '../helpers/tiny-models.js';

const SEMISEG = 'covid-semiseg/TrainingSet';
const skip = needsShared(SEMISEG);
let model: SegmentationModel;

before(async () => {
  model = await loadSegmentationModel(tinyModel({ task: 'lesion', dims: 2, inputSize: 64, inputTransform: 'clahe-v1', threshold: 0.5 }), { threads: 1 });
});

after(async () => {
  await model?.onnx.release();
});

/** Nonzero pixels of a PNG mask, decoded here without src/io's readImage. */
async function nonzero(path: string): Promise<number> {
  const img = decodePng(new Uint8Array(await readFile(path)));
  let n = 0;
  for (let i = 0; i < img.width * img.height; i++) if (img.data[i * img.channels] !== 0) n++;
  return n;
}

for (const [layout, masks] of [['palette masks (MultiClassInfection)', 'MultiClassInfection-Train'], ['0/255 masks (LungInfection)', 'LungInfection-Train/Doctor-label']] as const) {
  test(`COVID-SemiSeg, ${layout}: 50 slices matched by name, reference = nonzero pixels`, { skip }, async () => {
    const root = sharedPath(join(SEMISEG, masks));
    const plan = await planFolderEvaluation({ images: join(root, 'Imgs'), masks: join(root, 'GT') }, model.spec);
    if (plan.dims !== 2) throw new Error('a folder gives a 2D plan');
    assert.equal(plan.cases.length, 50);
    assert.deepEqual(plan.cases.slice(0, 3).map((c) => [c.info.id, c.slices[0]!.image.endsWith(`Imgs/${c.info.id}.jpg`), c.slices[0]!.reference.endsWith(`GT/${c.info.id}.png`)]), [['0', true, true], ['1', true, true], ['2', true, true]]);
    const { evaluation } = await evaluateModel(model, plan, { batchSize: 8 });
    assert.equal(evaluation.summary.n, 50);
    for (const c of plan.cases.slice(0, 10)) {
      assert.equal(evaluation.cases.find((x) => x.id === c.info.id)!.reference_voxels, await nonzero(c.slices[0]!.reference), `case ${c.info.id}`);
    }
    console.log(`random net on COVID-SemiSeg (${layout}): Dice ${evaluation.summary.dice_mean.toFixed(3)} ± ${evaluation.summary.dice_std.toFixed(3)}`);
  });
}
