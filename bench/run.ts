/**
 * `npm run bench`: every benchmark, one after another (each in its own process, so
 * timings do not disturb each other), their JSON lines on stdout. Not a test: it
 * reports numbers. Pass names to run a subset: `npm run bench -- training pipeline`, and
 * `--quick` for small sizes (each benchmark in seconds: to check that they all run).
 * Benchmarks that need ../shared/data or the training addon say so and are skipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ALL = ['volume', 'io', 'build-db', 'training', 'train-3d', 'lungs', 'lung-model', 'lung-accuracy', 'pipeline', 'evaluate', 'clinical', 'web-load', 'batch-queue'];
const quick = process.argv.includes('--quick');
const wanted = process.argv.slice(2).filter((a) => a !== '--quick');
const unknown = wanted.filter((w) => !ALL.includes(w));
if (unknown.length) {
  console.error(`unknown benchmark(s) ${unknown.join(', ')}; choose from ${ALL.join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const name of wanted.length ? wanted : ALL) {
  const file = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  if (!existsSync(file)) continue;
  console.error(`# ${name}`);
  const r = spawnSync(process.execPath, [file, ...(quick ? ['--quick'] : [])], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, COVSEG_QUIET: '1' } });
  if (r.status !== 0) {
    console.error(`# ${name} failed (exit ${r.status})`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
