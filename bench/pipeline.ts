/**
 * Whole `covseg segment` pipeline (read, lungs, lesions, report, write) on a 512×512×300
 * CT in HU on this machine. The volume is the bundled real chest CT slice stacked 300
 * times (1 mm apart): real anatomy, lungs on every slice — the most work per volume.
 *   node dist/bench/pipeline.js [--slices 300] [--threads 2] [--quick]   (--quick: 20 slices)
 * One JSON line per stage and one for the total.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readVolume, writeVolume } from '../src/io/index.js';
import { createVolume } from '../src/volume/volume.js';
import { segmentCase } from '../src/segment/index.js';
import { PROJECT_ROOT_DIR } from './paths.js';

const { values } = parseArgs({ options: { slices: { type: 'string' }, threads: { type: 'string', default: '2' }, quick: { type: 'boolean', default: false } } });
const nz = Number(values.slices ?? (values.quick ? 20 : 300));
const slice = await readVolume(join(PROJECT_ROOT_DIR, 'examples/chest-ct-dicom-slice/chest-ct.dcm'));
const [nx, ny] = slice.dims;
const data = new Int16Array(nx * ny * nz);
for (let z = 0; z < nz; z++) data.set(slice.data as Int16Array, z * nx * ny);
const dir = mkdtempSync(join(tmpdir(), 'covseg-bench-pipeline-'));
try {
  const input = join(dir, 'ct.nii.gz');
  await writeVolume(input, createVolume(data, [nx, ny, nz], { spacingMm: [slice.spacingMm[0], slice.spacingMm[1], 1] }));
  const t0 = performance.now();
  const result = await segmentCase(input, join(dir, 'out'), { threads: Number(values.threads) });
  const totalMs = performance.now() - t0;
  for (const [stage, ms] of Object.entries(result.report.timingsMs)) console.log(JSON.stringify({ bench: 'pipeline', stage, ms, dims: [nx, ny, nz] }));
  console.log(JSON.stringify({ bench: 'pipeline', stage: 'total', ms: Math.round(totalMs), dims: [nx, ny, nz], target_ms: 30000, lung_ml: result.report.lungs.total.volumeMl, severity: result.report.severity.category }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
