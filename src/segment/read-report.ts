/** Reading a `covseg segment` result folder's report.json back, checked against its schema. */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { CovsegError } from '../util/errors.js';
import { loadJsonFile } from '../util/json-file.js';
import { SegmentReportSchema, type SegmentReport } from './report.js';
import { filesIn, type SegmentResult } from './segment-case.js';

/** Checked first, so that another JSON file is named as such rather than by its first missing key. */
const IDENTITY = Type.Object({ format: Type.Literal('covseg-report', { expected: "'covseg-report' (a covseg segment report)" }) });

/**
 * The report of the result folder `dir`, with the lung and lesion masks it names present
 * (what every reader of a result needs). A report from an older covseg that lacks a block
 * (e.g. `quality`) is refused with the key's name: segmenting the scan again writes it.
 */
export async function readSegmentReport(dir: string): Promise<SegmentReport> {
  const path = join(dir, 'report.json');
  if (!existsSync(path)) throw new CovsegError('not a covseg segment result folder: report.json is missing', { file: dir });
  const report = await loadJsonFile(SegmentReportSchema, path, 'segment report', 'segment the scan again with this covseg to rewrite it', IDENTITY);
  for (const key of ['lungs', 'lesions'] as const) {
    const name = report.outputs[key];
    if (!name || !existsSync(join(dir, name))) throw new CovsegError(`the ${key} mask named in report.json (${name ?? 'none'}) is not in the folder`, { file: dir });
  }
  return report;
}

/**
 * segmentCase's result for the result folder `dir`, written by another process (a `covseg
 * worker`): the report, and its files as absolute paths. The files come from the report's
 * `outputs`; the pictures beyond the overlay sheet it names are the folder's other PNGs.
 */
export async function readSegmentResult(dir: string): Promise<SegmentResult> {
  const report = await readSegmentReport(dir);
  // outputs names every file segmentCase wrote under its files key, the overlay sheet as 'overlays'.
  const { overlays, ...named } = report.outputs;
  const listed = new Set(Object.values(report.outputs));
  const pictures = (await readdir(dir)).filter((f) => f.toLowerCase().endsWith('.png') && !listed.has(f)).sort();
  const files = { reportJson: 'report.json', reportHtml: 'report.html', ...named, overlays: [...(overlays ? [overlays] : []), ...pictures] } as SegmentResult['files'];
  return { outDir: dir, report, files: filesIn(dir, files) };
}
