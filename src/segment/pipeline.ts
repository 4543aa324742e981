/**
 * `covseg segment`'s one pipeline, on a CT in memory: input checks → lungs → lesions
 * inside them → report. The command (segment-case.ts: read → this → write) and the web
 * page's browser mode (segment-in-browser.ts: decode → this) are shells around it, so both
 * give the same numbers. No file or Node access here: the models come in opened, whatever
 * runtime backs them (onnxruntime-node, onnxruntime-web).
 *
 * The CT is reoriented once, here, and its intensities checked once: every step after
 * reads the LPS-ordered volume in place (no step copies it again) and takes the HU check
 * as given. The masks come back in LPS order with the transform; the shell puts them back
 * on the input's grid when it writes or shows them.
 */
import { createVolume, type LabelMap, type Volume, type VoxelArray } from '../volume/volume.js';
import { asLps, type ReorientTransform } from '../volume/index.js';
import type { SegmentationModel } from '../infer/segmentation-model.js';
import { hasNoGeometry, quarterTurn } from '../infer/slice-orientation.js';
import { lungSidesOf, type LungSegmenter } from '../lungs/segmenter.js';
import type { AnatomyRemoved } from '../lungs/anatomy.js';
import { CovsegError } from '../util/errors.js';
import { lapTimer } from '../util/laps.js';
import { buildReport, lesionSpread, type SegmentReport } from './report.js';
import { checkInput, findLesionsWithSpread, isImageFile, lesionModelName, qualityOf, type FoundLesions, type InputMeta } from './segment-volume.js';
import { clinicalFigures, type ClinicalInput } from '../clinical/measure.js';
import { labelsLobes } from '../clinical/lobes.js';
import { lesionTypeMap } from '../clinical/lesion-types.js';

/** The stages `onProgress` reports, in order ('read' and 'write' are the shells'; 'lobes' only with a lobe model; loading the models is timed, not counted). */
export type SegmentStage = 'read' | 'lungs' | 'lesions' | 'lobes' | 'report' | 'write';

/** The opened models: a lung model of the registry (or the browser's copy of covseg's), a lesion model, and optionally a lobe model. */
export interface SegmentModels {
  lungs: LungSegmenter;
  lesion: SegmentationModel;
  /**
   * A lobe labeller (lungmask's LTRCLobes, classes as src/clinical/lobes.ts lists them) for
   * the lobe scores. Defaults to none: the lung model's own labels serve when it labels
   * lobes, else the lobe scores say they need lobes.
   */
  lobes?: LungSegmenter;
}

export interface SegmentCtOptions {
  /** Segment input that fails the CT/HU checks anyway, with a warning in the report. Defaults to false. */
  force?: boolean;
  /** The input as the report names it. Defaults to `meta.path`. */
  inputName?: string;
  /** When the shell started reading the input (`performance.now()`): the report's 'read' time counts from there. Defaults to now. */
  startedAtMs?: number;
  /** Called with (stage, done, total) as each stage goes on. Defaults to none. */
  onProgress?: (stage: SegmentStage, done: number, total: number) => void;
  /**
   * Test-time flips: the lesion model on the four mirrors of each slice, averaged, and the
   * spread of the figures over them in `report.lesionSpread` (4× the lesion model's time). Defaults to false.
   */
  tta?: boolean;
}

export interface SegmentedCt {
  /** The report, with no output files yet (`outputs` is empty) and the times of the stages so far. */
  report: SegmentReport;
  /** The CT and its masks in LPS order, one grid: lungs 1 = right, 2 = left; lesions 0/1, inside the lungs; lobes (LTRCLobes labels) when a lobe model ran. */
  lps: { ct: Volume; lungs: LabelMap; lesions: LabelMap; lobes?: LabelMap };
  /** `fromLps(mask, transform)` (src/volume) puts a mask back on the input's own grid. */
  transform: ReorientTransform;
  /** What the clinical figures were computed from, for their pictures (src/clinical `clinicalPictures`). */
  clinical: ClinicalInput;
  /**
   * The lesion model's probability (0–1) in LPS order on `lps.ct`'s grid, where the model ran
   * (0 on slices without lung); absent when no lungs were in view. pseudo-label's confidence.
   */
  lesionProbability?: Volume<Float32Array>;
}

/**
 * Lungs, lesions inside them and the report for `ct`, read as `meta` says. `models` is
 * called once the input has passed the checks, so a refused scan costs no model loading
 * (or download, in the browser).
 */
export async function segmentCt(ct: Volume, meta: InputMeta, models: () => Promise<SegmentModels>, options: SegmentCtOptions = {}): Promise<SegmentedCt> {
  const progress = options.onProgress ?? (() => {});
  const timingsMs: Record<string, number> = {};
  const lap = lapTimer(timingsMs, options.startedAtMs);
  const check = checkInput(ct, meta, { force: options.force });
  const { warnings } = check;
  const { volume: lps, transform } = asLps(ct);
  lap('read');

  const { lungs: lungModel, lesion: lesionModel, lobes: lobeModel } = await models();
  if (lobeModel && !labelsLobes(lobeModel.classes)) {
    throw new CovsegError(`the lobe model '${lobeModel.name}' labels ${lobeModel.classes.slice(1).join(', ')}, not the five lobes of lungmask's LTRCLobes`);
  }
  lap('models');

  const step: StepContext = { meta, check, warnings, progress };
  const found = await findLungs(lps, lungModel, step, options.force ?? false);
  lap('lungs');

  // Lesions, only inside the lungs (affected lung is lung by definition).
  // No lungs in view, no lesions to look for: the lesion model is not run.
  const { view, lungsView, back } = found;
  const lesionsFound: Partial<FoundLesions> & Pick<FoundLesions, 'lesions'> = found.anyLung
    ? await findLesionsWithSpread(view, lungsView, lesionModel, { isHu: check.isHu, tta: options.tta ?? false, onProgress: (d, n) => progress('lesions', d, n) })
    : { lesions: createVolume(new Uint8Array(lungsView.data.length), lungsView.dims, lungsView) as LabelMap };
  const lungs = back(lungsView);
  const lesions = back(lesionsFound.lesions);
  lap('lesions');

  const { lobes, lobesUnavailableReason } = await findLobes(found, lungModel, lobeModel, step);
  if (lobeModel) lap('lobes');

  progress('report', 0, 1);
  const report = buildReport(lungs, lesions, {
    ct,
    meta,
    path: options.inputName ?? meta.path,
    check,
    quality: qualityOf(lps, lungs, meta, check, found.anatomy),
    models: { lung: lungModel.name, lesion: lesionModelName(lesionModel), ...(lobeModel ? { lobes: lobeModel.name } : {}) },
    timingsMs,
    warnings,
  });
  if (lesionsFound.members) report.lesionSpread = lesionSpread(lungs, lesionsFound.members.map(back), check.spacingKnown, report.quality);
  lap('report');
  // Ground glass vs consolidation, where the disease is, the CT scores (src/clinical). Scores
  // only where a grade can be given: a zone score of half a lung means nothing.
  const clinical: ClinicalInput = {
    ct: lps, lungs, lesions, isHu: check.isHu, huReason: check.huReason, spacingKnown: check.spacingKnown,
    assessable: report.severity.category !== null,
    ...(lobes ? { lobes } : lobesUnavailableReason ? { lobesUnavailableReason } : {}),
    ...(report.severity.reason ? { notAssessableReason: report.severity.reason } : {}),
  };
  report.clinical = clinicalFigures(clinical);
  lap('clinical');
  progress('report', 1, 1);
  const probability = lesionsFound.probability && back(lesionsFound.probability);
  return { report, lps: { ct: lps, lungs, lesions, ...(lobes ? { lobes } : {}) }, transform, clinical, ...(probability ? { lesionProbability: probability } : {}) };
}

/**
 * The lesion by type, 1 ground glass / 2 consolidation (src/clinical `lesionTypeMap`, split
 * where the report's figures split it), on the grid of `ct`, `lungs` and `lesions` (the
 * input's or the pipeline's LPS one): for HU input only, undefined otherwise. Both shells
 * give it to viewers: segment as lesion-types.nii.gz, browser mode to the page.
 */
export function lesionTypesOf(ct: Volume, lungs: LabelMap, lesions: LabelMap, report: SegmentReport): LabelMap | undefined {
  const consolidationFrom = consolidationFromOf(report);
  return consolidationFrom === undefined ? undefined : lesionTypeMap(ct, lungs, lesions, true, consolidationFrom);
}

/** Where the report's figures split the lesion (HU: consolidation from this value up), or undefined when they could not (no HU). */
export function consolidationFromOf(report: SegmentReport): number | undefined {
  const density = report.clinical?.density;
  return density?.available ? density.consolidationFrom : undefined;
}

/** What every step of segmentCt reads: the input, its one check, the warnings it adds to, progress. */
interface StepContext {
  meta: InputMeta;
  check: ReturnType<typeof checkInput>;
  warnings: string[];
  progress: (stage: SegmentStage, done: number, total: number) => void;
}

/** The lungs, on the view the lung model read (an image file may be read turned), and `back` to undo the turn. */
interface LungsFound {
  view: Volume;
  labels: LabelMap;
  lungsView: LabelMap;
  anyLung: boolean;
  anatomy: AnatomyRemoved | undefined;
  back: <T extends VoxelArray>(m: Volume<T>) => Volume<T>;
}

async function findLungs(lps: Volume, lungModel: LungSegmenter, { meta, check, warnings, progress }: StepContext, force: boolean): Promise<LungsFound> {
  // An image file lying on its side is read the way round the lung model finds the lungs best.
  const turns = lungModel.chooseTurns && hasNoGeometry(lps) ? await lungModel.chooseTurns(lps) : 0;
  if (turns) warnings.push(`the image was read turned by ${turns * 90}° (counter-clockwise), the way round the lungs were found best; right/left labels follow that reading`);
  const view = quarterTurn(lps, turns);
  const isSlice = isImageFile(meta);
  let anatomy: AnatomyRemoved | undefined;
  const labels = await lungModel.segment(view, {
    file: meta.path,
    hu: check.hu,
    // checkInput has ruled on a volume's HU; image files it lets through, for the models that read them to take.
    huCheck: isSlice ? (force ? 'warn' : 'error') : 'off',
    orientation: 'as-stored',
    // An empty mask is refused below, in the pipeline's own words (its warning goes with the refusal).
    emptyResult: 'warn',
    onWarning: (m) => warnings.push(m),
    onProgress: (d, n) => progress('lungs', d, n),
    onAnatomy: (removed) => (anatomy = removed),
  });
  const lungsView = lungSidesOf(labels, lungModel.classes);
  const anyLung = lungsView.data.some((v) => v !== 0);
  // An image file without lungs is most likely not a CT slice at all. A scan with geometry
  // and no lungs in view is an answer, not an error: its report says "no lungs in view"
  // (quality 'none') and gives no grade.
  if (isSlice && !anyLung) {
    throw new CovsegError('no lungs were found in this image, so lung involvement cannot be measured. Is it a chest CT (axial slices through the lungs)?', { file: meta.path });
  }
  const back = <T extends VoxelArray>(m: Volume<T>): Volume<T> => (turns ? createVolume(quarterTurn(m, -turns).data, lps.dims, lps) : m);
  return { view, labels, lungsView, anyLung, anatomy, back };
}

/** Lobes for the lobe scores: the lobe model's, or the lung model's own labels when it labels lobes; else none, with the reason where there is one. */
async function findLobes(found: LungsFound, lungModel: LungSegmenter, lobeModel: LungSegmenter | undefined, { meta, check, warnings, progress }: StepContext): Promise<{ lobes?: LabelMap; lobesUnavailableReason?: string }> {
  if (!lobeModel) return labelsLobes(lungModel.classes) ? { lobes: found.back(found.labels) } : {};
  if (!check.isHu) {
    // lungmask's networks read HU windows: on other values their lobes would be noise.
    const lobesUnavailableReason = `the lobe model reads CT volumes in Hounsfield units only: ${check.huReason}`;
    warnings.push(`no lobe scores: ${lobesUnavailableReason}`);
    return { lobesUnavailableReason };
  }
  if (!found.anyLung) return {};
  const labelled = await lobeModel.segment(found.view, {
    file: meta.path, hu: check.hu, huCheck: 'off', orientation: 'as-stored', emptyResult: 'warn',
    onWarning: (m) => warnings.push(`lobe model: ${m}`),
    onProgress: (d, n) => progress('lobes', d, n),
  });
  return { lobes: found.back(labelled) };
}
