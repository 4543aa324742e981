import { join } from 'node:path';
import { flag, optionsHelp, parseCommandLine, type Command } from '../command.js';
import { UsageError } from '../../util/errors.js';
import type { TrainTask } from '../../train/database-samples.js';
import { RUN_FILES } from '../../train/loop.js';
import { SAMPLING_MODES } from '../../train/sampling.js';
import { LR_SCHEDULES } from '../../train/schedule.js';
import { checkDatabaseTraining, trainOnDatabase, type DatabaseTrainingOptions } from '../../train/train-on-database.js';
import { SOURCE_NAMES, sourceName } from '../../datasets/types.js';
import { SLICE_INPUT_TRANSFORMS } from '../../preprocess/model-input.js';
import { formatDuration, isQuiet, StageBars } from '../progress.js';

const positiveInteger = (n: number) => Number.isInteger(n) && n > 0;

const FLAGS = {
  db: flag.string({ arg: 'DB', help: 'database folder (manifest.json, splits.json, 2d/, 3d/)' }),
  dims: flag.choice({ choices: ['2', '3'] as const, help: '2D U-Net on slices or 3D U-Net on volumes' }),
  out: flag.string({ arg: 'RUN', help: 'run folder (created); holds everything listed below' }),
  task: flag.choice({
    choices: ['lesion', 'lung'] as const satisfies readonly TrainTask[], default: 'lesion',
    help: 'lesion: target = lesion, loss inside the lung mask;\nlung: target = lung mask, loss over the whole image',
  }),
  sources: flag.list({ arg: 'a,b', help: `only cases of these sources (${SOURCE_NAMES.join(', ')})` }),
  fold: flag.string({ arg: 'F', help: 'train on a validation fold instead of DB/splits.json: out=NAME (leave out a source or patient-group prefix, e.g. out=semiseg, out=coronacases) or kK/I (fold I of K by patient group); evaluate with the same --fold' }),
  epochs: flag.number({ arg: 'N', default: 100, check: positiveInteger, help: 'epoch cap; the method ran up to 2000' }),
  patience: flag.number({ arg: 'N', default: 20, check: positiveInteger, help: 'stop after N epochs without a better validation loss' }),
  batch: flag.number({ arg: 'B', check: positiveInteger, shownDefault: '8 for 2D, 1 for 3D', help: 'samples per batch' }),
  'samples-per-epoch': flag.number({ arg: 'N', check: (n) => n > 0, shownDefault: 'all', help: 'random subset of the training samples per epoch' }),
  sampling: flag.choice({
    choices: SAMPLING_MODES, arg: 'M', default: 'uniform',
    help: 'uniform | case-sqrt: weight 1/√(slices of the case), so short scans and single-slice sources are not drowned |\nends: 2D slices in the outer 15 % at either end of their case, and --negatives, drawn 3× as often\n(the lung model\'s apices, bases and lung-free slices) |\nlesion: as ends, and a slice further × (1 + 10 × the share of its lung its lesion covers)\n(the lung model learns that consolidation filling the lung is lung) |\ncase-sqrt-ends: case-sqrt, and the ends and --negatives 3× as often',
  }),
  optimizer: flag.choice({ choices: ['sgd', 'adam'] as const, default: 'sgd', shownDefault: 'sgd, the method', help: 'with momentum 0.9 for sgd' }),
  lr: flag.number({ arg: 'X', check: (n) => n > 0, shownDefault: '0.01 for sgd, 0.001 for adam', help: 'base learning rate' }),
  momentum: flag.number({ arg: 'X', default: 0.9, check: (n) => n >= 0 && n < 1, help: 'SGD momentum' }),
  'weight-decay': flag.number({ arg: 'X', default: 0, check: (n) => n >= 0, help: 'L2 weight decay' }),
  schedule: flag.choice({ choices: LR_SCHEDULES, arg: 'S', default: 'constant', help: LR_SCHEDULES.join(' | ') }),
  'input-size': flag.number({ arg: 'N', default: 320, check: positiveInteger, help: '2D: side of the square network input, divisible by 16' }),
  'input-transform': flag.choice({ choices: SLICE_INPUT_TRANSFORMS, arg: 'T', default: 'clahe-v2', help: `2D: ${SLICE_INPUT_TRANSFORMS.join(' or ')}, see src/preprocess/model-input.ts` }),
  patch: flag.list({ arg: 'D,H,W', shownDefault: 'whole 80×320×320 volumes', help: '3D: random training patch' }),
  'base-filters': flag.number({ arg: 'N', default: 16, check: positiveInteger, help: 'filters in the first level' }),
  depth: flag.number({ arg: 'N', default: 4, check: (n) => Number.isInteger(n) && n >= 1 && n <= 6, help: 'down-sampling steps' }),
  norm: flag.choice({ choices: ['batch', 'instance', 'none'] as const, default: 'batch', help: 'normalisation layers' }),
  'bce-weight': flag.number({ arg: 'X', default: 0, check: (n) => n >= 0, shownDefault: '0, the method', help: 'add X × a pixel-wise binary cross-entropy over the whole image (target 0\noutside the lungs) to the lung-masked negative Dice: teaches the network to stay quiet\noutside the lungs, where the Dice never looks' }),
  'no-augment': flag.boolean({ help: 'no flips/rotations/intensity jitter' }),
  device: flag.choice({ choices: ['cpu', 'cuda'] as const, default: 'cpu', help: 'cuda needs the addon built against a CUDA libtorch' }),
  threads: flag.threads({ fallback: 0, allowZero: true, shownDefault: '0: all cores', help: 'libtorch threads; at most the cores' }),
  seed: flag.number({ arg: 'N', default: 42, check: Number.isInteger, help: 'random seed of weights, order and augmentation' }),
  float16: flag.boolean({ help: 'store model.onnx weights as float16 (half the size)' }),
  resume: flag.boolean({ help: 'continue RUN from its last checkpoint' }),
  init: flag.string({ arg: 'CKPT', help: "start from the weights of another run's checkpoint, or of a model file (.onnx,\ne.g. models/lung-2d.onnx: batch norm folded into its convs, so with --norm none)\n(fine-tuning)" }),
  negatives: flag.list({
    arg: 'A,B',
    help: '2D, task lung: CTs (files or DICOM folders) with no lung in view, e.g. an abdominal CT; their slices train with an empty target',
  }),
  'lesion-weight': flag.number({ arg: 'W', default: 1, help: '2D, task lung: each lesion pixel of the lung target counts W times in the Dice\n(consolidation at the pleura is lung, and a small part of a large lung)' }),
  'synthetic-consolidation': flag.number({ arg: 'P', default: 0, help: '2D, task lung: with probability P paint a consolidation into a training slice\'s lung from its border, at the density of the tissue beside it; the target stays the lung (consolidation is lung: the model learns to follow the lung\'s shape, not its darkness)' }),
  quiet: flag.boolean({ help: 'no progress bars or messages' }),
};

const HELP = `covseg train --db DB --dims 2|3 --out RUN [options]

Trains a U-Net on a covseg database (from 'covseg build-db') with the method's loss:
negative Dice computed only on voxels inside the lungs. Uses DB/splits.json (train for
fitting, validation for choosing the weights), validates every epoch and keeps the
weights with the lowest validation loss. Needs the libtorch addon (npm run build:native).

Options:
${optionsHelp(FLAGS)}

Writes (in RUN):
  model.onnx              the best weights, for 'covseg segment' / 'covseg evaluate'
  checkpoint-best.ckpt, checkpoint-last.ckpt   (written atomically every epoch)
  history.csv             epoch, losses, Dice, learning rate, seconds
  training-curves.png     loss and Dice per epoch, best epoch marked
  run.json                the settings (checked on --resume)
`;

export const command: Command = {
  name: 'train',
  help: HELP,
  flags: FLAGS,
  async run(argv) {
    const { values, positionals } = parseCommandLine('train', argv, FLAGS);
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (!values.db || !values.out || !values.dims) throw new UsageError('--db, --dims and --out are required');
    const bars = new StageBars({ quiet: values.quiet });
    // A message ends the bar it comes after, so the two never share a line.
    const say = (m: string) => {
      bars.end();
      if (!isQuiet(values.quiet)) process.stderr.write(`${m}\n`);
    };
    const training: DatabaseTrainingOptions = {
      db: values.db,
      dims: Number(values.dims) as 2 | 3,
      task: values.task,
      sources: values.sources?.map((s) => sourceName(s, (problem) => new UsageError(`--sources: ${problem}`))),
      inputSize: values['input-size'],
      transform: values['input-transform'],
      patch: values.patch?.map(Number),
      network: { baseFilters: values['base-filters'], depth: values.depth, norm: values.norm },
      negatives: values.negatives?.filter(Boolean),
      lesionWeight: values['lesion-weight'],
      syntheticConsolidation: values['synthetic-consolidation'],
      ...(values.fold ? { fold: values.fold } : {}),
      runDir: values.out,
      epochs: values.epochs,
      patience: values.patience,
      batchSize: values.batch,
      samplesPerEpoch: values['samples-per-epoch'],
      sampling: values.sampling,
      optimizer: values.optimizer,
      lr: values.lr,
      momentum: values.momentum,
      weightDecay: values['weight-decay'],
      schedule: values.schedule,
      bceWeight: values['bce-weight'],
      augment: !values['no-augment'],
      device: values.device,
      threads: values.threads,
      seed: values.seed,
      resume: values.resume,
      initFrom: values.init,
      float16: values.float16,
      onProgress: bars.onProgress,
      onEpoch: (r, improved) => bars.end(`train loss ${r.trainLoss.toFixed(4)} Dice ${r.trainDice.toFixed(3)} | val loss ${r.valLoss.toFixed(4)} Dice ${r.valDice.toFixed(3)}${improved ? ' *best*' : ''}`),
      onMessage: say,
    };
    checkDatabaseTraining(training, (problem) => new UsageError(problem));
    const result = await trainOnDatabase(training);
    say(`${result.stoppedEarly ? 'stopped early' : 'finished'} after ${result.epochsRun} epochs (${formatDuration(result.secondsPerEpoch)}/epoch); best validation loss ${result.bestValLoss.toFixed(4)}, Dice ${result.bestValDice.toFixed(3)} at epoch ${result.bestEpoch}`);
    process.stdout.write(`${JSON.stringify({ model: result.modelPath, bestEpoch: result.bestEpoch, bestValLoss: result.bestValLoss, bestValDice: result.bestValDice, epochs: result.epochsRun, secondsPerEpoch: result.secondsPerEpoch, curves: join(result.runDir, RUN_FILES.plot) })}\n`);
  },
};
