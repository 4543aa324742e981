/** `covseg build-db`: the 3D and 2D training databases from the public COVID-19 CT sources. */
import { availableParallelism } from 'node:os';
import { CovsegError, UsageError } from '../../util/errors.js';
import { flag, optionsHelp, parseCommandLine, type Command } from '../command.js';
import { SOURCE_NAMES, sourceName } from '../../datasets/index.js';
import { buildDatabase, formatSummary, type LungSegmenter, type SourceSpec } from '../../database/index.js';
import { defaultWorkers } from '../../database/pool.js';
import { StageBars } from '../progress.js';

/**
 * Opens the `--lung-model` for cases published without a lung mask: any model of the lung
 * registry (src/lungs/models.ts). Imported only when asked for, so a build without a lung
 * model never loads ONNX Runtime.
 */
async function openLungSegmenter(name: string, weightsPath: string | undefined): Promise<LungSegmenter> {
  const lungs = await import('../../lungs/index.js');
  if (!(name in lungs.LUNG_MODELS)) {
    throw new UsageError(`--lung-model '${name}' is not a lung model; available: ${Object.keys(lungs.LUNG_MODELS).join(', ')}`);
  }
  return lungs.openLungModel(name, weightsPath !== undefined ? { weightsPath } : {});
}

const FLAGS = {
  source: flag.repeated({ arg: 'NAME=PATH', help: 'a source to build from (see Sources above); repeat for more' }),
  out: flag.string({ arg: 'DB', help: 'database folder (created; required)' }),
  seed: flag.number({ arg: 'N', help: 'split seed', default: 42, check: Number.isInteger }),
  overlap: flag.choice({
    choices: ['warn', 'merge'] as const, default: 'warn',
    help: 'sources that share patients covseg cannot match one by one: warn, or merge their groups into one split unit',
  }),
  'figure-case': flag.repeated({ arg: 'ID', help: 'draw Figure 2 (original vs preprocessed slice) for a 3D case, to DB/figures/preprocessing-ID.png; repeat for more cases' }),
  'no-overview': flag.boolean({ help: 'skip the overview mosaics DB/figures/overview-*.png' }),
  'lung-model': flag.string({
    arg: 'NAME',
    help: "segment the lungs of cases published without a lung mask (MosMed volumes, COVID-SemiSeg slices) with this lung model (see 'covseg lungs --help': default, r231, …); without it their lung mask is recorded as missing",
  }),
  'lung-weights': flag.string({ arg: 'PATH', help: "weights file for --lung-model (r231 needs lungmask's .pth)" }),
  workers: flag.number({
    arg: 'N', check: (n) => Number.isInteger(n) && n >= 0, shownDefault: String(defaultWorkers()),
    help: `worker threads, 0 = none; at most this machine's cores (${availableParallelism()}) and the cases to build: more is lowered, with a warning`,
  }),
  json: flag.boolean({ help: 'print the summary as JSON' }),
  quiet: flag.boolean({ help: 'no progress bar' }),
};

const HELP = `Usage: covseg build-db --source NAME=PATH [--source NAME=PATH …] --out DB [options]

Builds the method's two training databases from any subset of the public sources:
  DB/3d/Case-NNNN/image.nrrd        CT resampled to 0.9×0.9×4.5 mm, centre-cropped/padded
                                    to 320×320×80, normalised to [0,1] (1st/99th percentile)
  DB/3d/Case-NNNN/lesion.nrrd       1 = ground-glass opacity ∪ consolidation
  DB/3d/Case-NNNN/lung.nrrd         1 = lung ∪ lesion (absent without a lung mask)
  DB/3d/Case-NNNN/lung-sides.nrrd   1 = right, 2 = left (when the source has both lungs)
  DB/2d/images|lesions|lungs/*.png  every slice with lesion, 320×320, 8-bit (masks 0/255)
  DB/manifest.json                  every case: source, ids, inputs + sha256, geometry,
                                    HU check, lung mask origin, voxel counts, crop box
  DB/splits.json                    patient-level 80/10/10 split shared by 2D and 3D
  DB/build-summary.json             per source: found/built/skipped/failed, errors
  DB/figures/*.png                  overview mosaics; Figure 2 for --figure-case
3D cases are numbered Case-0000… (mosmed, medseg9, zenodo, zenodo-slice-stacks), 2D-only slices Slice-00000…
(medseg100, zenodo-slices, semiseg), by source then original id. A rebuild skips cases
whose inputs and options are unchanged and whose files match the size and sha256 in their
record (a damaged case is rebuilt, with a warning), and continues an interrupted build,
removing the temporary files it left. One build at a time writes a DB (DB/.build-lock):
a second is refused while the first runs.

Sources (NAME=PATH, the folder the dataset was unpacked into, published layout):
  mosmed=PATH          MosMedData: studies/CT-*/study_NNNN.nii.gz, masks/study_NNNN_mask.nii.gz
  medseg100=PATH       MedSeg 100 slices: tr_im.nii.gz, tr_mask.nii.gz, tr_lungmasks_updated.nii.gz
  medseg9=PATH         MedSeg 9 volumes: rp_im/N.nii.gz, rp_msk/N.nii.gz, rp_lung_msk/N.nii.gz
  zenodo=PATH          Zenodo 3757476 (COVID-19-CT-Seg_20cases/, Infection_Mask/, Lung_Mask/)
                       or its Kaggle copy (ct_scans/, infection_mask/, lung_mask/, metadata.csv)
  zenodo-slices=PATH   PNG slice set: ct/, lungs/, covid/, slices.csv
  zenodo-slice-stacks=PATH  the same folder: each coronacases group's contiguous runs
                       (cut at gaps, at least 72 mm) stacked into volumes, 1.4×1.4×1.0 mm
                       (inferred); 3D only: give it with zenodo-slices, which holds the
                       slices (and so the same split)
  semiseg=PATH         COVID-SemiSeg: TrainingSet/MultiClassInfection-Train/{Imgs,GT}

Options:
${optionsHelp(FLAGS)}

Exit codes: 0 ok (also when some cases failed: see the summary), 1 error or every
case to build failed (e.g. a full disk), 2 bad usage.`;

/** Parses `NAME=PATH` source flags, naming the bad one. */
export function parseSources(values: readonly string[]): SourceSpec[] {
  return values.map((v) => {
    const eq = v.indexOf('=');
    const name = eq < 0 ? '' : v.slice(0, eq);
    const root = eq < 0 ? '' : v.slice(eq + 1);
    if (eq < 0 || root === '') throw new UsageError(`--source '${v}': expected NAME=PATH with NAME one of ${SOURCE_NAMES.join(', ')}`);
    return { name: sourceName(name, (problem) => new UsageError(`--source '${v}': ${problem}`)), root };
  });
}

export const command: Command = {
  name: 'build-db',
  help: HELP,
  flags: FLAGS,
  async run(argv) {
    const { values, positionals } = parseCommandLine('build-db', argv, FLAGS);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'; sources are given as --source NAME=PATH`);
    if (values.source.length === 0) throw new UsageError('no --source given; e.g. --source zenodo-slices=../shared/data/zenodo20-slices');
    if (!values.out) throw new UsageError('--out DB is required (the database folder)');
    const sources = parseSources(values.source);
    let lungSegmenter: LungSegmenter | undefined;
    if (values['lung-weights'] !== undefined && values['lung-model'] === undefined) throw new UsageError('--lung-weights needs --lung-model');
    const options = {
      seed: values.seed,
      overlap: values.overlap,
      figureCases: values['figure-case'],
      overview: !values['no-overview'],
      ...(values.workers !== undefined ? { workers: values.workers } : {}),
      onWarning: (m: string) => process.stderr.write(`covseg build-db: warning: ${m}\n`),
    };
    if (values['lung-model'] !== undefined) lungSegmenter = await openLungSegmenter(values['lung-model'], values['lung-weights']);
    const bars = new StageBars({ label: 'build-db', quiet: values.quiet });
    const summary = await buildDatabase(
      { sources, out: values.out },
      { ...options, onProgress: bars.onProgress, ...(lungSegmenter ? { lungSegmenter } : {}) },
    ).finally(() => lungSegmenter?.release?.());
    bars.end(`${summary.totals.built} built, ${summary.totals.failed} failed`);
    process.stdout.write((values.json ? JSON.stringify(summary, null, 2) : formatSummary(summary)) + '\n');
    const { built, failed } = summary.totals;
    if (failed > 0 && built === 0) {
      const first = summary.sources.flatMap((s) => s.failures)[0]!;
      throw new CovsegError(`no case was built: all ${failed} case${failed === 1 ? '' : 's'} to build failed (first, ${first.caseId}: ${first.error})`);
    }
  },
};
