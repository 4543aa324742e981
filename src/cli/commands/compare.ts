/**
 * `covseg compare A B [C …]`: follow-up of one patient over two or more `covseg segment`
 * result folders (src/segment/compare-results.ts reads and compares them; the web page's
 * side-by-side view does the same).
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { flag, lungModelFlag, optionsHelp, parseCommandLine, type Command } from '../command.js';
import { StageBars } from '../progress.js';
import { UsageError } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { checkOutputDir, checkOutputFile } from '../../util/output-target.js';
import { saveFigure } from '../../figures/index.js';
import { DEFAULT_STABLE_WITHIN_POINTS } from '../../clinical/index.js';
import { compareResults, readSegmentReport, segmentCase } from '../../segment/index.js';
import { scanDicomFolder } from '../../io/index.js';
import { caseBaseName } from '../../batch/index.js';
import { allInOrder } from '../../util/in-order.js';

const FLAGS = {
  out: flag.string({ arg: 'DIR', help: 'output folder (made if missing)' }),
  dates: flag.list({
    arg: 'D1,D2,…', shownDefault: "the reports' DICOM StudyDate, else the order given",
    help: 'study dates (YYYY-MM-DD), one per folder in the order given',
  }),
  'stable-within': flag.number({ arg: 'X', default: DEFAULT_STABLE_WITHIN_POINTS, check: (n) => n >= 0, help: "the verdict's stable range, ± percentage points" }),
  force: flag.boolean({ help: 'compare scans whose reports name different patients (PatientID)' }),
  overwrite: flag.boolean({ help: "replace existing output files (and a scan's earlier segmentation in DIR/segmented/)" }),
  'lung-model': flag.lungModel({ help: 'for scans given instead of result folders: the lung model, as for segment' }),
  'lung-weights': flag.lungWeights(),
  'lobe-weights': flag.lobeWeights(),
  'lesion-model': flag.string({ arg: 'FILE', shownDefault: 'models/lesion-2d.onnx', help: 'for scans: the lesion model, as for segment' }),
  threads: flag.threads({ fallback: 2, help: "for scans: ONNX Runtime threads; at most the machine's cores" }),
  quiet: flag.boolean({ help: 'no progress output while scans are segmented' }),
};

const HELP = `covseg compare A B [C …] --out DIR [options]

Follow-up of one patient: compares two or more result folders of 'covseg segment'
(report.json and the masks): the change in lung volume, lesion volume, % affected,
consolidation share and each CT score, per lung and per zone, and a verdict per step.

A, B, … may also be scans (any input of 'covseg segment': a CT file, a DICOM series
folder or file): each is segmented first, as 'covseg segment --viewer-ct' does, into
DIR/segmented/<k>-<name>/ (kept, so the masks and reports can be checked), with the
model options below. A folder is a result folder when it holds report.json, a DICOM
series when it holds DICOM files and no report.json.

Verdict ("better / stable / worse"): by the change of the share of both lungs affected,
later minus earlier: worse above +X percentage points, better below −X, stable within.
X defaults to ${DEFAULT_STABLE_WITHIN_POINTS} points: well above what re-slicing and repositioning alone change
(under one point on a real scan's masks shifted and re-sliced) and above the disagreement
of repeated lesion segmentations (a few points). The lesion model's own masks can move
more between scans reconstructed differently (12 points on a real lower-chest CT
re-sliced from 3 mm to 2.2–2.6 mm): compare scans reconstructed alike.

The density split (ground glass vs consolidation) needs the CT in HU: the folder's
ct.nii.gz ('segment --viewer-ct') or the input the report names, if it is still there.

Options:
${optionsHelp(FLAGS)}

Writes (in DIR):
  segmented/<k>-<name>/  for each scan given: what 'covseg segment' writes
  comparison.json        every change per step and first → last, the rule, the verdicts
  comparison.csv         one row per scan with every clinical figure (research export)
  levels.png             the scans side by side at matched levels (middle of each third
                         of the lungs' extent), one physical scale; ground glass yellow,
                         consolidation purple
  trend.png              % affected (per lung, both), consolidation share and scores over time
Exit codes: 0 ok, 1 refused or failed (the message says why), 2 bad usage.`;

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export const command: Command = {
  name: 'compare',
  help: HELP,
  flags: FLAGS,
  async run(argv) {
    const { values, positionals } = parseCommandLine('compare', argv, FLAGS);
    if (positionals.length < 2) throw new UsageError('give two or more result folders of covseg segment (or scans to segment first)');
    if (!values.out) throw new UsageError('--out DIR is required');
    const stableWithin = values['stable-within'];
    const dates = values.dates?.map((d) => d.trim());
    if (dates) {
      if (dates.length !== positionals.length) throw new UsageError(`--dates gives ${dates.length} dates for ${positionals.length} folders; give one per folder`);
      const bad = dates.find((d) => !DATE.test(d) || Number.isNaN(Date.parse(`${d}T00:00:00Z`)));
      if (bad !== undefined) throw new UsageError(`--dates: '${bad}' is not a date YYYY-MM-DD`);
    }
    const lungModel = lungModelFlag(values['lung-model'], values['lung-weights']);
    // A folder is a result folder unless it holds DICOM files and no report.json (a series to segment); a file is a scan.
    const isScan = await allInOrder(positionals.map(async (p) => {
      if (!existsSync(p) || !statSync(p).isDirectory()) return true;
      return !existsSync(join(p, 'report.json')) && (await scanDicomFolder(p)).headers.length > 0;
    }));
    // Every check that can fail fast, before reading any volume or segmenting a scan.
    await allInOrder(positionals.filter((_, k) => !isScan[k]).map((dir) => readSegmentReport(dir)));
    const out = resolve(values.out);
    await checkOutputDir(out, 'output folder');
    const names = { json: 'comparison.json', csv: 'comparison.csv', levels: 'levels.png', trend: 'trend.png' };
    for (const f of Object.values(names)) await checkOutputFile(join(out, f), { force: values.overwrite, forceHint: '--overwrite' });
    const folders: { dir: string; name: string; date?: string }[] = [];
    for (const [k, given] of positionals.entries()) {
      let dir = given;
      if (isScan[k]) {
        dir = join(out, 'segmented', `${k + 1}-${caseBaseName(resolve(given))}`);
        const bars = new StageBars({ quiet: values.quiet });
        await segmentCase(given, dir, {
          lungModel, lungWeights: values['lung-weights'], lobeWeights: values['lobe-weights'], lesionModel: values['lesion-model'],
          threads: values.threads, overwrite: values.overwrite, writeViewerCt: true,
          onProgress: (stage, done, total) => bars.onProgress(done, total, `${k + 1}: ${stage}`.padEnd(10)),
        });
        bars.end();
      }
      folders.push({ dir, name: given, ...(dates ? { date: dates[k]! } : {}) });
    }
    const { comparison, notes, csv, levels, trend } = await compareResults(folders, { stableWithinPoints: stableWithin, force: values.force });

    await writeFileAtomic(join(out, names.json), JSON.stringify({ ...comparison, notes }, null, 2) + '\n');
    await writeFileAtomic(join(out, names.csv), csv);
    await saveFigure(join(out, names.levels), levels);
    await saveFigure(join(out, names.trend), trend);

    const pct = (v: number | null) => (v === null ? '  n/a' : `${v.toFixed(1).padStart(5)}%`);
    const lines = [
      `${'scan'.padEnd(28)} ${'date'.padEnd(10)}  right    left    both   cons.  zone`,
      ...comparison.scans.map((s) => `${s.name.slice(-28).padEnd(28)} ${(s.date ?? '').padEnd(10)} ${pct(s.right)} ${pct(s.left)} ${pct(s.percentAffected)} ${pct(s.consolidationPercentOfLesion)} ${s.zoneScore === null ? ' n/a' : String(s.zoneScore).padStart(4)}`),
      ...comparison.steps.map((s) => `${s.from} → ${s.to}${s.days === null ? '' : ` (${s.days} days)`}: ${s.verdict.toUpperCase()}, ${s.reason}`),
      ...(comparison.steps.length > 1 ? [`overall ${comparison.overall.from} → ${comparison.overall.to}: ${comparison.overall.verdict.toUpperCase()}, ${comparison.overall.reason}`] : []),
      ...notes.map((n) => `note: ${n}`),
      `written: ${Object.values(names).map((f) => join(out, f)).join(', ')}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  },
};
