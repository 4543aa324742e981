/**
 * Speed of the volume primitives on a synthetic chest CT of clinical size
 * (512 × 512 × 300 int16 at 0.7 × 0.7 × 1.5 mm). One JSON line per step:
 *   node dist/bench/volume.js [--quick]   (--quick: 40 slices)
 */
import { parseArgs } from 'node:util';
import { Rng } from '../src/util/random.js';
import {
  centreCropOrPad,
  close,
  connectedComponents,
  createVolume,
  fillHoles,
  normalizePercentiles,
  percentiles,
  resample,
  type Vec3,
} from '../src/volume/index.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const dims: Vec3 = [512, 512, values.quick ? 40 : 300];
const [nx, ny, nz] = dims;

/** Air outside a body ellipse, soft tissue ~40 HU, two lungs ~−850 HU that taper towards apex and base, ±20 HU noise. */
function syntheticChest(): Int16Array {
  const rng = new Rng(7);
  const hu = new Int16Array(nx * ny * nz);
  let i = 0;
  for (let z = 0; z < nz; z++) {
    const taper = Math.sin((Math.PI * (z + 0.5)) / nz); // lungs widest mid-volume, absent at the ends
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        const body = ((x - 256) / 230) ** 2 + ((y - 256) / 170) ** 2 <= 1;
        const lungA = ((x - 170) / (70 * taper)) ** 2 + ((y - 250) / (110 * taper)) ** 2 <= 1;
        const lungB = ((x - 342) / (70 * taper)) ** 2 + ((y - 250) / (110 * taper)) ** 2 <= 1;
        const base = !body ? -1000 : lungA || lungB ? -850 : 40;
        hu[i] = base + Math.round((rng.next() - 0.5) * 40);
      }
    }
  }
  return hu;
}

/** Wall time, and this process's CPU time (less sensitive to other work on a shared 2-core machine). */
function time<T>(step: string, run: () => T, dimsOf: (r: T) => number[]): T {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = run();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ bench: 'volume', step, ms: +ms.toFixed(1), cpuMs: +((cpu.user + cpu.system) / 1000).toFixed(1), dims: dimsOf(result) }));
  return result;
}

const ct = createVolume(syntheticChest(), dims, { spacingMm: [0.7, 0.7, 1.5], origin: [-180, -180, -225] });
const resampled = time('resample', () => resample(ct, { spacingMm: [0.9, 0.9, 4.5], interpolation: 'linear' }), (v) => v.dims);
time('centre-crop-pad', () => centreCropOrPad(resampled, [320, 320, 80]), (r) => r.volume.dims);
time('percentiles', () => percentiles(ct.data, [1, 99]), () => dims);
time('normalize-percentiles', () => normalizePercentiles(ct), (v) => v.dims);
const air = new Uint8Array(ct.data.length);
const body = new Uint8Array(ct.data.length);
for (let i = 0; i < ct.data.length; i++) {
  air[i] = ct.data[i]! < -500 ? 1 : 0;
  body[i] = 1 - air[i]!;
}
time('connected-components-26', () => connectedComponents(air, dims, { connectivity: 26 }), () => dims);
time('fill-holes-3d', () => fillHoles(body, dims, { plane: '3d' }), () => dims);
const lungLabels = new Uint8Array(air);
time('resample-label', () => resample(createVolume(lungLabels, dims, ct), { spacingMm: [0.9, 0.9, 4.5], interpolation: 'label' }), (v) => v.dims);
time('close-cross-3d', () => close(body, dims, { structure: 'cross' }), () => dims);
// Worst case for run-based labelling: 30% salt-and-pepper noise (~16 M runs instead of ~0.5 M).
const rng = new Rng(1);
const noise = air.map(() => (rng.next() < 0.3 ? 1 : 0));
time('connected-components-26-noise30', () => connectedComponents(noise, dims, { connectivity: 26 }), () => dims);
