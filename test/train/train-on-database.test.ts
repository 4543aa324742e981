/** trainOnDatabase: the train command's work as one library call (the CLI only parses flags and draws). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { torchAddonAvailable } from '../../src/nn/torch-addon.js';
import { readOnnxMetadata } from '../../src/nn/onnx/graph.js';
import { buildDatabase } from '../../src/database/index.js';
import { checkDatabaseTraining, trainOnDatabase } from '../../src/train/train-on-database.js';
import { CovsegError } from '../../src/util/errors.js';
import { writeSliceSetLayout } from '../helpers/tiny-models.js';

const skip = !torchAddonAvailable() && 'training addon not built (npm run build:native)';

test('checkDatabaseTraining: settings that cannot work together, as CovsegError or the caller\'s error', () => {
  const base = { db: 'db', runDir: 'run', dims: 2 as const };
  checkDatabaseTraining({ ...base, inputSize: 32, network: { depth: 5 } });
  assert.throws(() => checkDatabaseTraining({ ...base, inputSize: 48, network: { depth: 5 } }), (e: Error) => e instanceof CovsegError && /--input-size: 48 is not divisible by 2\^depth = 32/.test(e.message));
  assert.throws(() => checkDatabaseTraining({ ...base, patch: [16, 16, 16] }), /--patch: three integers divisible by 16, for --dims 3/);
  assert.throws(() => checkDatabaseTraining({ ...base, dims: 3, patch: [16, 16] }), /--patch/);
  checkDatabaseTraining({ ...base, dims: 3, patch: [16, 32, 48] });
  assert.throws(() => checkDatabaseTraining({ ...base, negatives: ['abdomen.nii.gz'] }), /--negatives is for the 2D lung model/);
  checkDatabaseTraining({ ...base, task: 'lung', negatives: ['abdomen.nii.gz'] });
  assert.throws(() => checkDatabaseTraining({ ...base, dims: 3, negatives: ['a'] }, (m) => new RangeError(m)), RangeError);
  assert.throws(() => checkDatabaseTraining({ ...base, lesionWeight: 5 }), /--lesion-weight is for the 2D lung model/);
  assert.throws(() => checkDatabaseTraining({ ...base, task: 'lung', lesionWeight: 2.5 }), /--lesion-weight: an integer from 1 to 255, got 2.5/);
  checkDatabaseTraining({ ...base, task: 'lung', lesionWeight: 5 });
  assert.throws(() => checkDatabaseTraining({ ...base, syntheticConsolidation: 0.5 }), /--synthetic-consolidation is for the 2D lung model/);
  assert.throws(() => checkDatabaseTraining({ ...base, task: 'lung', syntheticConsolidation: 1.5 }), /--synthetic-consolidation: a probability in \(0, 1\], got 1.5/);
  checkDatabaseTraining({ ...base, task: 'lung', syntheticConsolidation: 0.5 });
});

test("a lung model's slices: the loss mask is 1, and lesionWeight on the lesion's pixels; the lesion's share of the lung is kept for 'lesion' sampling", async () => {
  const { loadSliceSplit } = await import('../../src/train/database-samples.js');
  const dir = mkdtempSync(join(tmpdir(), 'covseg-lung-weights-'));
  try {
    await writeSliceSetLayout(join(dir, 'slices'), ['p1', 'p2', 'p3', 'p4', 'p5'].map((g, k) => ({ file: `${k}.png`, group: g, lesionRadius: 4 })), 32);
    await buildDatabase({ sources: [{ name: 'zenodo-slices', root: join(dir, 'slices') }], out: join(dir, 'db') }, { sliceSize: 32, workers: 0, overview: false });
    const plain = (await loadSliceSplit(join(dir, 'db'), 'train', { task: 'lung', inputSize: 32 })).set;
    const weighted = (await loadSliceSplit(join(dir, 'db'), 'train', { task: 'lung', inputSize: 32, lesionWeight: 5 })).set;
    assert.ok(plain.length > 0);
    for (const [k, s] of weighted.samples.entries()) {
      assert.ok(plain.samples[k]!.lossMask.every((v) => v === 1), 'default: the whole slice, weight 1');
      const heavy = s.lossMask.reduce((n, v) => n + (v === 5 ? 1 : 0), 0);
      assert.ok(s.lossMask.every((v) => v === 1 || v === 5));
      assert.ok(heavy > 0, `${s.id}: its lesion weighs 5`);
      // The lesion lies inside the lung (lung = lung ∪ lesion): every weighted pixel is a target pixel.
      assert.ok(s.lossMask.every((v, i) => v === 1 || s.target[i] === 1));
      assert.ok(s.lesionShare! > 0 && s.lesionShare! < 1, `${s.id}: share ${s.lesionShare}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('trainOnDatabase: reads the splits, trains, and writes the model spec and what it was trained on', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'covseg-train-db-'));
  try {
    const groups = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9', 'p10'];
    await writeSliceSetLayout(join(dir, 'slices'), groups.map((g, k) => ({ file: `${k}.png`, group: g, lesionRadius: 4 })), 32);
    await buildDatabase({ sources: [{ name: 'zenodo-slices', root: join(dir, 'slices') }], out: join(dir, 'db') }, { sliceSize: 32, workers: 0, overview: false });
    const stages = new Set<string>();
    const messages: string[] = [];
    const result = await trainOnDatabase({
      db: join(dir, 'db'), dims: 2, task: 'lung', inputSize: 32, network: { baseFilters: 2, depth: 2 }, runDir: join(dir, 'run'), epochs: 1, threads: 1,
      onProgress: (_done, _total, stage) => stages.add(stage!),
      onMessage: (m) => messages.push(m),
    });
    assert.deepEqual([...stages], ['loading train slices', 'loading validation slices', 'epoch 1/1']);
    assert.match(messages.join('\n'), /^training 2D U-Net .* on 8 samples \[32×32\], validating on 1; sgd lr 0\.01, batch 8, up to 1 epochs/m);
    const meta = readOnnxMetadata(new Uint8Array(readFileSync(result.modelPath)));
    assert.equal(meta['covseg.task'], 'lung');
    assert.equal(meta['covseg.inputSize'], '32');
    assert.equal(meta['covseg.inputTransform'], 'clahe-v2');
    assert.deepEqual(JSON.parse(meta['covseg.trainedOn']!), { db: join(dir, 'db'), sources: 'all', trainSamples: 8, valSamples: 1 });
    const run = JSON.parse(readFileSync(join(dir, 'run', 'run.json'), 'utf8')) as { training: { network: unknown; batchSize: number } };
    assert.deepEqual(run.training.network, { dims: 2, baseFilters: 2, depth: 2 }, 'dims first, as the command always recorded it (a resume compares the text)');
    assert.equal(run.training.batchSize, 8);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
