/** `covseg pair-renderings --renderings DIR --zenodo-slices DIR --out DIR`: the semiseg-pseudo source's pairs file. */
import { join } from 'node:path';
import { UsageError } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { checkOutputDir, checkOutputFile } from '../../util/output-target.js';
import { pairRenderings, PAIRS_FILE, radiopaediaCaseNumber } from '../../datasets/index.js';
import { flag, optionsHelp, parseCommandLine, type Command } from '../command.js';

const FLAGS = {
  renderings: flag.string({ arg: 'DIR', help: "COVID-SemiSeg's TrainingSet/LungInfection-Train/Pseudo-label/Imgs (Data-K_<case>_<n>.jpg)" }),
  'zenodo-slices': flag.string({ arg: 'DIR', help: 'the zenodo-slices folder (ct/, lungs/, covid/, slices.csv)' }),
  out: flag.string({ arg: 'DIR', help: `folder for ${PAIRS_FILE}; give it to build-db as --source semiseg-pseudo=DIR` }),
  'min-correlation': flag.number({ arg: 'R', default: 0.45, help: 'smallest correlation of the two renderings\' lung detail for a pair', check: (n) => n > -1 && n < 1 }),
  'min-lung-dice': flag.number({ arg: 'D', default: 0.85, help: "smallest Dice of the rendering's dark pixels with the carried-over lung mask", check: (n) => n >= 0 && n <= 1 }),
  overwrite: flag.boolean({ help: `replace an existing ${PAIRS_FILE}` }),
};

const HELP = `Usage: covseg pair-renderings --renderings DIR --zenodo-slices DIR --out DIR [options]

Finds, for each of COVID-SemiSeg's unlabelled Inf-Net renderings of the Zenodo 3757476
volumes (8-bit lung window, cropped to the lungs, turned), its slice in zenodo-slices
and where it sits there (one of the 8 flips/turns and a crop box), so that the expert
lesion and lung masks can be carried onto it: build-db's semiseg-pseudo source. A
rendering pairs when the high-passed lung detail of the two correlates ≥ --min-correlation
and its dark pixels match the carried-over lungs (Dice ≥ --min-lung-dice); slices without
infection are not in zenodo-slices, so many renderings stay unpaired. Prints the counts
per Zenodo case. Takes a few minutes on one core.

Options:
${optionsHelp(FLAGS)}

Writes OUT/${PAIRS_FILE} (atomically). Exit codes: 0 ok, 1 failure, 2 bad usage.`;

export const command: Command = {
  name: 'pair-renderings',
  help: HELP,
  flags: FLAGS,
  async run(argv) {
    const { values, positionals } = parseCommandLine('pair-renderings', argv, FLAGS);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    for (const name of ['renderings', 'zenodo-slices', 'out'] as const) if (!values[name]) throw new UsageError(`--${name} is required`);
    const out = join(values.out!, PAIRS_FILE);
    await checkOutputDir(values.out!);
    await checkOutputFile(out, { force: values.overwrite });
    const pairs = await pairRenderings(values.renderings!, values['zenodo-slices']!, {
      minCorrelation: values['min-correlation'],
      minLungDice: values['min-lung-dice'],
      onProgress: (done, total) => {
        if (process.stderr.isTTY) process.stderr.write(`\rpairing ${done}/${total}`);
      },
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    await writeFileAtomic(out, JSON.stringify(pairs, null, 1) + '\n');
    const byCase = new Map<string, { paired: number; all: number; groups: Set<string> }>();
    for (const p of [...pairs.pairs, ...pairs.unpaired]) {
      const row = byCase.get(p.zenodoCase) ?? { paired: 0, all: 0, groups: new Set<string>() };
      row.all++;
      byCase.set(p.zenodoCase, row);
    }
    for (const p of pairs.pairs) {
      const row = byCase.get(p.zenodoCase)!;
      row.paired++;
      row.groups.add(p.group);
    }
    const lines = [...byCase].map(([c, r]) => {
      const rp = radiopaediaCaseNumber(c);
      return `${c}${rp ? ` (Radiopaedia case ${rp})` : ''}: ${r.paired}/${r.all} paired${r.groups.size ? `, zenodo-slices ${[...r.groups].join(' + ')}` : ''}`;
    });
    process.stdout.write(`${lines.join('\n')}\n${pairs.pairs.length} of ${pairs.pairs.length + pairs.unpaired.length} renderings paired; wrote ${out}\n`);
  },
};
