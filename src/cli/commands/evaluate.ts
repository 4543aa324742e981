/** `covseg evaluate`: a model's Dice and friends, case by case, on a database split or a folder of slices. */
import { flag, optionsHelp, parseCommandLine, type Command } from '../command.js';
import { UsageError } from '../../util/errors.js';
import { StageBars } from '../progress.js';
import { loadSegmentationModel } from '../../infer/segmentation-model.js';
import { loadDefaultLungModel } from '../../lungs/default-model.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { checkOutputDir, checkOutputFile, explainIoErrors } from '../../util/output-target.js';
import { loadManifest } from '../../database/index.js';
import {
  EVAL_SPLITS, compareDims, dimsComparisonMarkdown, evaluateModel, planDatabaseEvaluation, planFolderEvaluation, summaryLines, volumeSliceIds, writeEvaluation,
  type EvaluateModelOptions,
} from '../../eval/index.js';

const FLAGS = {
  model: flag.string({ arg: 'M.onnx', help: 'the model; its task, 2D/3D, input size and threshold are read from it' }),
  db: flag.string({ arg: 'DB', help: "a database from 'covseg build-db' (manifest.json, splits.json)" }),
  // No default here: --split is for --db only, so an absent one must stay visible.
  split: flag.choice({ choices: EVAL_SPLITS, arg: 'S', shownDefault: 'test', help: EVAL_SPLITS.join(' | ') }),
  sources: flag.list({ arg: 'a,b', help: 'only cases of these sources' }),
  fold: flag.string({ arg: 'F', help: "read the subsets of a validation fold instead of DB/splits.json: out=NAME (NAME's patients are the test set) or kK/I (fold I of K by patient group), as given to 'covseg train --fold'" }),
  images: flag.string({ arg: 'DIR', help: 'a folder of PNG/JPEG slices, each its own case' }),
  masks: flag.string({
    arg: 'DIR',
    help: 'their reference masks, same names: binary or label images (one grey channel, at most 16 values; nonzero = lesion), all checked before the model runs. Colour images are scored in grey, with a warning',
  }),
  lungs: flag.string({ arg: 'DIR', help: 'their lung masks, same names (lesion models: Dice inside the lungs)' }),
  'lung-model': flag.choice({
    choices: ['default', 'none'] as const, arg: 'M', default: 'default',
    help: "default: covseg's lung model (models/lung-2d.onnx) supplies lung masks where the data has none; none: score such slices unrestricted",
  }),
  threshold: flag.number({ arg: 'X', check: (n) => n > 0 && n < 1, shownDefault: "the model's own", help: 'probability cut in (0, 1)' }),
  tta: flag.boolean({ help: "2D: test-time flips, the model averaged over the four mirrors of each slice\n(as 'covseg segment --tta'); four times the model's time" }),
  batch: flag.number({ arg: 'N', default: 8, check: (n) => Number.isInteger(n) && n > 0, help: 'slices per ONNX Runtime call' }),
  'max-voxels': flag.maxVoxels(),
  json: flag.string({
    arg: 'OUT.json',
    help: 'write every case and slice and the summaries (keys: summary.dice_mean, summary.dice_std, summary.n, splits.<split>, cases[].id, cases[].dice, slices[])',
  }),
  markdown: flag.string({ arg: 'OUT.md', help: 'write the Table 2 layout: one row per case, then mean ± std, median [min, max], pooled and per-slice rows per split' }),
  figures: flag.string({ arg: 'DIR', help: 'write DIR/<split>-best-median-worst.png (CT with TP/FP/FN), DIR/<split>-dice-per-case.png, DIR/dice-per-split.png' }),
  versus: flag.string({ arg: 'M2D.onnx', help: "with a 3D --model and --db: also evaluate this 2D model on the same cases' 2D slices (a stacked volume's own slices, else its patient group's)" }),
  compare: flag.string({ arg: 'OUT.md', help: 'with --versus: write the 2D vs 3D table, one row per 3D case (Dice whole-volume and per slice), then mean ± std per split beside the method\'s figures' }),
  quiet: flag.boolean({ help: 'no progress bar' }),
};

const HELP = `covseg evaluate --model M.onnx --db DB [options]
covseg evaluate --model M.onnx --images DIR --masks DIR [--lungs DIR] [options]

Runs a covseg model (from 'covseg train') exactly as 'covseg segment' does and scores
it case by case against the reference masks, at the reference's own resolution.
The reference is the lesion mask for a lesion model (with the Dice also inside the lung
mask where there is one), the lung mask for a lung model. A lesion model's prediction
is taken inside the lungs, as 'covseg segment' reports it (its loss never saw anything
outside them): inside the data's own lung masks, or, for slices without one, inside the
lungs found by --lung-model.

What a case is:
  --db, 2D model     one patient group: its slices' TP/FP/FN are pooled (the mean of the
                     slices' own Dice, as COVID-SemiSeg papers report, is given too)
  --db, 3D model     one volume of the 3D database
  --images           one image file; masks are matched by name, extension aside
                     (COVID-SemiSeg: Imgs/12.jpg ↔ GT/12.png; nonzero = lesion)
An empty reference with an empty prediction scores Dice 1, with any prediction Dice 0;
the summary counts such cases (emptyReference, emptyBoth).

The method's 2D-vs-3D comparison: --model M3D.onnx --versus M2D.onnx --db DB --compare
OUT.md scores both on the split's cases, each on its own database grid, and writes one row
per 3D case (Dice of the whole volume, and per slice mean ± std, for both models).

Options:
${optionsHelp(FLAGS)}
The output files (replaced if they exist) and folder are checked before the model runs,
and written all or none.

Prints the Dice mean ± std per split and the files written.
`;

export const command: Command = {
  name: 'evaluate',
  help: HELP,
  flags: FLAGS,
  async run(argv) {
    const { values, positionals } = parseCommandLine('evaluate', argv, FLAGS);
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (!values.model) throw new UsageError('--model is required');
    const folderMode = values.images !== undefined || values.masks !== undefined || values.lungs !== undefined;
    if (folderMode === (values.db !== undefined)) throw new UsageError('give either --db DB or --images DIR --masks DIR');
    if (folderMode && (!values.images || !values.masks)) throw new UsageError('--images and --masks go together');
    if (folderMode && (values.split !== undefined || values.sources !== undefined || values.fold !== undefined)) throw new UsageError('--split, --sources and --fold are for --db');
    const split = values.split ?? 'test';
    const { threshold, batch: batchSize, 'max-voxels': maxVoxels, quiet } = values;
    const lungModelName = values['lung-model'];
    if (values.compare !== undefined && values.versus === undefined) throw new UsageError('--compare needs --versus M2D.onnx');
    if (values.versus !== undefined && folderMode) throw new UsageError('--versus is for --db: the 2D and 3D models are compared on one database\'s cases');

    // The outputs are checked before the model runs: a bad name fails now, not after the evaluation.
    if (values.json) await checkOutputFile(values.json, { force: true, what: '--json', extensions: ['.json'], inputs: [values.model] });
    if (values.markdown) await checkOutputFile(values.markdown, { force: true, what: '--markdown', extensions: ['.md'], inputs: [values.model] });
    if (values.figures) await checkOutputDir(values.figures, '--figures');
    if (values.compare) await checkOutputFile(values.compare, { force: true, what: '--compare', extensions: ['.md'], inputs: [values.model, values.versus!] });

    const model = await loadSegmentationModel(values.model);
    const versus = values.versus !== undefined ? await loadSegmentationModel(values.versus) : undefined;
    if (versus && (model.spec.dims !== 3 || versus.spec.dims !== 2)) {
      await model.onnx.release();
      await versus.onnx.release();
      throw new UsageError(`--versus compares a 3D --model with a 2D model; got ${model.spec.dims}D --model and ${versus.spec.dims}D --versus`);
    }
    const lungModel = model.spec.task === 'lesion' && lungModelName === 'default' ? await loadDefaultLungModel() : undefined;
    try {
      const plan = folderMode
        ? await planFolderEvaluation({ images: values.images!, masks: values.masks!, ...(values.lungs ? { lungs: values.lungs } : {}) }, model.spec)
        : await planDatabaseEvaluation(values.db!, model.spec, { split, ...(values.sources ? { sources: values.sources } : {}), ...(values.fold ? { fold: values.fold } : {}) });
      for (const w of plan.warnings) process.stderr.write(`warning: ${w}\n`);
      const bars = new StageBars({ quiet });
      const evalOptions: EvaluateModelOptions = { batchSize, maxVoxels, onProgress: bars.onProgress, tta: values.tta, ...(lungModel ? { lungModel } : {}) };
      const run = await evaluateModel(model, plan, { ...evalOptions, ...(threshold === undefined ? {} : { threshold }) });
      // The 2D model on the same split and sources, at its own threshold (--threshold is the 3D model's).
      const run2d = versus && (await evaluateModel(versus, await planDatabaseEvaluation(values.db!, versus.spec, { split, ...(values.sources ? { sources: values.sources } : {}) }), evalOptions));
      bars.end();
      // What the run itself noticed (colour pictures), after the plan's warnings printed above.
      for (const w of run.evaluation.warnings.slice(plan.warnings.length)) process.stderr.write(`warning: ${w}\n`);
      const written = await writeEvaluation(run, {
        ...(values.json ? { json: values.json } : {}),
        ...(values.markdown ? { markdown: values.markdown } : {}),
        ...(values.figures ? { figures: values.figures } : {}),
      });
      const { spec } = model;
      process.stdout.write(`${spec.dims}D ${spec.task} model ${model.file}, threshold ${run.evaluation.threshold}${run.evaluation.testTimeFlips ? `, test-time flips (${run.evaluation.testTimeFlips} mirrors)` : ''}${spec.task === 'lesion' ? `, predictions inside the lungs (${run.evaluation.lungMask})` : ''}\n`);
      for (const line of summaryLines(run.evaluation)) process.stdout.write(`${line}\n`);
      if (versus && run2d) {
        const cmp = compareDims(run.evaluation, run2d.evaluation, volumeSliceIds(await loadManifest(values.db!)));
        for (const s of cmp.splits) {
          process.stdout.write(`2D vs 3D, ${s.split} (${s.cases} cases): Dice ${s.d2.diceMean.toFixed(2)} ± ${s.d2.diceStd.toFixed(2)} vs ${s.d3.diceMean.toFixed(2)} ± ${s.d3.diceStd.toFixed(2)}, per slice ${s.d2.sliceDiceMean.toFixed(2)} vs ${s.d3.sliceDiceMean.toFixed(2)}\n`);
        }
        if (values.compare) {
          const file = values.compare;
          await explainIoErrors(file, () => writeFileAtomic(file, dimsComparisonMarkdown(cmp)));
          process.stdout.write(`wrote ${file}\n`);
        }
      }
      for (const file of written) process.stdout.write(`wrote ${file}\n`);
    } finally {
      await versus?.onnx.release();
      await model.onnx.release();
      await lungModel?.onnx.release();
    }
  },
};
