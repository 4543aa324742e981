/**
 * A 3D training run end to end on synthetic volumes (the real 3D datasets cannot be
 * downloaded here): Zenodo-layout chest phantoms → `build-db` (0.9×0.9×4.5 mm,
 * 320×320×80) → `train --dims 3` on lesion-centred patches → model.onnx, then the ONNX
 * Runtime output compared with libtorch's on a whole validation volume.
 *   node dist/bench/train-3d.js [--epochs 15] [--keep DIR] [--quick]   (--quick: 1 epoch, 128×128×60 phantoms,
 * a 128×128×32 database)
 * Prints one JSON line per epoch and one for the export check; skipped (with a line saying
 * so) when the training addon is not built.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Type } from '@sinclair/typebox';
import { buildDatabase } from '../src/database/index.js';
import { loadVolumeSplit } from '../src/train/database-samples.js';
import { trainNetwork } from '../src/train/loop.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { createTorchModel, torchAddonAvailable } from '../src/nn/torch-addon.js';
import { loadOnnxModel } from '../src/nn/onnx-model.js';
import { writeZenodoLayout, ZENODO_IMAGE_STEMS } from '../test/helpers/synthetic-datasets.js';

const { values } = parseArgs({ options: { epochs: { type: 'string' }, keep: { type: 'string' }, quick: { type: 'boolean', default: false } } });
if (!torchAddonAvailable()) {
  console.log(JSON.stringify({ bench: 'train-3d', skipped: 'the training addon is not built (npm run build:native)' }));
  process.exit(0);
}
const dir = values.keep ?? mkdtempSync(join(tmpdir(), 'covseg-train-3d-'));
try {
  await writeZenodoLayout(join(dir, 'zenodo'), { stems: ZENODO_IMAGE_STEMS.slice(0, 10), coronaDims: values.quick ? [128, 128, 60] : [256, 256, 120], noiseHu: 25 });
  const db = join(dir, 'db');
  // --quick: a 128×128×32 database grid and 16×64×64 patches instead of 320×320×80 and 32×96×96.
  await buildDatabase({ sources: [{ name: 'zenodo', root: join(dir, 'zenodo') }], out: db }, { overview: false, ...(values.quick ? { dims: [128, 128, 32] as [number, number, number] } : {}) });
  const network = { dims: 3 as const, baseFilters: 8, depth: 4 };
  const data = { task: 'lesion' as const, set: { patch: values.quick ? [16, 64, 64] : [32, 96, 96] } };
  const train = await loadVolumeSplit(db, 'train', data);
  const val = await loadVolumeSplit(db, 'validation', data);
  const result = await trainNetwork({ runDir: join(dir, 'run'), network, epochs: Number(values.epochs ?? (values.quick ? 1 : 15)), patience: 100, batchSize: 2, optimizer: 'sgd', lr: 0.05, momentum: 0.9, threads: 2 }, { train: train.set, val: val.set });
  for (const h of result.history) console.log(JSON.stringify({ bench: 'train-3d', epoch: h.epoch, train_loss: +h.trainLoss.toFixed(4), val_loss: +h.valLoss.toFixed(4), val_dice: +h.valDice.toFixed(3), seconds: +h.seconds.toFixed(1) }));
  // Export check on a whole validation volume (1 × 1 × 80 × 320 × 320; 32 × 128 × 128 with --quick).
  const best = await loadCheckpoint(join(dir, 'run', 'checkpoint-best.ckpt'), Type.Unknown());
  const torch = createTorchModel({ ...network, threads: 2 });
  torch.setState(best.state);
  const sample = val.set.samples[0]!;
  const shape = [1, 1, ...val.set.stored];
  const [a, onnx] = await Promise.all([torch.predict(sample.image, shape), loadOnnxModel(result.modelPath)]);
  const b = (await onnx.run(sample.image, shape)).data;
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
  console.log(JSON.stringify({ bench: 'train-3d', check: 'onnx-vs-libtorch', shape, max_abs_diff: maxDiff, train_cases: train.set.length, val_cases: val.set.length, best_epoch: result.bestEpoch, first_train_loss: result.history[0]!.trainLoss, last_train_loss: result.history.at(-1)!.trainLoss, curves: join(dir, 'run', 'training-curves.png') }));
} finally {
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
