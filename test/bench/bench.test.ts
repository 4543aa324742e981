/**
 * The benchmarks run on any clone: no path of one machine in their sources, the shipped
 * models or data built in a temporary folder, and a clean skip (exit 0, a line saying
 * why) when ../shared/data is absent. The evaluate benchmark runs here on a tiny synthetic
 * slice set standing in for ../shared/data (COVSEG_SHARED_DATA).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../helpers/shared-data.js';
import { writeSliceSetLayout } from '../helpers/tiny-models.js';

const run = promisify(execFile);

test('bench sources name no path of one machine (absolute folders, the working directory)', async () => {
  const dir = join(PROJECT_ROOT, 'bench');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.ts'));
  assert.ok(files.includes('evaluate.ts'));
  for (const f of files) {
    const text = await readFile(join(dir, f), 'utf8');
    assert.doesNotMatch(text, /['"`]\/(work|home|root|data|mnt|Users|tmp)\//, `${f} names an absolute folder`);
    assert.doesNotMatch(text, /process\.cwd\(\)/, `${f} depends on the folder it is started from`);
  }
});

test('bench/evaluate: the shipped lesion model on a database it builds in a temporary folder; skipped cleanly without ../shared/data', async () => {
  const shared = await mkdtemp(join(tmpdir(), 'covseg-bench-shared-'));
  const script = join(PROJECT_ROOT, 'dist', 'bench', 'evaluate.js');
  try {
    // Started from another folder, so nothing may lean on the working directory.
    const options = (env: Record<string, string>) => ({ cwd: tmpdir(), env: { ...process.env, COVSEG_QUIET: '1', ...env } });
    const none = await run(process.execPath, [script], options({ COVSEG_SHARED_DATA: shared }));
    assert.deepEqual(none.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), [{ bench: 'evaluate', skipped: `needs ${join(shared, 'zenodo20-slices')} (or give --db DB)` }]);
    const slices = ['a', 'b', 'c'].flatMap((g, k) => [0, 1].map((i) => ({ file: `${k}${i}.png`, group: `coronacases_00${k + 1}`, lesionRadius: 3 + i })));
    await writeSliceSetLayout(join(shared, 'zenodo20-slices'), slices);
    const { stdout } = await run(process.execPath, [script, '--every', '1'], options({ COVSEG_SHARED_DATA: shared }));
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { bench: string; step: string; slices: number });
    assert.ok(lines.every((l) => l.bench === 'evaluate'));
    assert.deepEqual(lines.map((l) => l.step), [
      'setup: build-db of the slice subset (not timed below)',
      'read image + masks (readImage)',
      'input transform alone (CLAHE + resize)',
      'predictSlices (transform + ONNX Runtime), batch 8',
      'evaluateSlice ×n (whole + in lungs)',
      'evaluateModel (everything)',
    ]);
    assert.equal(lines.at(-1)!.slices, 6, 'every slice of the set, all splits');
  } finally {
    await rm(shared, { recursive: true, force: true });
  }
});
