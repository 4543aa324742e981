/** One test per error message of evaluation planning, running and the CLI. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDatabase } from '../../src/database/index.js';
import { writePng } from '../../src/io/raster.js';
import { loadSegmentationModel, type SegmentationModel } from '../../src/infer/segmentation-model.js';
import type { ModelSpec } from '../../src/infer/model-spec.js';
import { bestMedianWorstFigure, evaluateModel, planDatabaseEvaluation, planFolderEvaluation, poolCase, evaluateSlice } from '../../src/eval/index.js';
import { command } from '../../src/cli/commands/evaluate.js';
import { tinyModel, writeSliceSetLayout } from '../helpers/tiny-models.js';

const LESION_2D: ModelSpec = { task: 'lesion', dims: 2, inputSize: 32, inputTransform: 'clahe-v1', threshold: 0.5 };
let root: string;
let db: string;
let model: SegmentationModel;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'covseg-eval-errors-'));
  await writeSliceSetLayout(join(root, 'slices'), Array.from({ length: 10 }, (_, i) => ({ file: `${i}.png`, group: `p${i}`, lesionRadius: 3 })));
  db = join(root, 'db');
  await buildDatabase({ sources: [{ name: 'zenodo-slices', root: join(root, 'slices') }], out: db }, { sliceSize: 32, workers: 0, overview: false });
  await writeFile(join(root, 'lesion.onnx'), tinyModel(LESION_2D));
  model = await loadSegmentationModel(join(root, 'lesion.onnx'), { threads: 1 });
});

after(async () => {
  await model?.onnx.release();
  await rm(root, { recursive: true, force: true });
});

/** A folder pair Imgs/ + GT/ with the given file names (tiny valid PNGs). */
async function folderPair(name: string, images: string[], masks: string[], size = 32): Promise<{ images: string; masks: string }> {
  const dir = join(root, name);
  const png = { width: size, height: size, channels: 1 as const, data: new Uint8Array(size * size) };
  for (const [sub, files] of [['Imgs', images], ['GT', masks]] as const) {
    await mkdir(join(dir, sub), { recursive: true });
    for (const f of files) await writePng(join(dir, sub, f), png);
  }
  return { images: join(dir, 'Imgs'), masks: join(dir, 'GT') };
}

const dbErrors: { name: string; spec: ModelSpec; options: { split?: string; sources?: string[] }; message: RegExp }[] = [
  { name: 'unknown split', spec: LESION_2D, options: { split: 'testing' }, message: /db: unknown split 'testing'; use one of train, validation, test, all/ },
  { name: 'unknown source', spec: LESION_2D, options: { sources: ['kaggle'] }, message: /unknown source 'kaggle'; valid sources: mosmed, medseg100, medseg9, zenodo, zenodo-slices, zenodo-slice-stacks, semiseg, semiseg-pseudo, pseudo-labels/ },
  { name: 'no slices in the split', spec: LESION_2D, options: { sources: ['semiseg'] }, message: /the 'test' split \(sources semiseg\) has no 2D slices to evaluate; choose another --split or --sources/ },
  { name: 'a 3D model on a database without volumes', spec: { ...LESION_2D, dims: 3, inputTransform: 'method-3d' }, options: { split: 'all' }, message: /the database has no 3D volumes to evaluate; choose another --split or --sources, or build a 3D database/ },
];
for (const c of dbErrors) {
  test(`planDatabaseEvaluation error: ${c.name}`, async () => {
    await assert.rejects(planDatabaseEvaluation(db, c.spec, c.options), c.message);
  });
}

test('planDatabaseEvaluation error: not a database names the missing manifest', async () => {
  await assert.rejects(planDatabaseEvaluation(join(root, 'slices'), LESION_2D), /manifest\.json/);
});

test('planFolderEvaluation error: unmatched images and masks are all listed', async () => {
  const f = await folderPair('unmatched', ['1.png', '2.png', '3.png'], ['1.png', '3.png', '4.png', '5.png']);
  await assert.rejects(planFolderEvaluation(f, LESION_2D), (err: Error) => {
    assert.equal(err.name, 'CovsegError');
    assert.match(err.message, /images and masks do not match by name: 1 image\(s\) without a mask in .*GT: 2\.png; 2 mask\(s\) without an image in .*Imgs: 4\.png, 5\.png\. Name each mask like its image \(the extension may differ: Imgs\/12\.jpg ↔ GT\/12\.png\)/);
    return true;
  });
});

test('planFolderEvaluation error: images without lung masks when --lungs is given', async () => {
  const f = await folderPair('nolungs', ['1.png', '2.png'], ['1.png', '2.png']);
  await mkdir(join(root, 'nolungs', 'Lungs'));
  await copyFile(join(f.masks, '1.png'), join(root, 'nolungs', 'Lungs', '1.png'));
  await assert.rejects(planFolderEvaluation({ ...f, lungs: join(root, 'nolungs', 'Lungs') }, LESION_2D), /1 image\(s\) without a lung mask in .*Lungs: 2\.png/);
});

test('planFolderEvaluation error: two files of one name in a folder', async () => {
  const f = await folderPair('twice', ['7.png'], ['7.png']);
  await copyFile(join(f.images, '7.png'), join(f.images, '7.jpg'));
  await assert.rejects(planFolderEvaluation(f, LESION_2D), /Imgs: 7\.jpg and 7\.png have the same name; keep one file per slice/);
});

test('planFolderEvaluation error: no slices in the images folder', async () => {
  const f = await folderPair('empty', [], []);
  await assert.rejects(planFolderEvaluation(f, LESION_2D), /Imgs: no PNG or JPEG slices here; pass the folder that holds the slices/);
});

test('planFolderEvaluation error: a folder that does not exist', async () => {
  await assert.rejects(planFolderEvaluation({ images: join(root, 'nowhere'), masks: join(root, 'nowhere') }, LESION_2D), /nowhere: cannot list the images folder: .*; pass a folder of PNG\/JPEG files/);
});

test('planFolderEvaluation error: a 3D model, and --lungs with a lung model', async () => {
  const f = await folderPair('specs', ['1.png'], ['1.png']);
  await assert.rejects(planFolderEvaluation(f, { ...LESION_2D, dims: 3 }), /a folder of slices needs a 2D model, this one is 3D; evaluate 3D models on a database \(--db\)/);
  await assert.rejects(planFolderEvaluation({ ...f, lungs: f.masks }, { ...LESION_2D, task: 'lung' }), /--lungs is for a lesion model's in-lung Dice; a lung model's reference is given with --masks/);
});

test('evaluateModel error: a mask on another grid than its slice', async () => {
  const f = await folderPair('grids', ['1.png'], [], 32);
  await writePng(join(f.masks, '1.png'), { width: 16, height: 32, channels: 1, data: new Uint8Array(16 * 32) });
  const plan = await planFolderEvaluation(f, LESION_2D);
  await assert.rejects(evaluateModel(model, plan, {}), /GT\/1\.png: mask is 16×32 but its image .*Imgs\/1\.png is 32×32; a mask must be on its slice's grid/);
});

test('evaluateModel errors: threshold outside (0, 1), bad batch size, a plan of the other kind', async () => {
  const plan = await planDatabaseEvaluation(db, LESION_2D);
  await assert.rejects(evaluateModel(model, plan, { threshold: 1 }), /lesion\.onnx: threshold must be in \(0, 1\), got 1/);
  await assert.rejects(evaluateModel(model, plan, { batchSize: 0 }), /batch size must be a positive integer, got 0/);
  await assert.rejects(evaluateModel(model, { ...plan, dims: 3, cases: [] }, {}), /the model is 2D but the plan holds 3D cases; plan with the model's spec/);
});

test('bestMedianWorstFigure error: a case whose figure slice was not kept', () => {
  const c = poolCase([evaluateSlice({ prediction: [0], reference: [1] }, { id: 's', caseId: 'x', z: 0 })], { id: 'x', source: null, patientGroup: null, split: 'test', voxelMl: null });
  assert.throws(() => bestMedianWorstFigure([c], new Map()), /no figure slice kept for case x/);
  assert.throws(() => bestMedianWorstFigure([], new Map()), /bestMedianWorstFigure: no cases/);
});

const usage: [string[], RegExp][] = [
  [['--db', 'db'], /--model is required/],
  [['--model', 'm.onnx'], /give either --db DB or --images DIR --masks DIR/],
  [['--model', 'm.onnx', '--db', 'db', '--images', 'i', '--masks', 'g'], /give either --db DB or --images DIR --masks DIR/],
  [['--model', 'm.onnx', '--images', 'i'], /--images and --masks go together/],
  [['--model', 'm.onnx', '--images', 'i', '--masks', 'g', '--split', 'test'], /--split, --sources and --fold are for --db/],
  [['--model', 'm.onnx', '--db', 'db', '--split', 'testing'], /--split: 'testing' is not one of train, validation, test, all/],
  [['--model', 'm.onnx', '--db', 'db', '--threshold', '1.5'], /--threshold: invalid value '1\.5'/],
  [['--model', 'm.onnx', '--db', 'db', '--batch', '0'], /--batch: invalid value '0'/],
  [['--model', 'm.onnx', '--db', 'db', 'extra'], /unexpected argument 'extra'/],
];
for (const [argv, message] of usage) {
  test(`covseg evaluate usage error: ${message.source}`, async () => {
    await assert.rejects(command.run(argv), (err: Error) => err.name === 'UsageError' && message.test(err.message));
  });
}
