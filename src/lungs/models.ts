/**
 * The lung model registry: name → kind, classes, description, where the weights come
 * from, and how to open it. lungmask's U-Nets run from the user's own copy of the official
 * weights (they cannot be bundled or downloaded here); other kinds of model (covseg's own
 * ONNX lung model) join with an entry of their own.
 */
import { basename } from 'node:path';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CovsegError } from '../util/errors.js';
import { readStateDict } from '../nn/torch-pth/index.js';
import type { LabelMap, Volume } from '../volume/volume.js';
import { R231Session } from './r231-network.js';
import { segmentLungsR231, type SegmentLungsR231Options } from './r231.js';
import { DEFAULT_LUNG_MODEL_PATH, loadDefaultLungModel, segmentLungsDefault } from './default-model.js';
import { requireHu } from './hu-check.js';
import { hasNoGeometry } from '../infer/slice-orientation.js';
import { lungmaskInAnatomy } from './anatomy.js';

/**
 * How a model runs:
 * - `'lungmask-unet'`: lungmask's U-Net from a PyTorch `.pth` state_dict, with lungmask's
 *   exact pre- and post-processing (src/lungs/r231*.ts).
 * - `'covseg-unet'`: covseg's own 2D lung U-Net, an ONNX file from `covseg train --task lung`
 *   shipped in models/ (src/lungs/default-model.ts).
 */
export type LungModelKind = 'lungmask-unet' | 'covseg-unet';

export interface OpenLungModelOptions {
  /** The weights file, for models whose weights the user supplies. Defaults to none (an error for those models). */
  weightsPath?: string;
  /** ONNX Runtime threads. Defaults to 2. */
  threads?: number;
  /** Per-run settings passed to every `segment` call (batch size, progress, warnings). Defaults to the model's own. */
  run?: Omit<SegmentLungsR231Options, 'session' | 'weightsPath' | 'threads' | 'expectedClasses'>;
}

/** An opened lung model. `segment` gives labels on the CT's own grid. */
export interface LungSegmenter {
  /** `<model>:<weights file name>`, recorded with the masks it makes. */
  name: string;
  /** Label names by value (index 0 = background). */
  classes: readonly string[];
  /** Refuses (or, with `run.huCheck: 'warn'`, warns about) a CT not in Hounsfield units, naming `source.file`. */
  segment(ct: Volume, source?: { file?: string }): Promise<LabelMap>;
  release(): Promise<void>;
}

export interface LungModel {
  name: string;
  kind: LungModelKind;
  /** Label names by value (index 0 = background). */
  classes: readonly string[];
  description: string;
  /** Where the weights come from, in words (for --help and errors). */
  weightsSource: string;
  /** The user must pass the weights file (`weightsPath`, `--weights`). */
  needsWeights: boolean;
  /**
   * Segments image files (PNG/JPEG slices, no geometry), whose values are never HU, as
   * `covseg segment` does: the HU check is then for volumes only. Otherwise every input
   * must be in HU.
   */
  acceptsImageSlices: boolean;
  open(options: OpenLungModelOptions): Promise<LungSegmenter>;
}

const LUNG_CLASSES = ['background', 'right lung', 'left lung'] as const;
const LOBE_CLASSES = ['background', 'left upper lobe', 'left lower lobe', 'right upper lobe', 'right middle lobe', 'right lower lobe'] as const;
const LUNGMASK_RELEASE = 'https://github.com/JoHof/lungmask/releases/download/v0.0';

function lungmaskModel(name: string, file: string, classes: readonly string[], description: string): LungModel {
  const url = `${LUNGMASK_RELEASE}/${file}`;
  return {
    name,
    kind: 'lungmask-unet',
    classes,
    description,
    weightsSource: `user-supplied: download ${file} (~124 MB, Apache-2.0) from ${url}`,
    needsWeights: true,
    acceptsImageSlices: false,
    async open(options) {
      if (!options.weightsPath) {
        throw new CovsegError(
          `model '${name}' needs lungmask's weights file, which covseg cannot bundle: download ${file} from ${url} and pass its path (--lung-weights PATH)`,
        );
      }
      const weightsPath = options.weightsPath;
      const session = await R231Session.create(await readStateDict(weightsPath), { file: weightsPath, threads: options.threads });
      if (session.classes !== classes.length) {
        await session.release();
        throw new CovsegError(
          `the weights have ${session.classes} classes but model '${name}' has ${classes.length} (${file}); pick the model that matches the file`,
          { file: weightsPath },
        );
      }
      return {
        name: `${name}:${basename(weightsPath)}`,
        classes,
        // The registry has checked the HU (see withInputCheck).
        segment: async (ct) => lungmaskInAnatomy(ct, await segmentLungsR231(ct, { ...options.run, huCheck: 'off', session })),
        release: () => session.release(),
      };
    },
  };
}

/** covseg's own lung model: no download needed; `weightsPath` may point at another ONNX file from `covseg train --task lung`. */
const DEFAULT_MODEL: LungModel = {
  name: 'default',
  kind: 'covseg-unet',
  classes: LUNG_CLASSES,
  description: "covseg's 2D lung U-Net (models/lung-2d.onnx), trained on the Zenodo 20-case lung masks; fast on CPU",
  weightsSource: 'bundled: models/lung-2d.onnx (see models/README.md)',
  needsWeights: false,
  // Its input transform (percentiles, CLAHE) makes HU scans and 8-bit slice exports look alike.
  acceptsImageSlices: true,
  async open(options) {
    const path = options.weightsPath ?? DEFAULT_LUNG_MODEL_PATH;
    const model = await loadDefaultLungModel(path, { threads: options.threads });
    // The file's hash in the name: masks made by another version of the model are told apart (and rebuilt by build-db).
    const sha = createHash('sha256').update(await readFile(path)).digest('hex').slice(0, 12);
    return {
      name: `default:${basename(path)}@${sha}`,
      classes: LUNG_CLASSES,
      async segment(ct) {
        const labels = await segmentLungsDefault(ct, { model, onProgress: options.run?.onProgress });
        if (!labels.data.some((v) => v !== 0)) {
          // An empty mask is never silent (lungmask's most reported failure).
          const message = 'no lung was found: is this a chest CT with axial slices through the lungs?';
          if ((options.run?.emptyResult ?? 'error') === 'error') throw new CovsegError(message);
          (options.run?.onWarning ?? ((m: string) => void process.stderr.write(`warning: ${m}\n`)))(message);
        }
        return labels;
      },
      release: () => model.onnx.release(),
    };
  },
};

/**
 * `model` whose segmenters check the CT's intensities before they run: the check is the
 * registry's, so no model (today's or one added later) can skip it.
 */
function withInputCheck(model: LungModel): LungModel {
  return {
    ...model,
    async open(options) {
      const segmenter = await model.open(options);
      return {
        ...segmenter,
        async segment(ct, source) {
          if (!(model.acceptsImageSlices && hasNoGeometry(ct))) requireHu(ct, `the lung model '${model.name}'`, { huCheck: options.run?.huCheck, onWarning: options.run?.onWarning, file: source?.file });
          return segmenter.segment(ct, source);
        },
      };
    },
  };
}

/** Every model `covseg lungs --lung-model` accepts, by name. */
export const LUNG_MODELS: Record<string, LungModel> = Object.fromEntries(
  [
    DEFAULT_MODEL,
    lungmaskModel('r231', 'unet_r231-d5d2fc3d.pth', LUNG_CLASSES, "lungmask's R231: both lungs, trained on routine CT (Hofmanninger et al. 2020)"),
    lungmaskModel('ltrclobes', 'unet_ltrclobes-3a07043d.pth', LOBE_CLASSES, "lungmask's LTRCLobes: the five lung lobes"),
    lungmaskModel('r231covidweb', 'unet_r231covid-0de78a7e.pth', LUNG_CLASSES, "lungmask's R231 fine-tuned on COVID-19 CT from the web"),
  ].map((m) => [m.name, withInputCheck(m)]),
);

/** The registry entry for `name`; the error lists the valid names. */
export function lungModel(name: string): LungModel {
  const model = LUNG_MODELS[name];
  if (!model) throw new CovsegError(`unknown lung model '${name}'; choose one of ${Object.keys(LUNG_MODELS).join(', ')}`);
  return model;
}

/** Opens the model called `name` (see {@link LUNG_MODELS}). */
export async function openLungModel(name: string, options: OpenLungModelOptions = {}): Promise<LungSegmenter> {
  return lungModel(name).open(options);
}
