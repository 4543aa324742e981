import { join } from 'node:path';
import type { Command } from '../command.js';
import { choiceFlag, numberFlag, parseFlags, threadsFlag } from '../command.js';
import { UsageError } from '../../util/errors.js';
import { loadSliceSplit, loadVolumeSplit, type TrainTask } from '../../train/database-samples.js';
import { trainNetwork, RUN_FILES, SAMPLING_MODES, type SamplingMode } from '../../train/loop.js';
import { LR_SCHEDULES, type LrSchedule } from '../../train/schedule.js';
import { SOURCE_NAMES, sourceName } from '../../datasets/types.js';
import { specToMetadata } from '../../infer/model-spec.js';
import { loadNegativeSlices } from '../../train/negative-samples.js';
import { SLICE_INPUT_TRANSFORMS, type SliceInputTransform } from '../../preprocess/model-input.js';

const HELP = `covseg train --db DB --dims 2|3 --out RUN [options]

Trains a U-Net on a covseg database (from 'covseg build-db') with the method's loss:
negative Dice computed only on voxels inside the lungs. Uses DB/splits.json (train for
fitting, validation for choosing the weights), validates every epoch and keeps the
weights with the lowest validation loss. Needs the libtorch addon (npm run build:native).

Options:
  --db DB                 database folder (manifest.json, splits.json, 2d/, 3d/)
  --dims 2|3              2D U-Net on slices or 3D U-Net on volumes
  --out RUN               run folder (created); holds everything listed below
  --task lesion|lung      lesion (default): target = lesion, loss inside the lung mask;
                          lung: target = lung mask, loss over the whole image
  --sources a,b           only cases of these sources (${SOURCE_NAMES.join(', ')})
  --epochs N              epoch cap (default 100; the method ran up to 2000)
  --patience N            stop after N epochs without a better validation loss (default 20)
  --batch B               samples per batch (default 8 for 2D, 1 for 3D)
  --samples-per-epoch N   random subset of the training samples per epoch (default all)
  --sampling M            uniform (default) | case-sqrt: weight 1/√(slices of the case),
                          so short scans and single-slice sources are not drowned
  --optimizer sgd|adam    default sgd (the method), with momentum 0.9
  --lr X                  base learning rate (default 0.01 for sgd, 0.001 for adam)
  --momentum X            SGD momentum (default 0.9)
  --weight-decay X        L2 weight decay (default 0)
  --schedule S            ${LR_SCHEDULES.join(' | ')} (default constant)
  --input-size N          2D: side of the square network input, divisible by 16 (default 320)
  --input-transform T     2D: clahe-v2 (default) or clahe-v1, see src/preprocess/model-input.ts
  --patch D,H,W           3D: random training patch (default: whole 80×320×320 volumes)
  --base-filters N        filters in the first level (default 16)
  --depth N               down-sampling steps (default 4)
  --norm batch|instance|none   (default batch)
  --no-augment            no flips/rotations/intensity jitter
  --device cpu|cuda       (default cpu; cuda needs the addon built against a CUDA libtorch)
  --threads N             libtorch threads (default 0: all cores; at most the cores)
  --seed N                (default 42)
  --float16               store model.onnx weights as float16 (half the size)
  --resume                continue RUN from its last checkpoint
  --init CKPT             start from the weights of another run's checkpoint (fine-tuning)
  --negatives A,B         2D, task lung: CTs (files or DICOM folders) with no lung in view,
                          e.g. an abdominal CT; their slices train with an empty target

Writes (in RUN):
  model.onnx              the best weights, for 'covseg segment' / 'covseg evaluate'
  checkpoint-best.ckpt, checkpoint-last.ckpt   (written atomically every epoch)
  history.csv             epoch, losses, Dice, learning rate, seconds
  training-curves.png     loss and Dice per epoch, best epoch marked
  run.json                the settings (checked on --resume)
`;

export const command: Command = {
  name: 'train',
  summary: 'Train a 2D or 3D U-Net (lung-masked Dice loss) on a covseg database',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, {
      db: { type: 'string' }, dims: { type: 'string' }, out: { type: 'string' }, task: { type: 'string' }, sources: { type: 'string' },
      epochs: { type: 'string' }, patience: { type: 'string' }, batch: { type: 'string' }, 'samples-per-epoch': { type: 'string' }, sampling: { type: 'string' },
      optimizer: { type: 'string' }, lr: { type: 'string' }, momentum: { type: 'string' }, 'weight-decay': { type: 'string' },
      schedule: { type: 'string' }, 'input-size': { type: 'string' }, 'input-transform': { type: 'string' }, patch: { type: 'string' }, 'base-filters': { type: 'string' },
      depth: { type: 'string' }, norm: { type: 'string' }, 'no-augment': { type: 'boolean' }, device: { type: 'string' },
      threads: { type: 'string' }, seed: { type: 'string' }, float16: { type: 'boolean' }, resume: { type: 'boolean' }, init: { type: 'string' }, negatives: { type: 'string' }, quiet: { type: 'boolean' },
    });
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (!values.db || !values.out || !values.dims) throw new UsageError('--db, --dims and --out are required');
    const dims = Number(choiceFlag('dims', values.dims, ['2', '3'], '2')) as 2 | 3;
    const task = choiceFlag<TrainTask>('task', values.task, ['lesion', 'lung'], 'lesion');
    const sources = values.sources?.split(',').map((s) => sourceName(s, (problem) => new UsageError(`--sources: ${problem}`)));
    const positive = (n: number) => n > 0;
    const depth = numberFlag('depth', values.depth, 4, (n) => Number.isInteger(n) && n >= 1 && n <= 6);
    const inputSize = numberFlag('input-size', values['input-size'], 320, (n) => Number.isInteger(n) && n % 2 ** depth === 0);
    const transform = choiceFlag<SliceInputTransform>('input-transform', values['input-transform'], SLICE_INPUT_TRANSFORMS, 'clahe-v2');
    const patch = values.patch?.split(',').map(Number);
    if (patch && (dims !== 3 || patch.length !== 3 || patch.some((p) => !Number.isInteger(p) || p % 2 ** depth !== 0))) {
      throw new UsageError(`--patch: three integers divisible by ${2 ** depth}, for --dims 3`);
    }
    const network = {
      dims,
      baseFilters: numberFlag('base-filters', values['base-filters'], 16, (n) => Number.isInteger(n) && n > 0),
      depth,
      norm: choiceFlag('norm', values.norm, ['batch', 'instance', 'none'] as const, 'batch'),
    };
    const quiet = values.quiet ?? false;
    const threads = threadsFlag(values.threads, { fallback: 0, allowZero: true, command: 'train' });
    const load = dims === 2 ? loadSliceSplit : loadVolumeSplit;
    const dataOptions = { task, sources, inputSize, transform, quiet, set: { patch } };
    const negatives = values.negatives?.split(',').filter(Boolean) ?? [];
    if (negatives.length && (dims !== 2 || task !== 'lung')) throw new UsageError('--negatives is for the 2D lung model (--dims 2 --task lung)');
    const train = await load(values.db, 'train', dataOptions);
    if (negatives.length) {
      train.set = train.set.concat(await loadNegativeSlices(negatives, { inputSize, transform }));
    }
    const val = await load(values.db, 'validation', dataOptions);
    for (const [name, s] of [['train', train], ['validation', val]] as const) {
      if (s.skippedNoLung && !quiet) process.stderr.write(`${name}: ${s.skippedNoLung} samples skipped (no lung mask; build the database with --lung-model to include them)\n`);
    }
    const result = await trainNetwork({
      runDir: values.out,
      network,
      epochs: numberFlag('epochs', values.epochs, 100, (n) => Number.isInteger(n) && n > 0),
      patience: numberFlag('patience', values.patience, 20, (n) => Number.isInteger(n) && n > 0),
      batchSize: numberFlag('batch', values.batch, dims === 2 ? 8 : 1, (n) => Number.isInteger(n) && n > 0),
      samplesPerEpoch: values['samples-per-epoch'] === undefined ? undefined : numberFlag('samples-per-epoch', values['samples-per-epoch'], 0, positive),
      sampling: choiceFlag<SamplingMode>('sampling', values.sampling, SAMPLING_MODES, 'uniform'),
      optimizer: choiceFlag('optimizer', values.optimizer, ['sgd', 'adam'] as const, 'sgd'),
      lr: values.lr === undefined ? undefined : numberFlag('lr', values.lr, 0, positive),
      momentum: numberFlag('momentum', values.momentum, 0.9, (n) => n >= 0 && n < 1),
      weightDecay: numberFlag('weight-decay', values['weight-decay'], 0, (n) => n >= 0),
      schedule: choiceFlag<LrSchedule>('schedule', values.schedule, LR_SCHEDULES, 'constant'),
      augment: !values['no-augment'],
      device: choiceFlag('device', values.device, ['cpu', 'cuda'] as const, 'cpu'),
      threads,
      seed: numberFlag('seed', values.seed, 42, Number.isInteger),
      resume: values.resume ?? false,
      initFrom: values.init,
      float16: values.float16 ?? false,
      title: `${dims}D ${task} U-Net`,
      quiet,
      modelMetadata: {
        ...specToMetadata({ task, dims, inputSize: dims === 2 ? inputSize : 320, inputTransform: dims === 2 ? transform : 'method-3d', threshold: 0.5 }),
        'covseg.trainedOn': JSON.stringify({ db: values.db, sources: sources ?? 'all', trainSamples: train.set.length, valSamples: val.set.length }),
      },
    }, { train: train.set, val: val.set });
    process.stdout.write(`${JSON.stringify({ model: result.modelPath, bestEpoch: result.bestEpoch, bestValLoss: result.bestValLoss, bestValDice: result.bestValDice, epochs: result.epochsRun, secondsPerEpoch: result.secondsPerEpoch, curves: join(result.runDir, RUN_FILES.plot) })}\n`);
  },
};
