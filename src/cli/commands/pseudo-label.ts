/** `covseg pseudo-label --model M.onnx --input DIR|FILE... --out DIR`: build-db's pseudo-labels source (src/batch/pseudo-label.ts). */
import { UsageError } from '../../util/errors.js';
import { pseudoLabel, UNCERTAIN_BAND } from '../../batch/index.js';
import { PSEUDO_LABELS_FILE } from '../../datasets/index.js';
import { flag, lungModelFlag, optionsHelp, parseCommandLine, type Command } from '../command.js';
import { StageBars } from '../progress.js';

const FLAGS = {
  model: flag.string({ arg: 'FILE', help: "the teacher: a lesion model (2D or 3D ONNX from 'covseg train', e.g. models/lesion-2d.onnx)" }),
  input: flag.repeated({ arg: 'DIR|FILE', help: 'unlabelled CT: a PNG/JPEG axial slice, a volume (NIfTI, NRRD, MHA), a DICOM series folder, or a folder of them; repeat for more' }),
  out: flag.string({ arg: 'DIR', help: `the pseudo-labels folder (${PSEUDO_LABELS_FILE}, images/, lungs/, lesions/); give it to build-db as --source pseudo-labels=DIR` }),
  'lung-model': flag.lungModel(),
  'lung-weights': flag.lungWeights(),
  'min-confidence': flag.number({ arg: 'X', default: 0, help: 'list items whose confidence (mean |p − 0.5|·2 over the lung) is below X as skipped: build-db leaves them out', check: (n) => n >= 0 && n <= 1 }),
  'group-by': flag.string({ arg: 'REGEX|zenodo', help: "the patient of each input, from its file name: the pattern's capture groups joined by ':' (or the whole match), e.g. '(patient)-(\\d+)_' for patient-17_slice-040.png → patient:17; 'zenodo': the Zenodo 3757476 scan the name carries (COVID-SemiSeg's Data-K_coronacases_org_001_100.jpg → coronacases:001, radiopaedia_org_covid-19-pneumonia-10_… → radiopaedia-case:10), the zenodo source's groups; a name it does not match is an error (default: each input its own patient)" }),
  exclude: flag.repeated({ arg: 'REGEX', help: 'leave out inputs whose file name matches (repeatable): exclude every test patient, or its slices train the student' }),
  overwrite: flag.boolean({ help: 'start afresh: replace the folder\'s pseudo-labels instead of resuming' }),
  threads: flag.threads({ fallback: 2, help: "ONNX Runtime threads; at most the machine's cores" }),
  quiet: flag.boolean({ help: 'no progress output' }),
};

const HELP = `Usage: covseg pseudo-label --model FILE --input DIR|FILE [--input …] --out DIR [options]

Self-training: runs a teacher lesion model, with the lung model, on unlabelled CT slices
and volumes exactly as 'covseg segment' does, and writes each input's image, lung mask and
lesion mask with a manifest (${PSEUDO_LABELS_FILE}: per item the teacher's sha256, its
confidence, the share of lung pixels with p in [${UNCERTAIN_BAND.join(', ')}], the patient group) that
build-db reads as --source pseudo-labels=DIR. A student trained on that database with the
expert sources learns from the user's own scans (teacher → pseudo-labels → student, as
Semi-Inf-Net did with COVID-SemiSeg's 1,600 unlabelled slices).

Pseudo-labelled cases go to the train split only (their labels are the teacher's), and a
case whose patient group another source puts in validation or test is left out. Exclude
your test patients here (--exclude), too: a test patient's scan, pseudo-labelled, would
otherwise train the student.

Resumable: a rerun keeps every item already labelled by the same teacher (same sha256)
and labels only the rest; --min-confidence and --group-by are applied to kept items
anew. Every input is read and checked before the models load: a bad file is a one-line
error naming it. An input the pipeline refuses (no lungs found) is listed as skipped.

Options:
${optionsHelp(FLAGS)}

Exit codes: 0 ok, 1 failure, 2 bad usage.`;

export const command: Command = {
  name: 'pseudo-label',
  help: HELP,
  flags: FLAGS,
  async run(argv) {
    const { values, positionals } = parseCommandLine('pseudo-label', argv, FLAGS);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'; give inputs with --input`);
    if (!values.model) throw new UsageError('--model FILE (the teacher lesion model) is required');
    if (values.input.length === 0) throw new UsageError('--input DIR|FILE is required');
    if (!values.out) throw new UsageError('--out DIR is required');
    const lungModel = lungModelFlag(values['lung-model'], values['lung-weights']);
    const bars = new StageBars({ quiet: values.quiet });
    const result = await pseudoLabel(values.input, values.out, {
      lesionModel: values.model,
      lungModel,
      lungWeights: values['lung-weights'],
      minConfidence: values['min-confidence'],
      groupBy: values['group-by'],
      exclude: values.exclude,
      overwrite: values.overwrite,
      threads: values.threads,
      onProgress: (done, total, stage, detail) => bars.onProgress(done, total, stage === 'check' ? 'checking' : 'labelling', detail),
    });
    bars.end();
    const items = result.manifest.items;
    const skipped = items.filter((i) => i.skipped !== undefined);
    const cases = items.length - skipped.length;
    const mean = cases ? items.filter((i) => !i.skipped).reduce((s, i) => s + i.confidence, 0) / cases : 0;
    const lines = [
      ...result.notes,
      `${result.labelled} labelled, ${result.kept} kept from an earlier run (same teacher); ${result.manifest.excluded.length} left out by --exclude`,
      `${cases} pseudo-labelled cases (mean confidence ${mean.toFixed(3)}), ${skipped.length} skipped${skipped.length ? `, e.g. ${skipped[0]!.id}: ${skipped[0]!.skipped}` : ''}`,
      `wrote ${result.file}; build-db --source pseudo-labels=${values.out}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  },
};
