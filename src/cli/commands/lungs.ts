/** `covseg lungs INPUT OUTPUT`: lung (or lobe) label map of a CT with lungmask's U-Nets. */
import { resolve } from 'node:path';
import { CovsegError, UsageError } from '../../util/errors.js';
import { checkOutputFile, writeFilesAtomic, type PendingFile } from '../../util/output-target.js';
import { StageBars } from '../progress.js';
import { flag, lungModelFlag, optionsHelp, parseCommandLine, type Command } from '../command.js';
import { readImage, VOLUME_OUTPUT_EXTENSIONS, writeVolume } from '../../io/index.js';
import { checkHu } from '../../volume/hu.js';
import { voxelVolumeMl } from '../../volume/volume.js';
import { labelValues } from '../../volume/labels.js';
import { saveFigure } from '../../figures/index.js';
import { overlaySheet, overlaySlices } from '../../segment/overlays.js';
import { LUNG_MODELS, lungModel } from '../../lungs/models.js';

const MODEL_LINES = Object.values(LUNG_MODELS)
  .map((m) => [
    `  ${m.name.padEnd(13)} ${m.description}`,
    `${''.padEnd(16)}labels: ${m.classes.slice(1).map((c, i) => `${i + 1} ${c}`).join(', ')}`,
    `${''.padEnd(16)}weights: ${m.weightsSource.replace(' from ', '\n' + ''.padEnd(25) + 'from ')}`,
  ].join('\n'))
  .join('\n');

const FLAGS = {
  'lung-model': flag.lungModel({ aliases: ['model'], help: `one of ${Object.keys(LUNG_MODELS).join(', ')}` }),
  'lung-weights': flag.lungWeights({ aliases: ['weights'], help: "the model's weights file (.pth as released, zip or legacy format)" }),
  batch: flag.number({ arg: 'N', default: 20, shownDefault: '20, as lungmask', check: (n) => Number.isInteger(n) && n >= 1, help: 'slices per network call' }),
  threads: flag.threads({ fallback: 2, help: "ONNX Runtime threads; at most the machine's cores" }),
  series: flag.string({ arg: 'UID', shownDefault: 'the one with most voxels', help: 'DICOM folder: read this series' }),
  'max-voxels': flag.maxVoxels(),
  'allow-non-hu': flag.boolean({ help: 'go on (with a warning) when INPUT does not look like HU' }),
  'allow-label-map': flag.boolean({ help: 'go on (with a warning) when INPUT looks like a label map (at most 16 distinct integer values), not a CT' }),
  'allow-empty': flag.boolean({ help: 'write an empty mask (with a warning) instead of failing when no lung is found' }),
  figure: flag.string({
    arg: 'PNG',
    help: "also draw representative slices with the right lung red and the left lung green (the method's Figure 1); OUTPUT and PNG are written both or neither",
  }),
  // --force was this flag's name; it keeps meaning "overwrite" here, with a note.
  overwrite: flag.boolean({ aliases: ['force'], help: 'replace OUTPUT (and the --figure PNG) if it exists (never INPUT)' }),
  quiet: flag.boolean({ help: 'no progress bar' }),
};

const HELP = `Usage: covseg lungs INPUT OUTPUT [--lung-model NAME] [--lung-weights FILE] [options]

Segments the lungs of the CT in INPUT and writes the label map to OUTPUT, on INPUT's
exact grid (same dims, spacing, origin and direction): 1 = right lung, 2 = left lung.
The default model is covseg's own (bundled, fast on CPU); lungmask's models run with
lungmask's own pre- and post-processing, so their masks match lungmask's.

INPUT    a CT in Hounsfield units: a NIfTI, NRRD or MetaImage file, or a DICOM
         folder (the series with the most voxels, or --series); every model refuses
         a volume not in HU. The default model also reads PNG/JPEG slices
OUTPUT   label map file; the extension picks the format: .nii.gz, .nii, .nrrd,
         .seg.nrrd (3D Slicer segments, named), .mha

Models (--lung-model):
${MODEL_LINES}

lungmask's weights cannot be bundled with covseg: download the file named above once
and pass it with --lung-weights. For the default model, --lung-weights may name another
lung model from 'covseg train --task lung'.

Options:
${optionsHelp(FLAGS)}

Exit codes: 0 ok, 1 error (unreadable input, not HU, no lung found), 2 bad usage.`;

export const command: Command = {
  name: 'lungs',
  help: HELP,
  flags: FLAGS,
  async run(argv) {
    const { values, positionals } = parseCommandLine('lungs', argv, FLAGS);
    if (positionals.length !== 2) throw new UsageError(`expected INPUT and OUTPUT, got ${positionals.length} argument(s)`);
    const [input, output] = positionals as [string, string];
    const modelName = lungModelFlag(values['lung-model'], values['lung-weights']);
    const model = lungModel(modelName);
    const { batch: batchSize, threads, 'max-voxels': maxVoxels } = values;
    if (values.figure !== undefined && model.classes.length !== 3) throw new UsageError(`--figure draws the right and left lung; model '${modelName}' labels ${model.classes.length - 1} lobes`);
    // Every output is checked before the CT is read: a bad name fails now, not after the inference.
    await checkOutputFile(output, { force: values.overwrite, what: 'output', extensions: VOLUME_OUTPUT_EXTENSIONS, inputs: [input] });
    if (values.figure !== undefined) {
      if (resolve(values.figure) === resolve(output)) throw new UsageError('--figure and OUTPUT name the same file');
      await checkOutputFile(values.figure, { force: values.overwrite, what: '--figure', extensions: ['.png'], inputs: [input] });
    }

    const { volume: ct, meta } = await readImage(input, { maxVoxels, ...(values.series !== undefined ? { seriesInstanceUid: values.series } : {}) });
    for (const w of meta.warnings) process.stderr.write(`covseg lungs: warning: ${w}\n`);
    const labelled = labelValues(ct.data);
    if (labelled) {
      // A mask given as the CT (often the output of an earlier run) segments into nothing sensible.
      const message = `holds only the values ${labelled.join(', ')}: a label map, not a CT`;
      if (!values['allow-label-map']) throw new CovsegError(`${message}; pass --allow-label-map to segment it anyway`, { file: input });
      process.stderr.write(`covseg lungs: warning: ${input}: ${message} (--allow-label-map)\n`);
    }
    const bars = new StageBars({ label: `lungs ${modelName}`, quiet: values.quiet });
    bars.onProgress(0, ct.dims[2]);
    const segmenter = await model.open({
      weightsPath: values['lung-weights'],
      threads,
      run: {
        batchSize,
        huCheck: values['allow-non-hu'] ? 'warn' : 'error',
        emptyResult: values['allow-empty'] ? 'warn' : 'error',
        onWarning: (m) => process.stderr.write(`covseg lungs: warning: ${m}\n`),
        onProgress: (done) => bars.onProgress(done, ct.dims[2]),
      },
    });
    try {
      const labels = await segmenter.segment(ct, { file: input });
      bars.end();
      const names: Record<number, string> = {};
      model.classes.forEach((c, i) => { if (i > 0) names[i] = c; });
      // Everything is drawn first and written as one: the mask and the figure both, or neither.
      const files: PendingFile[] = [{ path: output, write: (tmp) => writeVolume(tmp, labels, { labels: true, labelNames: names }) }];
      const figure = values.figure;
      if (figure !== undefined) {
        // The method's Figure 1: right lung red, left lung green, over representative slices.
        const sheet = overlaySheet(overlaySlices(ct, labels, undefined, checkHu(ct).isHu));
        files.push({ path: figure, write: (tmp) => saveFigure(tmp, sheet) });
      }
      await writeFilesAtomic(files);
      const counts = new Array<number>(model.classes.length).fill(0);
      for (const v of labels.data) counts[v] = (counts[v] ?? 0) + 1;
      // Unknown voxel size (image files, a NIfTI with pixdim 0): voxel counts, no mL.
      const ml = voxelVolumeMl(labels);
      const parts = model.classes.slice(1).map((c, i) => `${c} ${meta.spacingKnown ? `${(counts[i + 1]! * ml).toFixed(1)} mL` : `${counts[i + 1]} voxels`}`);
      const unknown = meta.spacingKnown ? '' : ' (mL not available: the voxel size is unknown)';
      process.stdout.write(`wrote ${output} (${segmenter.name}): ${parts.join(', ')}${unknown}\n`);
      if (figure !== undefined) process.stdout.write(`figure ${figure}\n`);
    } finally {
      await segmenter.release();
    }
  },
};
