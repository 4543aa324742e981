/**
 * The lung model registry: name → kind, classes, description, where the weights come
 * from, and how to open it. lungmask's U-Nets run from the user's own copy of the official
 * weights (they cannot be bundled or downloaded here); other kinds of model (covseg's own
 * ONNX lung model) join with an entry of their own.
 */
import { basename } from 'node:path';
import { CovsegError } from '../util/errors.js';
import { sha256File } from '../util/file-digest.js';
import { readStateDict } from '../nn/torch-pth/index.js';
import type { SegmentationModel } from '../infer/segmentation-model.js';
import { R231Session } from './r231-network.js';
import { segmentLungsR231, type SegmentLungsR231Options } from './r231.js';
import { DEFAULT_LUNG_MODEL_PATH, loadDefaultLungModel } from './default-model.js';
import { requireHu } from './hu-check.js';
import { hasNoGeometry } from '../infer/slice-orientation.js';
import { lungmaskInAnatomy } from './anatomy.js';
import { covsegLungSegmenter } from './lung-sides.js';
import { covsegLungModelName, type LungRunOptions, type LungSegmenter } from './segmenter.js';

export type { LungRunOptions, LungSegmenter } from './segmenter.js';

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
  /** Run settings for every `segment` call (batch size, checks, progress, warnings); a call's own settings win. Defaults to the model's own. */
  run?: LungRunOptions & Pick<SegmentLungsR231Options, 'postprocess'>;
}

export interface LungModel {
  name: string;
  kind: LungModelKind;
  /** Label names by value (index 0 = background). */
  classes: readonly string[];
  description: string;
  /** Where the weights come from, in words (for --help and errors). */
  weightsSource: string;
  /** The user must pass the weights file (`weightsPath`, `--lung-weights`). */
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
        segment: async (ct, call) => lungmaskInAnatomy(ct, await segmentLungsR231(ct, { ...options.run, ...call, huCheck: 'off', session }), call?.hu?.isHu),
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
    return namedCovsegSegmenter(await loadDefaultLungModel(path, { threads: options.threads }), options.run);
  },
};

/** covseg's own model as a segmenter, named by its file's sha256: masks made by another version of the model are told apart (and rebuilt by build-db). */
async function namedCovsegSegmenter(model: SegmentationModel, run?: LungRunOptions): Promise<LungSegmenter> {
  const sha = await sha256File(model.file);
  return covsegLungSegmenter(model, covsegLungModelName(basename(model.file), sha), run);
}

/**
 * `segmenter` (of `model`) checking the CT's intensities before it runs: the check is the
 * registry's, so no model (today's or one added later) can skip it.
 */
function checkingInput(model: Pick<LungModel, 'name' | 'acceptsImageSlices'>, segmenter: LungSegmenter, defaults: LungRunOptions = {}): LungSegmenter {
  return {
    ...segmenter,
    async segment(ct, call) {
      const run = { ...defaults, ...call };
      if (model.acceptsImageSlices && hasNoGeometry(ct)) return segmenter.segment(ct, call);
      const hu = requireHu(ct, `the lung model '${model.name}'`, { huCheck: run.huCheck, onWarning: run.onWarning, file: run.file, hu: run.hu });
      // The check made here is the model's too (its body mask reads it): the voxels are gone through once.
      return segmenter.segment(ct, hu ? { ...call, hu } : call);
    },
  };
}

/** `model` whose segmenters check the CT's intensities before they run ({@link checkingInput}). */
function withInputCheck(model: LungModel): LungModel {
  return { ...model, open: async (options) => checkingInput(model, await model.open(options), options.run) };
}

/**
 * covseg's own lung model, already loaded (a service keeps it between jobs), as the
 * registry opens it: named by its file's sha256, checking its input.
 */
export async function covsegLungSegmenterOf(model: SegmentationModel, run: LungRunOptions = {}): Promise<LungSegmenter> {
  return checkingInput(DEFAULT_MODEL, await namedCovsegSegmenter(model, run), run);
}

/** Every model `--lung-model` accepts, by name. */
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
