/**
 * `covseg segment`: one new scan in, lungs + lesions + report out. Reads any CT the
 * project reads, refuses what it should not guess about (non-CT, non-HU volumes, no
 * lungs), segments the lungs, then lesions inside them, and writes everything into
 * a temporary folder that is renamed into place only when complete.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromLps } from '../volume/index.js';
import type { LabelMap, Volume } from '../volume/volume.js';
import { DicomSegError, DicomSrError, readImage, writeDicomSeg, writeVolume, type ImageMeta, type WrittenDicomSeg } from '../io/index.js';
import { encodePng } from '../io/raster.js';
import { figureToPng } from '../figures/index.js';
import { loadSegmentationModel, type SegmentationModel } from '../infer/segmentation-model.js';
import { DEFAULT_LUNG_MODEL_PATH } from '../lungs/default-model.js';
import { covsegLungSegmenterOf, openLungModel } from '../lungs/models.js';
import type { LungSegmenter } from '../lungs/segmenter.js';

/** The file lungmask releases LTRCLobes' weights as (src/lungs/models.ts). */
const LOBE_WEIGHTS_FILE = 'unet_ltrclobes-3a07043d.pth';
import { CLASS_CONSOLIDATION, CLASS_GROUND_GLASS, clinicalPictures, LOBES } from '../clinical/index.js';
import { replaceFolder, tempPathFor } from '../util/atomic-write.js';
import { sha256File } from '../util/file-digest.js';
import { describeIoError } from '../util/output-target.js';
import { CovsegError } from '../util/errors.js';
import { lapTimer } from '../util/laps.js';
import type { SegmentReport } from './report.js';
import { renderReportHtml } from './report-html.js';
import { overlaySheet, overlaySlices } from './overlays.js';
import { lungAndLesionSegments } from './dicom-seg-segments.js';
import { algorithmOf, writeMeasurementSr } from './dicom-sr-content.js';
import { isImageFile } from './segment-volume.js';
import { consolidationFromOf, lesionTypesOf, segmentCt, type SegmentModels, type SegmentStage } from './pipeline.js';

export type { SegmentStage } from './pipeline.js';

export const DEFAULT_LESION_MODEL_PATH = fileURLToPath(new URL('../../../models/lesion-2d.onnx', import.meta.url));

export interface SegmentOptions {
  /** A lung model of the registry (src/lungs/models.ts: default, r231, r231covidweb, ltrclobes). Defaults to 'default' (models/lung-2d.onnx). */
  lungModel?: string;
  /** The lung model's weights: lungmask's `.pth` for its models (required there), another ONNX lung model for 'default'. Defaults to the model's own. */
  lungWeights?: string;
  /** lungmask's LTRCLobes weights (`.pth`): the lobes for the lobar TSS and Pan scores, written as lobes.nii.gz. Defaults to none (no lobe scores, unless the lung model labels lobes). */
  lobeWeights?: string;
  /** Lesion model (ONNX from `covseg train`, 2D or 3D). Defaults to models/lesion-2d.onnx. */
  lesionModel?: string;
  /** Already loaded models (a server reuses them across jobs); `lung` is covseg's own, used when `lungModel` is 'default'; `lobes` (from `openLobeModel(lobeWeights)`) is used in place of opening `lobeWeights`. */
  loaded?: { lung?: SegmentationModel; lesion?: SegmentationModel; lobes?: LungSegmenter };
  /** Segment input that fails the CT/HU checks anyway (with a warning in the report). Defaults to false. */
  force?: boolean;
  /** Test-time flips of the lesion model, with the spread in the report (src/segment/pipeline.ts). Defaults to false. */
  tta?: boolean;
  /** Replace an existing output folder. Defaults to false (an existing non-empty folder is an error). */
  overwrite?: boolean;
  /** Also write the CT as ct.nii.gz (for viewers that need NIfTI). Defaults to false. */
  writeViewerCt?: boolean;
  /** ONNX Runtime threads. Defaults to 2. */
  threads?: number;
  /** Name of the input shown in the report (e.g. an uploaded file's own name). Defaults to the input's absolute path. */
  inputName?: string;
  /** Most voxels the input may have, checked from its header before decoding. Defaults to DEFAULT_MAX_VOXELS (src/io/limits.ts). */
  maxVoxels?: number;
  onProgress?: (stage: SegmentStage, done: number, total: number) => void;
}

export interface SegmentResult {
  outDir: string;
  report: SegmentReport;
  files: { lungs: string; lesions: string; reportJson: string; reportHtml: string; overlays: string[]; lobes?: string; lesionTypes?: string; viewerCt?: string; lungsPng?: string; lesionsPng?: string; dicomSeg?: string; dicomSr?: string };
}

/** `files`, named relative to `dir`, as absolute paths (what SegmentResult gives). */
export function filesIn(dir: string, files: SegmentResult['files']): SegmentResult['files'] {
  const entries = Object.entries(files).filter(([, v]) => v !== undefined).map(([k, v]) => [k, Array.isArray(v) ? v.map((f: string) => join(dir, f)) : join(dir, v as string)]);
  return Object.fromEntries(entries) as SegmentResult['files'];
}

/** Output extension: the input's format family (NIfTI in → NIfTI out; DICOM and slices → NIfTI). */
function maskExtension(meta: ImageMeta): string {
  if (meta.format === 'nrrd') return '.nrrd';
  if (meta.format === 'mha') return '.mha';
  return '.nii.gz';
}

/** Opens the models `options` name, each once per `load`; `release` frees the ones opened here (not the caller's `loaded`). */
export function modelLoader(options: SegmentOptions): { load: () => Promise<SegmentModels>; release: () => Promise<void> } {
  const opened: { release(): Promise<void> }[] = [];
  const load = async (): Promise<SegmentModels> => {
    // The lobe model first: a wrong weights file fails before the other models load.
    let lobes = options.lobeWeights === undefined ? undefined : options.loaded?.lobes;
    if (options.lobeWeights !== undefined && !lobes) {
      lobes = await openLobeModel(options.lobeWeights, options.threads);
      opened.push(lobes);
    }
    const name = options.lungModel ?? 'default';
    let lungs: LungSegmenter;
    if (name === 'default' && options.loaded?.lung && !options.lungWeights) {
      lungs = await covsegLungSegmenterOf(options.loaded.lung);
    } else {
      lungs = await openLungModel(name, { weightsPath: options.lungWeights, threads: options.threads });
      opened.push(lungs);
    }
    let lesion = options.loaded?.lesion;
    if (!lesion) {
      lesion = await loadSegmentationModel(options.lesionModel ?? DEFAULT_LESION_MODEL_PATH, { threads: options.threads });
      opened.push(lesion.onnx);
    }
    return { lungs, lesion, ...(lobes ? { lobes } : {}) };
  };
  return { load, release: async () => void (await Promise.all(opened.map((m) => m.release()))) };
}

/** lungmask's LTRCLobes from `weightsPath`; a file that is not its weights is refused in the words of `--lobe-weights`. */
export async function openLobeModel(weightsPath: string, threads: number | undefined): Promise<LungSegmenter> {
  try {
    return await openLungModel('ltrclobes', { weightsPath, threads });
  } catch (err) {
    if (!(err instanceof CovsegError)) throw err;
    const reason = err.file ? err.message.slice(err.file.length + 2) : err.message;
    throw new CovsegError(`not usable as lobe weights (lungmask's LTRCLobes, ${LOBE_WEIGHTS_FILE}): ${reason.replace(/; pick the model that matches the file$/, '')}`, { file: weightsPath, cause: err });
  }
}

/** Refuses `weightsPath` now if it is not LTRCLobes weights (openLobeModel's words): a batch or a service checks before its first scan, whose every job would fail. */
export async function checkLobeWeights(weightsPath: string): Promise<void> {
  await (await openLobeModel(weightsPath, 1)).release();
}

/** `covseg segment`: reads `input`, runs the pipeline (pipeline.ts), writes masks, pictures and the report into `outDir`. */
export async function segmentCase(input: string, outDir: string, options: SegmentOptions = {}): Promise<SegmentResult> {
  const startedAtMs = performance.now();
  const progress = options.onProgress ?? (() => {});
  const out = resolve(outDir);
  if (existsSync(out) && (await readdir(out)).length > 0 && !options.overwrite) {
    throw new CovsegError('the output folder exists and is not empty; choose another --out or pass --overwrite', { file: out });
  }

  progress('read', 0, 1);
  const { volume: ct, meta } = await readImage(input, options.maxVoxels !== undefined ? { maxVoxels: options.maxVoxels } : {});
  progress('read', 1, 1);
  const models = modelLoader(options);
  let segmented;
  try {
    segmented = await segmentCt(ct, meta, models.load, { force: options.force, tta: options.tta ?? false, inputName: options.inputName ?? resolve(input), startedAtMs, onProgress: progress });
  } finally {
    await models.release();
  }
  const { report } = segmented;
  const lap = lapTimer(report.timingsMs);

  // Pictures from the pipeline's LPS-ordered volumes (radiological view, no reorientation); masks back on the input's grid, once.
  // HU input: the lesion by type, as the figures split it, in the overlays and (below) for viewers (the web page colours the two).
  const consolidationFrom = consolidationFromOf(report);
  const slices = overlaySlices(segmented.lps.ct, segmented.lps.lungs, segmented.lps.lesions, report.input.isHu, { consolidationFrom });
  const pictures = {
    sheet: figureToPng(overlaySheet(slices, { types: consolidationFrom !== undefined })),
    slices: slices.map((s) => ({ name: `overlay-slice${String(s.z + 1).padStart(3, '0')}.png`, png: figureToPng(s.image) })),
    clinical: report.clinical ? clinicalPictures(segmented.clinical, report.clinical) : [],
  };
  const lobes = segmented.lps.lobes;
  const masks: Outputs['masks'] = { lungs: fromLps(segmented.lps.lungs, segmented.transform), lesions: fromLps(segmented.lps.lesions, segmented.transform), ...(lobes ? { lobes: fromLps(lobes, segmented.transform) } : {}) };
  const lesionTypes = lesionTypesOf(ct, masks.lungs, masks.lesions, report);
  if (lesionTypes) masks.lesionTypes = lesionTypes;
  lap('report');
  progress('write', 0, 1);
  const modelFiles = { lung: options.lungWeights, lesion: options.loaded?.lesion?.file ?? options.lesionModel ?? DEFAULT_LESION_MODEL_PATH };
  const files = await writeOutputs(out, { ct, meta, report, masks, pictures, modelFiles, writeViewerCt: options.writeViewerCt ?? false, lap });
  progress('write', 1, 1);
  return { outDir: out, report, files };
}

interface Outputs {
  /** The CT as read, and how. */
  ct: Volume;
  meta: ImageMeta;
  /** The pipeline's report; its `outputs`, warnings and times are completed here. */
  report: SegmentReport;
  /** On the input's grid. */
  masks: { lungs: LabelMap; lesions: LabelMap; lobes?: LabelMap; lesionTypes?: LabelMap };
  pictures: { sheet: Uint8Array; slices: { name: string; png: Uint8Array }[]; clinical: { name: string; png: Uint8Array; caption: string }[] };
  /** The model files run (their sha256 is the models' version in the DICOM SR); the lung's only where weights were given. */
  modelFiles: { lung?: string; lesion: string };
  writeViewerCt: boolean;
  lap: (name: string) => void;
}

const sha256Of = async (file: string | undefined) => (file ? sha256File(file) : undefined);
const reasonOf = (err: unknown, known: new (...a: never[]) => { reason: string }) => (err instanceof known ? err.reason : err instanceof Error ? err.message : String(err));

/** Writes masks, pictures, the DICOM SEG (DICOM in) and the report into a temp folder, then moves it into place as `out`; returns the absolute paths. */
async function writeOutputs(out: string, o: Outputs): Promise<SegmentResult['files']> {
  const { ct, meta, report, masks, pictures } = o;
  const ext = maskExtension(meta);
  const names = { lungs: `lungs${ext}`, lesions: `lesions${ext}`, reportJson: 'report.json', reportHtml: 'report.html', sheet: 'overlays.png' };
  const tmp = tempPathFor(out);
  try {
    await mkdir(tmp, { recursive: true });
    await writeVolume(join(tmp, names.lungs), masks.lungs, { labels: true });
    await writeVolume(join(tmp, names.lesions), masks.lesions, { labels: true });
    const files: SegmentResult['files'] = { lungs: names.lungs, lesions: names.lesions, reportJson: names.reportJson, reportHtml: names.reportHtml, overlays: [names.sheet, ...pictures.slices.map((p) => p.name), ...pictures.clinical.map((p) => p.name)] };
    if (masks.lobes) {
      // The lobes the lobe scores were counted on, named as lungmask's LTRCLobes labels them.
      files.lobes = `lobes${ext}`;
      await writeVolume(join(tmp, files.lobes), masks.lobes, { labels: true, labelNames: Object.fromEntries(LOBES.map((l) => [l.label, l.name])) });
    }
    if (masks.lesionTypes) {
      files.lesionTypes = `lesion-types${ext}`;
      await writeVolume(join(tmp, files.lesionTypes), masks.lesionTypes, { labels: true, labelNames: { [CLASS_GROUND_GLASS]: 'ground-glass opacity', [CLASS_CONSOLIDATION]: 'consolidation' } });
    }
    if (isImageFile(meta)) {
      // Slices in, slices out too: label PNGs (0 background; lungs 1 right, 2 left; lesions 1).
      await writeFile(join(tmp, 'lungs.png'), encodePng({ width: ct.dims[0], height: ct.dims[1], channels: 1, data: masks.lungs.data }));
      await writeFile(join(tmp, 'lesions.png'), encodePng({ width: ct.dims[0], height: ct.dims[1], channels: 1, data: masks.lesions.data }));
      files.lungsPng = 'lungs.png';
      files.lesionsPng = 'lesions.png';
    }
    if (meta.format === 'dicom') Object.assign(files, await writeDicomOutputs(tmp, o));
    if (o.writeViewerCt) {
      await writeVolume(join(tmp, 'ct.nii.gz'), ct);
      files.viewerCt = 'ct.nii.gz';
    }
    await writeFile(join(tmp, names.sheet), pictures.sheet);
    for (const p of [...pictures.slices, ...pictures.clinical]) await writeFile(join(tmp, p.name), p.png);
    o.lap('write');
    report.outputs = { lungs: names.lungs, lesions: names.lesions, reportHtml: names.reportHtml, overlays: names.sheet, ...(Object.fromEntries(Object.entries(files).filter(([, v]) => typeof v === 'string')) as Record<string, string>) };
    await writeFile(join(tmp, names.reportJson), JSON.stringify(report, null, 2) + '\n');
    const lesionColours = masks.lesionTypes ? 'lesions by type: ground glass yellow, consolidation purple' : 'lesions orange (no HU: the two types are not told apart)';
    await writeFile(join(tmp, names.reportHtml), renderReportHtml(report, [{ png: pictures.sheet, caption: `right lung red, left lung green, ${lesionColours}` }], pictures.clinical));
    await replaceFolder(tmp, out);
    return filesIn(out, files);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw describeIoError(err, out) ?? err;
  }
}

/**
 * DICOM in: also a DICOM SEG that references the source images, for PACS and viewers, and
 * a DICOM SR of the numbers that references the SEG's segments. Either may be impossible
 * (a source without the UIDs they need): the masks and report stand without them, and the
 * report's warnings say why.
 */
async function writeDicomOutputs(tmp: string, o: Outputs): Promise<{ dicomSeg?: string; dicomSr?: string }> {
  const { meta, report, masks } = o;
  if (meta.format !== 'dicom') return {};
  const files: { dicomSeg?: string; dicomSr?: string } = {};
  let seg: WrittenDicomSeg | undefined;
  try {
    seg = await writeDicomSeg(join(tmp, 'segmentation.dcm'), {
      sourceFiles: meta.files,
      layers: lungAndLesionSegments(masks.lungs, masks.lesions, report.models),
      seriesDescription: 'covseg lungs and COVID-19 lesions',
    });
    files.dicomSeg = 'segmentation.dcm';
  } catch (err) {
    // The SR would reference the SEG, so it goes too.
    const reason = reasonOf(err, DicomSegError);
    report.warnings.push(`DICOM SEG not written: ${reason}`, `DICOM SR not written: ${reason}`);
  }
  o.lap('dicomSeg');
  if (!seg) return files;
  try {
    const [lungSha, lesionSha] = await Promise.all([sha256Of(o.modelFiles.lung), sha256Of(o.modelFiles.lesion)]);
    await writeMeasurementSr(join(tmp, 'report-sr.dcm'), {
      report, sourceFiles: meta.files, seg,
      algorithms: { lung: algorithmOf(report.models.lung, lungSha), lesion: algorithmOf(report.models.lesion, lesionSha) },
    });
    files.dicomSr = 'report-sr.dcm';
  } catch (err) {
    report.warnings.push(`DICOM SR not written: ${reasonOf(err, DicomSrError)}`);
  }
  o.lap('dicomSr');
  return files;
}
