/**
 * What the clinical figures add to `covseg segment` on a CT of clinical size
 * (512 × 512 × 300 int16 at 0.7 × 0.7 × 1.5 mm, stored RAS as a NIfTI from DICOM is):
 * two tapered lungs, lesions of ground glass and consolidation in both, and lobes. First what
 * segment pays, cold: every step it adds, each once, in a fresh process (the target:
 * < 1 s); then one JSON line per step, the best of three runs (and the first, which after the
 * cold line is no longer the first the JIT sees), with the CPU:
 *   node dist/bench/clinical.js [--quick]   (--quick: 40 slices)
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, tmpdir } from 'node:os';
import { clinicalFigures, clinicalPictures, clinicalReportParts, lesionTypeMap } from '../src/clinical/index.js';
import { writeVolume } from '../src/io/index.js';
import { Rng } from '../src/util/random.js';
import { createVolume, type Vec3 } from '../src/volume/volume.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const dims: Vec3 = [512, 512, values.quick ? 40 : 300];
const [nx, ny, nz] = dims;
const rng = new Rng(7);
const hu = new Int16Array(nx * ny * nz);
const lungs = new Uint8Array(hu.length);
const lesions = new Uint8Array(hu.length);
for (let z = 0, i = 0; z < nz; z++) {
  const taper = Math.sin((Math.PI * (z + 0.5)) / nz);
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++, i++) {
      const body = ((x - 256) / 230) ** 2 + ((y - 256) / 170) ** 2 <= 1;
      const side = ((x - 170) / (70 * taper)) ** 2 + ((y - 250) / (110 * taper)) ** 2 <= 1 ? 1 : ((x - 342) / (70 * taper)) ** 2 + ((y - 250) / (110 * taper)) ** 2 <= 1 ? 2 : 0;
      lungs[i] = side;
      let v = !body ? -1000 : side ? -850 : 40;
      // Dorsal lesions in the lower half of both lungs: ground glass with a consolidated core.
      const r = Math.hypot((x - (side === 1 ? 170 : 342)) / 50, (y - 320) / 40, (z - 100) / 60);
      if (side && r < 1) {
        lesions[i] = 1;
        v = r < 0.5 ? -50 : -600;
      }
      hu[i] = v + Math.round((rng.next() - 0.5) * 40);
    }
  }
}
const geometry = { spacingMm: [0.7, 0.7, 1.5] as Vec3, origin: [180, 180, -225] as Vec3, direction: [-1, 0, 0, 0, -1, 0, 0, 0, 1] as [number, number, number, number, number, number, number, number, number] };
const input = { ct: createVolume(hu, dims, geometry), lungs: createVolume(lungs, dims, geometry), lesions: createVolume(lesions, dims, geometry), isHu: true };

function best(step: string, run: () => unknown): void {
  void bestAsync(step, run, true);
}

/** The best of three runs of `run` (awaited unless `sync`), printed as one JSON line. */
async function bestAsync(step: string, run: () => unknown, sync = false): Promise<void> {
  let ms = Infinity;
  let cpuMs = Infinity;
  let firstMs = 0;
  let firstCpuMs = 0;
  for (let k = 0; k < 3; k++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    if (sync) run();
    else await run();
    if (k === 0) firstMs = performance.now() - t0;
    ms = Math.min(ms, performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    if (k === 0) firstCpuMs = (cpu.user + cpu.system) / 1000;
    cpuMs = Math.min(cpuMs, (cpu.user + cpu.system) / 1000);
  }
  console.log(JSON.stringify({ bench: 'clinical', step, ms: +ms.toFixed(1), cpuMs: +cpuMs.toFixed(1), firstMs: +firstMs.toFixed(1), firstCpuMs: +firstCpuMs.toFixed(1), dims, cpu: cpus()[0]?.model ?? 'unknown' }));
}

// Lobes as LTRCLobes labels them (1 LUL, 2 LLL, 3 RUL, 4 RML, 5 RLL): each lung cut by height, for the lobe scores' extra counting.
const lobes = new Uint8Array(hu.length);
for (let i = 0; i < lobes.length; i++) {
  const t = Math.floor(i / (nx * ny)) / nz;
  lobes[i] = lungs[i] === 1 ? (t < 1 / 3 ? 5 : t < 2 / 3 ? 4 : 3) : lungs[i] === 2 ? (t < 1 / 2 ? 2 : 1) : 0;
}
const withLobes = { ...input, lobes: createVolume(lobes, dims, geometry) };

const dir = mkdtempSync(join(tmpdir(), 'covseg-bench-clinical-'));
const lesionTypesFile = join(dir, 'lesion-types.nii.gz');
try {
  // segment's order: the figures (pipeline), their pictures, the lesion-type map and its file.
  const cpu0 = process.cpuUsage();
  const t = [performance.now()];
  const figures = clinicalFigures(input);
  t.push(performance.now());
  clinicalPictures(input, figures);
  t.push(performance.now());
  const types = lesionTypeMap(input.ct, input.lungs, input.lesions, true);
  t.push(performance.now());
  await writeVolume(lesionTypesFile, types, { labels: true });
  t.push(performance.now());
  const cpu = process.cpuUsage(cpu0);
  const [figuresMs, picturesMs, mapMs, writeMs] = t.slice(1).map((v, k) => +(v - t[k]!).toFixed(1));
  console.log(JSON.stringify({
    bench: 'clinical', step: 'cold, each once: what segment adds (figures, pictures, lesion-types map + write)', ms: +(t[4]! - t[0]!).toFixed(1), cpuMs: +((cpu.user + cpu.system) / 1000).toFixed(1),
    figuresMs, picturesMs, mapMs, writeMs, lesionTypesBytes: statSync(lesionTypesFile).size, dims, cpu: cpus()[0]?.model ?? 'unknown',
  }));

  best('figures', () => clinicalFigures(input));
  best('figures+pictures (segment adds this)', () => clinicalReportParts(input));
  best('figures+pictures with lobes (segment --lobe-weights adds this, besides the lobe model)', () => clinicalReportParts(withLobes));

  // segment also writes the lesion by type (HU input): the map, then lesion-types.nii.gz (gzip level 1, run-length deflated as every mask).
  await bestAsync('lesion-types.nii.gz (map + write; segment adds this for HU input)', () => writeVolume(lesionTypesFile, lesionTypeMap(input.ct, input.lungs, input.lesions, true), { labels: true }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
