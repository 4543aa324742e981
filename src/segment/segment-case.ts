/**
 * `covseg segment`: one new scan in, lungs + lesions + report out. Reads any CT the
 * project reads, refuses what it should not guess about (non-CT, non-HU volumes, no
 * lungs), segments the lungs, then lesions inside them, and writes everything into
 * a temporary folder that is renamed into place only when complete.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabelMap } from '../volume/volume.js';
import { DicomSegError, dicomDateToIso, readImage, writeDicomSeg, writeVolume, type ImageMeta } from '../io/index.js';
import { clinicalReportParts } from '../clinical/index.js';
import { encodePng } from '../io/raster.js';
import { figureToPng } from '../figures/index.js';
import { loadSegmentationModel, type SegmentationModel } from '../infer/segmentation-model.js';
import { DEFAULT_LUNG_MODEL_PATH, loadDefaultLungModel } from '../lungs/default-model.js';
import { segmentLungsR231 } from '../lungs/r231.js';
import { lungmaskInAnatomy } from '../lungs/anatomy.js';
import { tempPathFor } from '../util/atomic-write.js';
import { describeIoError } from '../util/output-target.js';
import { CovsegError } from '../util/errors.js';
import { lungAndLesionNumbers, type SegmentReport } from './report.js';
import { renderReportHtml } from './report-html.js';
import { overlaySheet, overlaySlices } from './overlays.js';
import { lungAndLesionSegments } from './dicom-seg-segments.js';
import { checkInput, defaultLungModelName, findLesions, findLungsDefault, lesionModelName, qualityOf, requireLungs } from './segment-volume.js';

export const DEFAULT_LESION_MODEL_PATH = fileURLToPath(new URL('../../../models/lesion-2d.onnx', import.meta.url));

export type SegmentStage = 'read' | 'lungs' | 'lesions' | 'report' | 'write';

export interface SegmentOptions {
  /** 'default' (the project's models/lung-2d.onnx) or 'r231' (lungmask's weights, `lungWeights`). Defaults to 'default'. */
  lungModel?: 'default' | 'r231';
  /** lungmask weights file for 'r231'. */
  lungWeights?: string;
  /** Lesion model (ONNX from `covseg train`, 2D or 3D). Defaults to models/lesion-2d.onnx. */
  lesionModel?: string;
  /** Already loaded models (a server reuses them across jobs). */
  loaded?: { lung?: SegmentationModel; lesion?: SegmentationModel };
  /** Segment input that fails the CT/HU checks anyway (with a warning in the report). Defaults to false. */
  force?: boolean;
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
  files: { lungs: string; lesions: string; reportJson: string; reportHtml: string; overlays: string[]; viewerCt?: string; lungsPng?: string; lesionsPng?: string; dicomSeg?: string };
}

/** Output extension: the input's format family (NIfTI in → NIfTI out; DICOM and slices → NIfTI). */
function maskExtension(meta: ImageMeta): string {
  if (meta.format === 'nrrd') return '.nrrd';
  if (meta.format === 'mha') return '.mha';
  return '.nii.gz';
}

export async function segmentCase(input: string, outDir: string, options: SegmentOptions = {}): Promise<SegmentResult> {
  const timingsMs: Record<string, number> = {};
  const progress = options.onProgress ?? (() => {});
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    timingsMs[name] = Math.round(now - t);
    t = now;
  };
  const out = resolve(outDir);
  if (existsSync(out) && (await readdir(out)).length > 0 && !options.overwrite) {
    throw new CovsegError('the output folder exists and is not empty; choose another --out or pass --overwrite', { file: out });
  }

  progress('read', 0, 1);
  const { volume: ct, meta } = await readImage(input, options.maxVoxels !== undefined ? { maxVoxels: options.maxVoxels } : {});
  // The checks, models and numbers are segment-volume.ts's, shared with the web page's browser mode.
  const { isHu, huReason, warnings, spacingKnown } = checkInput(ct, meta, { force: options.force });
  progress('read', 1, 1);
  lap('read');

  // Lungs.
  let lungs: LabelMap;
  let lungModelName: string;
  /** Quarter turns the lungs and lesions were computed under (image files only); results are turned back. */
  let turns = 0;
  if (options.lungModel === 'r231') {
    if (!options.lungWeights) throw new CovsegError("--lung-model r231 needs --lung-weights (lungmask's unet_r231-d5d2fc3d.pth)");
    lungs = lungmaskInAnatomy(ct, await segmentLungsR231(ct, { weightsPath: options.lungWeights, huCheck: options.force ? 'warn' : 'error', emptyResult: 'warn', onWarning: (m) => warnings.push(m), onProgress: (d, n) => progress('lungs', d, n), threads: options.threads }));
    lungModelName = `lungmask R231 (${basename(options.lungWeights)})`;
  } else {
    const model = options.loaded?.lung ?? (await loadDefaultLungModel(undefined, { threads: options.threads }));
    const found = await findLungsDefault(ct, model, { onProgress: (d, n) => progress('lungs', d, n) });
    ({ lungs, turns } = found);
    warnings.push(...found.warnings);
    lungModelName = defaultLungModelName(options.loaded?.lung?.file ?? DEFAULT_LUNG_MODEL_PATH);
  }
  lap('lungs');
  requireLungs(lungs, meta);

  // Lesions, only inside the lungs (affected lung is lung by definition).
  const lesionModel = options.loaded?.lesion ?? (await loadSegmentationModel(options.lesionModel ?? DEFAULT_LESION_MODEL_PATH, { threads: options.threads }));
  const segmented = await findLesions(ct, lungs, lesionModel, { turns, isHu, onProgress: (d, n) => progress('lesions', d, n) });
  lungs = segmented.lungs;
  const lesions = segmented.lesions;
  lap('lesions');
  const numbers = lungAndLesionNumbers(lungs, lesions, spacingKnown, qualityOf(ct, lungs, meta, { isHu, spacingKnown }));
  // Ground glass vs consolidation, where the disease is, the CT scores, and their pictures.
  // Scores only where a grade can be given: a zone score of half a lung means nothing.
  const clinical = clinicalReportParts({ ct, lungs, lesions, isHu, huReason, spacingKnown, assessable: numbers.severity.category !== null, ...(numbers.severity.reason ? { notAssessableReason: numbers.severity.reason } : {}) });
  lap('clinical');

  // Report and pictures.
  progress('report', 0, 1);
  const ext = maskExtension(meta);
  const names = { lungs: `lungs${ext}`, lesions: `lesions${ext}`, reportJson: 'report.json', reportHtml: 'report.html', sheet: 'overlays.png' };
  const slices = overlaySlices(ct, lungs, lesions, isHu);
  const overlayPngs = slices.map((s) => ({ name: `overlay-slice${String(s.z + 1).padStart(3, '0')}.png`, png: figureToPng(s.image), caption: s.caption }));
  const sheetPng = figureToPng(overlaySheet(slices));
  const report: SegmentReport = {
    format: 'covseg-report',
    version: 1,
    createdAt: new Date().toISOString(),
    input: { path: options.inputName ?? resolve(input), format: meta.format, dims: ct.dims, spacingMm: ct.spacingMm, spacingKnown, isHu, huReason, ...(meta.modality ? { modality: meta.modality } : {}), ...(meta.seriesDescription ? { seriesDescription: meta.seriesDescription } : {}), ...(meta.patientId ? { patientId: meta.patientId } : {}), ...(dicomDateToIso(meta.studyDate) ? { studyDate: dicomDateToIso(meta.studyDate) } : {}) },
    ...numbers,
    clinical: clinical.figures,
    models: { lung: lungModelName, lesion: lesionModelName(lesionModel) },
    outputs: { lungs: names.lungs, lesions: names.lesions, reportHtml: names.reportHtml, overlays: names.sheet },
    timingsMs,
    warnings,
  };
  progress('report', 1, 1);
  lap('report');

  // Write everything into a temp folder, then move it into place.
  progress('write', 0, 1);
  const tmp = tempPathFor(out);
  try {
    await mkdir(tmp, { recursive: true });
    await writeVolume(join(tmp, names.lungs), lungs);
    await writeVolume(join(tmp, names.lesions), lesions);
    const files: SegmentResult['files'] = { lungs: names.lungs, lesions: names.lesions, reportJson: names.reportJson, reportHtml: names.reportHtml, overlays: [names.sheet, ...overlayPngs.map((o) => o.name), ...clinical.pictures.map((p) => p.name)] };
    if (meta.format === 'png' || meta.format === 'jpeg') {
      // Slices in, slices out too: label PNGs (0 background; lungs 1 right, 2 left; lesions 1).
      await writeFile(join(tmp, 'lungs.png'), encodePng({ width: ct.dims[0], height: ct.dims[1], channels: 1, data: lungs.data }));
      await writeFile(join(tmp, 'lesions.png'), encodePng({ width: ct.dims[0], height: ct.dims[1], channels: 1, data: lesions.data }));
      files.lungsPng = 'lungs.png';
      files.lesionsPng = 'lesions.png';
    }
    if (meta.format === 'dicom') {
      // DICOM in: also a DICOM SEG that references the source images, for PACS and viewers.
      try {
        await writeDicomSeg(join(tmp, 'segmentation.dcm'), {
          sourceFiles: meta.files,
          layers: lungAndLesionSegments(lungs, lesions, report.models),
          seriesDescription: 'covseg lungs and COVID-19 lesions',
        });
        files.dicomSeg = 'segmentation.dcm';
      } catch (err) {
        // The masks and report stand without it: say why, do not fail the scan.
        warnings.push(`DICOM SEG not written: ${err instanceof DicomSegError ? err.reason : err instanceof Error ? err.message : String(err)}`);
      }
      lap('dicomSeg');
    }
    if (options.writeViewerCt) {
      await writeVolume(join(tmp, 'ct.nii.gz'), ct);
      files.viewerCt = 'ct.nii.gz';
    }
    await writeFile(join(tmp, names.sheet), sheetPng);
    for (const o of [...overlayPngs, ...clinical.pictures]) await writeFile(join(tmp, o.name), o.png);
    lap('write');
    report.timingsMs = timingsMs;
    report.outputs = { ...report.outputs, ...(Object.fromEntries(Object.entries(files).filter(([, v]) => typeof v === 'string')) as Record<string, string>) };
    await writeFile(join(tmp, names.reportJson), JSON.stringify(report, null, 2) + '\n');
    await writeFile(join(tmp, names.reportHtml), renderReportHtml(report, [{ png: sheetPng, caption: 'right lung red, left lung green, lesions orange' }], clinical.pictures));
    await mkdir(dirname(out), { recursive: true });
    if (existsSync(out)) {
      const old = tempPathFor(out);
      await rename(out, old);
      await rename(tmp, out);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, out);
    }
    progress('write', 1, 1);
    const abs = (f: string) => join(out, f);
    return {
      outDir: out,
      report,
      files: {
        ...files,
        lungs: abs(files.lungs), lesions: abs(files.lesions), reportJson: abs(files.reportJson), reportHtml: abs(files.reportHtml),
        overlays: files.overlays.map(abs),
        ...(files.viewerCt ? { viewerCt: abs(files.viewerCt) } : {}),
        ...(files.lungsPng ? { lungsPng: abs(files.lungsPng), lesionsPng: abs(files.lesionsPng!) } : {}),
        ...(files.dicomSeg ? { dicomSeg: abs(files.dicomSeg) } : {}),
      },
    };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw describeIoError(err, out) ?? err;
  }
}
