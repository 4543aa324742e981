#!/usr/bin/env node
// `npm run demo`: runs covseg's main job on the bundled real examples (examples/):
// segments lungs and lesions of a real DICOM chest CT slice and two COVID-19 CT slices,
// then measures the lesion model against the experts' masks of those slices.
// Results go to out/demo/; the paths are printed at the end.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const cli = join(root, 'dist/src/cli/main.js');
if (!existsSync(cli)) {
  console.error('covseg is not built: run `bash scripts/setup.sh --runtime` first');
  process.exit(1);
}
const out = join(root, 'out/demo');
const covseg = (...args) => {
  console.log(`\n$ covseg ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

const cases = [
  ['chest-ct-dicom', 'examples/chest-ct-dicom-slice/chest-ct.dcm'],
  ['zenodo-1397', 'examples/zenodo20-slices/ct/1397.png'],
  ['zenodo-1316', 'examples/zenodo20-slices/ct/1316.png'],
];
for (const [name, input] of cases) covseg('segment', input, '--out', join(out, name), '--overwrite', '--quiet');

const hasEvaluate = existsSync(join(root, 'dist/src/cli/commands/evaluate.js'));
if (hasEvaluate) {
  covseg('evaluate', '--model', 'models/lesion-2d.onnx', '--images', 'examples/zenodo20-slices/ct', '--masks', 'examples/zenodo20-slices/covid',
    '--lungs', 'examples/zenodo20-slices/lungs', '--json', join(out, 'evaluation.json'), '--figures', join(out, 'evaluation-figures'));
}

console.log('\nResults');
for (const [name] of cases) {
  const dir = join(out, name);
  const r = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
  // No grade where the lungs are not wholly in view (a single slice): then the percentage is of the lung in view, and the reason is said.
  const grade = r.severity.category ?? 'no grade';
  const of = r.severity.category ? 'of the lungs' : 'of the lung in view';
  console.log(`  ${name.padEnd(15)} ${grade}, ${r.severity.percentAffected.toFixed(1)}% ${of} affected (right ${r.lesions.right.percentOfLung.toFixed(1)}%, left ${r.lesions.left.percentOfLung.toFixed(1)}%)`);
  if (!r.severity.category) console.log(`  ${''.padEnd(15)} why: ${r.severity.reason}`);
  console.log(`  ${''.padEnd(15)} report ${join(dir, 'report.html')}`);
  console.log(`  ${''.padEnd(15)} picture ${join(dir, 'overlays.png')}`);
}
if (hasEvaluate) console.log(`  evaluation      ${join(out, 'evaluation.json')} and ${join(out, 'evaluation-figures')}/`);
