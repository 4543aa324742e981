/**
 * End to end: a tiny random U-Net over a database built by build-db and over a folder of
 * slices. What must hold whatever the (random) network predicts: every number in the
 * evaluation equals the one counted by hand from `predictSlices` run on each slice alone.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, mkdir, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { buildDatabase } from '../../src/database/index.js';
import { readImage } from '../../src/io/index.js';
import { writePng } from '../../src/io/raster.js';
import { percentiles } from '../../src/volume/index.js';
import { loadSegmentationModel, type SegmentationModel } from '../../src/infer/segmentation-model.js';
import { predictSlices, predictSlicesFlipped, TTA_FLIPS } from '../../src/infer/slice-inferer.js';
import { evaluateModel, planDatabaseEvaluation, planFolderEvaluation, writeEvaluation, type Evaluation } from '../../src/eval/index.js';
import { command } from '../../src/cli/commands/evaluate.js';
import { tinyModel, writeSliceSetLayout, type SyntheticSlice } from '../helpers/tiny-models.js';
import { PROJECT_ROOT } from '../helpers/shared-data.js';

const CLI = join(PROJECT_ROOT, 'dist/src/cli/main.js');

let root: string;
let db: string;
let lesionModel: SegmentationModel;
let level: number;

// 10 patient groups (8 train, 1 validation, 1 test after the 80/10/10 split), 1–3 slices each.
const SLICES: SyntheticSlice[] = Array.from({ length: 18 }, (_, i) => ({ file: `${String(i).padStart(4, '0')}.png`, group: `p${i % 10}`, lesionRadius: 2 + (i % 4) * 2 }));

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'covseg-eval-'));
  await writeSliceSetLayout(join(root, 'slices'), SLICES);
  db = join(root, 'db');
  await buildDatabase({ sources: [{ name: 'zenodo-slices', root: join(root, 'slices') }], out: db }, { sliceSize: 32, workers: 0, overview: false });
  await writeFile(join(root, 'lesion.onnx'), tinyModel({ task: 'lesion', dims: 2, inputSize: 32, inputTransform: 'clahe-v1', threshold: 0.5 }));
  lesionModel = await loadSegmentationModel(join(root, 'lesion.onnx'), { threads: 1 });
  // A random network's probabilities cluster; cut at their median so predictions are neither empty nor full.
  const first = await readImage(join(db, '2d/images/Slice-00000.png'));
  level = percentiles((await predictSlices(lesionModel, first.volume)).data, [50])[0]!;
});

after(async () => {
  await lesionModel?.onnx.release();
  await rm(root, { recursive: true, force: true });
});

interface Counts { tp: number; fp: number; fn: number; tn: number }

/** TP/FP/FN/TN of one slice counted here, from predictSlices on that slice alone. */
async function handCounts(model: SegmentationModel, image: string, reference: string, cut: number, lungMask?: string, tta = false): Promise<{ whole: Counts; inLungs: Counts | null }> {
  const ct = (await readImage(image)).volume;
  const prob = (tta ? (await predictSlicesFlipped(model, ct, { flips: TTA_FLIPS })).probability : await predictSlices(model, ct)).data;
  const ref = (await readImage(reference)).volume.data;
  const lung = lungMask ? (await readImage(lungMask)).volume.data : undefined;
  const whole = { tp: 0, fp: 0, fn: 0, tn: 0 };
  const inLungs = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (let i = 0; i < prob.length; i++) {
    // A lesion model's prediction counts only inside the lungs (as covseg segment reports it).
    const p = prob[i]! > cut && (!lung || (model.spec.task === 'lesion' ? lung[i]! > 0 : true));
    const r = ref[i]! > 0;
    const key = p && r ? 'tp' : p ? 'fp' : r ? 'fn' : 'tn';
    whole[key]++;
    if (lung && lung[i]! > 0) inLungs[key]++;
  }
  return { whole, inLungs: lung ? inLungs : null };
}

const dice = (c: Counts) => (2 * c.tp + c.fp + c.fn === 0 ? 1 : (2 * c.tp) / (2 * c.tp + c.fp + c.fn));
const add = (a: Counts, b: Counts): Counts => ({ tp: a.tp + b.tp, fp: a.fp + b.fp, fn: a.fn + b.fn, tn: a.tn + b.tn });
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test('database, all splits: every case and slice equals the hand count from predictSlices on single slices', async () => {
  const plan = await planDatabaseEvaluation(db, lesionModel.spec, { split: 'all' });
  if (plan.dims !== 2) throw new Error('a 2D model gets a 2D plan');
  assert.equal(plan.cases.length, 10, 'one case per patient group');
  const progress: string[] = [];
  const { evaluation } = await evaluateModel(lesionModel, plan, { threshold: level, batchSize: 3, onProgress: (done, total, stage) => progress.push(`${stage} ${done}/${total}`) });
  // Reported per batch of 3 slices; drawn by the caller (the library prints nothing).
  assert.deepEqual(progress, [0, 3, 6, 9, 12, 15, 18].map((d) => `evaluating all ${d}/18`));
  assert.deepEqual(Object.keys(evaluation.splits), ['train', 'validation', 'test']);
  assert.deepEqual([evaluation.splits['train']!.n, evaluation.splits['validation']!.n, evaluation.splits['test']!.n], [8, 1, 1]);
  assert.equal(evaluation.slices.length, 18);
  let predictedSomewhere = 0;
  for (const c of plan.cases) {
    let pooled = { tp: 0, fp: 0, fn: 0, tn: 0 };
    let pooledLungs = { tp: 0, fp: 0, fn: 0, tn: 0 };
    const sliceDice: number[] = [];
    for (const s of c.slices) {
      const hand = await handCounts(lesionModel, s.image, s.reference, level, s.lungMask);
      const got = evaluation.slices.find((x) => x.id === s.id)!;
      assert.deepEqual(got.confusion, hand.whole, `slice ${s.id}`);
      assert.deepEqual(got.confusion_in_lungs, hand.inLungs, `slice ${s.id} in lungs`);
      close(got.dice, dice(hand.whole), `slice ${s.id} Dice`);
      pooled = add(pooled, hand.whole);
      pooledLungs = add(pooledLungs, hand.inLungs!);
      sliceDice.push(dice(hand.whole));
      predictedSomewhere += hand.whole.tp + hand.whole.fp;
    }
    const got = evaluation.cases.find((x) => x.id === c.info.id)!;
    assert.equal(got.slices, c.slices.length);
    assert.deepEqual(got.confusion, pooled, `case ${c.info.id}`);
    close(got.dice, dice(pooled), `case ${c.info.id} Dice`);
    close(got.dice_in_lungs, dice(pooledLungs), `case ${c.info.id} Dice in lungs`);
    close(got.slice_dice_mean, sliceDice.reduce((a, b) => a + b, 0) / sliceDice.length, `case ${c.info.id} mean slice Dice`);
    assert.equal(got.reference_voxels, pooled.tp + pooled.fn);
    assert.ok(Number.isNaN(got.reference_ml), 'PNG slices have no voxel size');
  }
  assert.ok(predictedSomewhere > 0 && predictedSomewhere < 18 * 32 * 32, `the cut at the median gives a mixed prediction (${predictedSomewhere} px)`);
  const dices = evaluation.cases.map((c) => c.dice);
  const mean = dices.reduce((a, b) => a + b, 0) / dices.length;
  close(evaluation.summary.dice_mean, mean, 'summary mean');
  close(evaluation.summary.dice_std, Math.sqrt(dices.reduce((a, b) => a + (b - mean) ** 2, 0) / (dices.length - 1)), 'summary sample std');
});

test('test-time flips: every slice equals the hand count from the four mirrors averaged, and differs from plain inference', async () => {
  const plan = await planDatabaseEvaluation(db, lesionModel.spec, { split: 'all' });
  if (plan.dims !== 2) throw new Error('a 2D model gets a 2D plan');
  const plain = (await evaluateModel(lesionModel, plan, { threshold: level, batchSize: 5 })).evaluation;
  const { evaluation } = await evaluateModel(lesionModel, plan, { threshold: level, batchSize: 5, tta: true });
  assert.equal(evaluation.testTimeFlips, 4);
  assert.equal(plain.testTimeFlips, undefined);
  let differs = 0;
  for (const s of plan.cases.flatMap((c) => c.slices)) {
    const hand = await handCounts(lesionModel, s.image, s.reference, level, s.lungMask, true);
    const got = evaluation.slices.find((x) => x.id === s.id)!;
    assert.deepEqual(got.confusion, hand.whole, `slice ${s.id}`);
    if (JSON.stringify(got.confusion) !== JSON.stringify(plain.slices.find((x) => x.id === s.id)!.confusion)) differs++;
  }
  assert.ok(differs > 0, 'a random network is not mirror-symmetric: the flips must change some slice');
});

test('database test split through the CLI: JSON keys, markdown and figures written', async () => {
  const out = join(root, 'cli');
  // A child process: patching process.stdout here would swallow the test reporter's own lines.
  const r = spawnSync(process.execPath, [CLI, 'evaluate', '--model', join(root, 'lesion.onnx'), '--db', db, '--threshold', String(level), '--json', join(out, 'eval.json'), '--markdown', join(out, 'eval.md'), '--figures', join(out, 'figures'), '--quiet'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(await readFile(join(out, 'eval.json'), 'utf8')) as Evaluation;
  assert.equal(json.format, 'covseg-evaluation');
  assert.equal(json.summary.n, 1);
  assert.equal(typeof json.summary.dice_mean, 'number');
  assert.equal(json.summary.dice_std, 0, 'one case: std 0');
  assert.deepEqual(Object.keys(json.splits), ['test']);
  assert.equal(json.cases.length, 1);
  assert.equal(typeof json.cases[0]!.id, 'string');
  assert.equal(typeof json.cases[0]!.dice, 'number');
  assert.ok(json.slices.length >= 1 && json.slices.every((s) => s.caseId === json.cases[0]!.id));
  assert.deepEqual(json.model.spec, lesionModel.spec);
  assert.deepEqual(json.data, { kind: 'database', db, split: 'test', sources: null });
  assert.equal(json.threshold, level);
  assert.ok(!Number.isNaN(Date.parse(json.date)));
  const md = await readFile(join(out, 'eval.md'), 'utf8');
  assert.match(md, new RegExp(`\\| ${json.cases[0]!.id} \\| zenodo-slices \\|`));
  assert.match(md, /\*\*test: mean ± std\*\* \(n = 1\)/);
  const text = r.stdout;
  assert.match(text, /^test: Dice \d\.\d\d ± 0\.00/m);
  for (const f of ['eval.json', 'eval.md', 'figures/dice-per-split.png', 'figures/test-best-median-worst.png', 'figures/test-dice-per-case.png']) {
    assert.match(text, new RegExp(`wrote .*${f.replace('.', '\\.')}`));
    const bytes = await readFile(join(out, f));
    assert.ok(bytes.length > 100, f);
  }
});

test('folder of slices: each image its own case, names matched across extensions, empty reference counted', async () => {
  const dir = join(root, 'folder');
  await mkdir(join(dir, 'Imgs'), { recursive: true });
  await mkdir(join(dir, 'GT'), { recursive: true });
  // Images from the DB under COVID-SemiSeg-like names; one mask emptied.
  for (const [name, src] of [['1', 'Slice-00000'], ['2', 'Slice-00001'], ['10', 'Slice-00002']] as const) {
    await copyFile(join(db, `2d/images/${src}.png`), join(dir, 'Imgs', `${name}.png`));
    await copyFile(join(db, `2d/lesions/${src}.png`), join(dir, 'GT', `${name}.png`));
  }
  await writePng(join(dir, 'GT', '10.png'), { width: 32, height: 32, channels: 1, data: new Uint8Array(32 * 32) });
  const plan = await planFolderEvaluation({ images: join(dir, 'Imgs'), masks: join(dir, 'GT') }, lesionModel.spec);
  if (plan.dims !== 2) throw new Error('a folder gives a 2D plan');
  assert.deepEqual(plan.cases.map((c) => c.info.id), ['1', '2', '10'], 'natural order');
  const { evaluation } = await evaluateModel(lesionModel, plan, { threshold: level });
  assert.deepEqual(Object.keys(evaluation.splits), ['images']);
  for (const c of plan.cases) {
    const hand = await handCounts(lesionModel, c.slices[0]!.image, c.slices[0]!.reference, level);
    const got = evaluation.cases.find((x) => x.id === c.info.id)!;
    assert.deepEqual(got.confusion, hand.whole);
    assert.ok(Number.isNaN(got.dice_in_lungs), 'no --lungs: no in-lung Dice');
  }
  const empty = evaluation.cases.find((c) => c.id === '10')!;
  assert.equal(empty.reference_voxels, 0);
  assert.equal(empty.dice, empty.predicted_voxels === 0 ? 1 : 0);
  assert.equal(evaluation.summary.emptyReference, 1);
  assert.equal(evaluation.summary.emptyBoth, empty.predicted_voxels === 0 ? 1 : 0);
  assert.equal(evaluation.summary.sensitivity_n, 2, 'sensitivity is undefined for the empty reference');
  const written = await writeEvaluation({ evaluation, figureSlices: new Map() }, { json: join(dir, 'eval.json') });
  assert.deepEqual(written, [join(dir, 'eval.json')]);
});

test('folder of slices: a colour mask or an image given as mask is refused naming the file; a colour image is scored in grey with a warning', async () => {
  const dir = join(root, 'colour');
  for (const sub of ['Imgs', 'GT', 'bad-GT', 'image-GT']) await mkdir(join(dir, sub), { recursive: true });
  for (const [name, src] of [['1', 'Slice-00000'], ['2', 'Slice-00001']] as const) {
    await copyFile(join(db, `2d/images/${src}.png`), join(dir, 'Imgs', `${name}.png`));
    for (const sub of ['GT', 'bad-GT', 'image-GT']) await copyFile(join(db, `2d/lesions/${src}.png`), join(dir, sub, `${name}.png`));
  }
  const grey = (await readImage(join(dir, 'Imgs', '2.png'))).volume.data as Uint8Array;
  const rgb = (g: ArrayLike<number>) => Uint8Array.from({ length: g.length * 3 }, (_, i) => (i % 3 === 0 ? g[i / 3]! : i % 3 === 1 ? g[(i - 1) / 3]! >> 1 : 0));
  await writePng(join(dir, 'Imgs', '2.png'), { width: 32, height: 32, channels: 3, data: rgb(grey) });
  const mask = (await readImage(join(dir, 'GT', '2.png'))).volume.data as Uint8Array;
  await writePng(join(dir, 'bad-GT', '2.png'), { width: 32, height: 32, channels: 3, data: rgb(mask) });
  await copyFile(join(db, '2d/images/Slice-00001.png'), join(dir, 'image-GT', '2.png'));

  const plan = (masks: string) => planFolderEvaluation({ images: join(dir, 'Imgs'), masks: join(dir, masks) }, lesionModel.spec);
  await assert.rejects(evaluateModel(lesionModel, await plan('bad-GT'), { threshold: level }),
    /bad-GT\/2\.png: this is a colour picture, not a mask: a mask is a binary or label image \(one grey channel, nonzero = positive\)$/);
  await assert.rejects(evaluateModel(lesionModel, await plan('image-GT'), { threshold: level }),
    /image-GT\/2\.png: holds more than 16 distinct values \(an image\?\), not a mask/);
  const { evaluation } = await evaluateModel(lesionModel, await plan('GT'), { threshold: level });
  assert.deepEqual(evaluation.warnings, ['1 image(s) are colour pictures, not greyscale CT slices, scored after conversion to grey (Rec. 601 luma): 2.png']);
  const r = spawnSync(process.execPath, [CLI, 'evaluate', '--model', join(root, 'lesion.onnx'), '--images', join(dir, 'Imgs'), '--masks', join(dir, 'GT'), '--lung-model', 'none', '--quiet'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^warning: 1 image\(s\) are colour pictures, not greyscale CT slices/m);
  const bad = spawnSync(process.execPath, [CLI, 'evaluate', '--model', join(root, 'lesion.onnx'), '--images', join(dir, 'Imgs'), '--masks', join(dir, 'bad-GT'), '--lung-model', 'none', '--quiet'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^covseg evaluate: error: .*bad-GT\/2\.png: this is a colour picture, not a mask/);
});

test('a model without covseg metadata is refused, naming the file and the missing key', async () => {
  const file = join(root, 'plain.onnx');
  await writeFile(file, tinyModel({ task: 'lesion', dims: 2, inputSize: 32, inputTransform: 'clahe-v1', threshold: 0.5 }, { metadata: false }));
  await assert.rejects(command.run(['--model', file, '--db', db, '--quiet']), (err: Error) => {
    assert.equal(err.name, 'CovsegError');
    assert.match(err.message, /plain\.onnx: not a covseg model: metadata key 'covseg\.task' is missing/);
    return true;
  });
});

test('a lung model is scored against the lung mask, without an in-lung Dice', async () => {
  const file = join(root, 'lung.onnx');
  await writeFile(file, tinyModel({ task: 'lung', dims: 2, inputSize: 32, inputTransform: 'clahe-v1', threshold: 0.5 }, { seed: 3 }));
  const model = await loadSegmentationModel(file, { threads: 1 });
  try {
    const plan = await planDatabaseEvaluation(db, model.spec, { split: 'test' });
    if (plan.dims !== 2) throw new Error('a 2D model gets a 2D plan');
    assert.ok(plan.cases[0]!.slices.every((s) => s.reference.includes('/2d/lungs/') && s.lungMask === undefined));
    const { evaluation } = await evaluateModel(model, plan, {});
    assert.equal(evaluation.task, 'lung');
    assert.ok(Number.isNaN(evaluation.summary.dice_in_lungs_mean) && evaluation.summary.dice_in_lungs_n === 0);
    const s = plan.cases[0]!.slices[0]!;
    const hand = await handCounts(model, s.image, s.reference, model.spec.threshold);
    assert.deepEqual(evaluation.slices[0]!.confusion, hand.whole);
  } finally {
    await model.onnx.release();
  }
});
