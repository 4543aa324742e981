import { flag, lungModelFlag, optionsHelp, parseCommandLine, type Command } from '../command.js';
import { UsageError } from '../../util/errors.js';
import { checkOutputFolder } from '../../util/output-target.js';
import { StageBars } from '../progress.js';
import { segmentCase, type SegmentReport } from '../../segment/index.js';
import { segmentStudy } from '../../dicomweb/index.js';
import { DICOMWEB_FLAGS, dicomWebClients } from '../dicomweb-flags.js';
import type { ClinicalFigures } from '../../clinical/index.js';

const FLAGS = {
  out: flag.string({ arg: 'DIR', help: 'output folder (must be new or empty; see --overwrite); checked before the work: a folder, beside which covseg can write' }),
  'lung-model': flag.lungModel(),
  'lung-weights': flag.lungWeights(),
  'lobe-weights': flag.lobeWeights(),
  'lesion-model': flag.string({ arg: 'FILE', shownDefault: 'models/lesion-2d.onnx', aliases: ['model'], help: "lesion model (2D or 3D ONNX from 'covseg train')" }),
  force: flag.boolean({ help: 'segment input that fails the checks (not CT, not in Hounsfield units, colour picture) anyway, with a warning' }),
  tta: flag.boolean({ help: 'test-time flips: the lesion model on the four mirrors of each slice, averaged; report.json and report.html give the lowest–highest lesion volume and % affected over them (4× the lesion model\'s time; off by default)' }),
  overwrite: flag.boolean({ help: 'replace an existing output folder' }),
  'viewer-ct': flag.boolean({ help: 'also write the CT as ct.nii.gz (for viewers)' }),
  threads: flag.threads({ fallback: 2, help: "ONNX Runtime threads; at most the machine's cores" }),
  'max-voxels': flag.maxVoxels(),
  quiet: flag.boolean({ help: 'no progress output' }),
  dicomweb: flag.string({ arg: 'URL', help: "read the study from this DICOMweb server (its base URL, e.g. http://pacs:8042/dicom-web) instead of INPUT, and store the DICOM outputs back there (STOW-RS); needs --study" }),
  study: flag.string({ arg: 'UID', help: 'with --dicomweb: the StudyInstanceUID; its largest axial CT series is read, as from a folder' }),
  series: flag.string({ arg: 'UID', help: 'with --dicomweb: read this SeriesInstanceUID of the study instead' }),
  ...DICOMWEB_FLAGS,
};

const HELP = `covseg segment INPUT --out DIR [options]
covseg segment --dicomweb URL --study UID [--series UID] [--dicomweb-out URL] [--out DIR] [options]

Segments the lungs and COVID-19 lesions (ground-glass opacity and consolidation) of
one chest CT and reports how much of each lung is affected.

INPUT: a CT volume (NIfTI .nii/.nii.gz, NRRD, MHA), a DICOM series folder or file,
or an axial slice image (PNG/JPEG).

With --dicomweb, the CT series is fetched (QIDO-RS, WADO-RS) into a temporary folder,
segmented as a folder would be, and every DICOM output (the DICOM SEG and SR) is stored
in one STOW-RS request, referencing the source study, series and instances. --out is
then optional: without it no files are kept. https:// URLs work; a hospital's own CA is
given with NODE_EXTRA_CA_CERTS=ca.pem.

Options:
${optionsHelp(FLAGS)}

Writes (in DIR), all at once when finished (nothing half-written on failure):
  lungs.nii.gz            lung label map, 1 = right lung, 2 = left lung, in the
                          input's exact geometry (lungs.nrrd for NRRD input)
  lesions.nii.gz          lesion mask, 1 = ground-glass opacity or consolidation
  lesion-types.nii.gz     HU input: the lesion by density, 1 = ground glass (below
                          −400 HU), 2 = consolidation (from −400 HU), as report.json
                          splits it
  lobes.nii.gz            with --lobe-weights: the lobes (lungmask's LTRCLobes labels:
                          1 LUL, 2 LLL, 3 RUL, 4 RML, 5 RLL)
  lungs.png, lesions.png  the same as label PNGs, for slice inputs
  segmentation.dcm        DICOM input: a DICOM SEG (right lung, left lung, lesion)
                          referencing the source images, for PACS and viewers;
                          skipped, with a warning, when the source lacks its UIDs
  report.json             lung and lesion volumes (mL), % of each lung affected,
                          severity CT-0…CT-4 (MosMedData scale), timings, warnings;
                          'clinical': ground glass vs consolidation (HU input), the
                          lung's density bands, % affected per third / half / depth,
                          zone score 0–24; with --lobe-weights (or --lung-model
                          ltrclobes) the lobar TSS 0–20 and Pan 0–25, per lobe
                          quality: lung coverage (complete / partial / none) and
                          whether the lung mask is plausible. The grade is given only
                          for plausible lungs wholly in view, else null with the
                          reason and % "of the lung in view"
  report.html             the report as one self-contained page with pictures
  overlays.png, overlay-slice*.png   representative slices (right lung red, left
                          lung green; HU input: ground glass yellow, consolidation
                          purple; else lesions orange), a colour key below
  distribution.png        where the disease is: each third, half and depth of each
                          lung coloured by % affected
  lesion-types.png        the middle of each third of the lungs, ground glass yellow
                          and consolidation purple
Exit codes: 0 ok, 1 refused or failed (the message says why), 2 bad usage.`;

/** One line of the clinical figures: lesion types and the zone score. */
function clinicalLine(c: ClinicalFigures): string {
  const t = c.total;
  const types = t.groundGlass && t.consolidation ? `ground glass ${t.groundGlass.percentOfLung.toFixed(1)}%, consolidation ${t.consolidation.percentOfLung.toFixed(1)}% of the lungs` : 'ground glass / consolidation: needs HU';
  const score = (s: { available: true; total: number; max: number } | { available: false }) => (s.available ? `${s.total}/${s.max}` : 'n/a');
  const lobes = c.lobes ? `; lobar TSS ${score(c.scores.lobarTss)}, Pan ${score(c.scores.pan)}` : '';
  return `${types}; zone score ${score(c.scores.zone)}${lobes}`;
}

export const command: Command = {
  name: 'segment',
  help: HELP,
  flags: FLAGS,
  async run(argv) {
    const { values, positionals } = parseCommandLine('segment', argv, FLAGS);
    const pacs = dicomWebClients(values);
    if (!pacs) {
      for (const f of ['study', 'series'] as const) if (values[f] !== undefined) throw new UsageError(`--${f} needs --dicomweb URL`);
      if (positionals.length !== 1) throw new UsageError('give exactly one INPUT (a CT file, DICOM folder or slice image), or --dicomweb URL --study UID');
      if (!values.out) throw new UsageError('--out DIR is required');
    } else {
      if (positionals.length > 0) throw new UsageError('give either INPUT or --dicomweb URL, not both');
      if (!values.study) throw new UsageError('--dicomweb needs --study STUDY_UID');
    }
    const lungModel = lungModelFlag(values['lung-model'], values['lung-weights']);
    const { quiet, threads } = values;
    // A --out that cannot be written fails now, not after the inference.
    if (values.out) await checkOutputFolder(values.out, '--out');
    const bars = new StageBars({ quiet });
    const options = {
      lungModel,
      lungWeights: values['lung-weights'],
      lobeWeights: values['lobe-weights'],
      lesionModel: values['lesion-model'],
      force: values.force,
      tta: values.tta,
      overwrite: values.overwrite,
      writeViewerCt: values['viewer-ct'],
      threads,
      maxVoxels: values['max-voxels'],
      onProgress: (stage: string, done: number, total: number) => bars.onProgress(done, total, stage.padEnd(7)),
    };
    if (pacs) {
      const { source } = pacs;
      const done = await segmentStudy({
        ...options,
        ...pacs,
        studyInstanceUid: values.study!,
        ...(values.series !== undefined ? { seriesInstanceUid: values.series } : {}),
        ...(values.out !== undefined ? { outDir: values.out } : {}),
      });
      bars.end();
      process.stdout.write(
        summary(done.result.report) +
          `series ${done.series.seriesInstanceUid}: ${done.series.files.length} instances read from ${source.url}\n` +
          `stored in ${done.targetUrl}: ${done.storedFiles.join(', ')}\n` +
          (values.out ? `report: ${done.result.files.reportHtml}\n` : ''),
      );
      return;
    }
    const result = await segmentCase(positionals[0]!, values.out!, options);
    bars.end();
    process.stdout.write(summary(result.report) + (result.files.dicomSeg ? `DICOM SEG: ${result.files.dicomSeg}\n` : '') + `report: ${result.files.reportHtml}\n`);
  },
};

/** The printed summary: severity, per-lung volumes and %, clinical line, warnings. */
function summary(r: SegmentReport): string {
  // Unknown voxel size (image files, a NIfTI with pixdim 0): voxel counts, no mL.
  const ml = (n: { volumeMl: number | null; voxels: number }) => (n.volumeMl === null ? `${n.voxels} voxels (mL not available: voxel size unknown)` : `${n.volumeMl.toFixed(1)} mL`);
  const s = r.severity;
  const headline = s.category
    ? `severity ${s.category}: ${s.percentAffected.toFixed(1)}% of the lungs affected (${s.description})\n`
    : r.quality.lungCoverage === 'none'
      ? 'no lungs in view: no severity grade\n'
      : `no severity grade: ${s.percentAffected.toFixed(1)}% of the lung in view affected; ${s.reason}\n`;
  return (
    headline +
    `  right lung ${ml(r.lungs.right)}, ${r.lesions.right.percentOfLung.toFixed(1)}% affected\n` +
    `  left lung  ${ml(r.lungs.left)}, ${r.lesions.left.percentOfLung.toFixed(1)}% affected\n` +
    (r.clinical ? `  ${clinicalLine(r.clinical)}\n` : '') +
    (r.warnings.length ? r.warnings.map((w) => `  warning: ${w}\n`).join('') : '')
  );
}
