/** `covseg info INPUT [--json]`: what an image file or DICOM folder holds. */
import { UsageError } from '../../util/errors.js';
import { flag, optionsHelp, parseCommandLine, type Command } from '../command.js';
import { imageInfo, type ImageInfo } from '../../io/info.js';

const FLAGS = {
  json: flag.boolean({ help: 'print one JSON object instead of text (default: text)' }),
  series: flag.string({ arg: 'UID', help: 'DICOM folder: read the series with this SeriesInstanceUID (default: the largest series)' }),
  'max-voxels': flag.maxVoxels(),
};

const HELP = `Usage: covseg info INPUT [--json] [--series UID] [--max-voxels N]

Reads INPUT and prints its format, grid, geometry, intensities and whether the values
look like Hounsfield units. Writes nothing. NaN and infinite voxels are counted (the
intensities are those of the finite voxels); the other commands refuse such a file.

INPUT            a NIfTI (.nii, .nii.gz), NRRD, MetaImage (.mha), PNG or JPEG file,
                 a DICOM file, or a folder holding a DICOM series (the series with the
                 most voxels is read; the others are listed as skipped)

Options:
${optionsHelp(FLAGS)}

Exit codes: 0 ok, 1 unreadable input, 2 bad usage.`;

function num(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Math.round(x * 10000) / 10000);
}

/** The text form of an ImageInfo, one `key  value` line per item. */
export function formatInfo(info: ImageInfo): string {
  const d = info.direction;
  const lines: [string, string][] = [
    ['file', info.path],
    ['format', info.format + (info.palette ? ' (indexed palette: values are labels)' : '')],
    ['dims', info.dims.join(' × ')],
    ['spacing', `${info.spacingMm.map(num).join(' × ')} mm${info.spacingKnown ? '' : ' (assumed: the file does not state the voxel size)'}`],
    ['origin', `(${info.origin.map(num).join(', ')}) mm, LPS`],
    ['direction', `[${[0, 1, 2].map((r) => [d[3 * r]!, d[3 * r + 1]!, d[3 * r + 2]!].map(num).join(' ')).join('; ')}]`],
    ['orientation', `${info.orientation}${info.obliqueDeg > 0 ? ` (oblique: up to ${num(info.obliqueDeg)}° off the patient axes)` : ''}`],
    ['pixel type', info.pixelType + (info.rescaled ? ' (rescaled from the stored values)' : '')],
    ...(info.nonFinite.nan + info.nonFinite.infinite > 0
      ? [['non-finite', `${info.nonFinite.nan} NaN, ${info.nonFinite.infinite} ±Infinity voxel(s): other covseg commands refuse this file`] as [string, string]]
      : []),
    ['intensity', `min ${num(info.hu.stats.min)}, p1 ${num(info.hu.stats.p1)}, p99 ${num(info.hu.stats.p99)}, max ${num(info.hu.stats.max)}`],
    ['HU', `${info.hu.isHu ? 'yes' : 'no'}: ${info.hu.reason}`],
  ];
  if (info.dicom) {
    const s = info.dicom;
    const what = [s.seriesDescription && `"${s.seriesDescription}"`, s.modality, `${s.files} slice file(s)`].filter(Boolean).join(', ');
    lines.push(['series', `${s.seriesInstanceUid ?? '(no SeriesInstanceUID)'}: ${what}`]);
    const others = s.skippedSeries.map((o) => `${o.seriesInstanceUid || '(no UID)'}${o.seriesDescription ? ` "${o.seriesDescription}"` : ''} (${o.files} file(s))`);
    lines.push(['skipped', `${s.skippedSeries.length} other series${others.length ? `: ${others.join('; ')}` : ''}; ${s.skippedFiles} non-image file(s)`]);
  }
  for (const w of info.warnings) lines.push(['warning', w]);
  const width = Math.max(...lines.map(([k]) => k.length)) + 2;
  return lines.map(([k, v]) => k.padEnd(width) + v).join('\n');
}

export const command: Command = {
  name: 'info',
  help: HELP,
  flags: FLAGS,
  async run(argv) {
    const { values, positionals } = parseCommandLine('info', argv, FLAGS);
    if (positionals.length !== 1) throw new UsageError(`expected one INPUT, got ${positionals.length}`);
    const options = { maxVoxels: values['max-voxels'], ...(values.series !== undefined ? { seriesInstanceUid: values.series } : {}) };
    const info = await imageInfo(positionals[0]!, options);
    process.stdout.write((values.json ? JSON.stringify(info, null, 2) : formatInfo(info)) + '\n');
  },
};
