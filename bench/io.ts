/**
 * Image I/O speed on a synthetic chest CT of clinical size (512 × 512 × 300 int16, noisy
 * like a real scan so that gzip has real work to do). covseg's writers and readers are
 * timed next to itk-wasm's, the baseline of docs/measured-stack.md. One JSON line per step:
 *   node dist/bench/io.js [--slices 300] [--quick]   (--quick: 30 slices)
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readImageNode, writeImageNode } from '@itk-wasm/image-io';
import { readVolume, writeVolume } from '../src/io/index.js';
import { volumeToItkImage } from '../src/io/itk.js';
import { Rng } from '../src/util/random.js';
import { createVolume, type Volume } from '../src/volume/volume.js';
import { PROJECT_ROOT_DIR } from './paths.js';

const { values } = parseArgs({ options: { slices: { type: 'string' }, quick: { type: 'boolean', default: false } } });
const nz = Number(values.slices ?? (values.quick ? 30 : 300));
const [nx, ny] = [512, 512];

/** Air around an elliptic body at 40 HU with two −850 HU lungs; Gaussian noise σ = 15 HU. */
function phantom(): Volume<Int16Array> {
  const rng = new Rng(11);
  const hu = new Int16Array(nx * ny * nz);
  const inside = (x: number, y: number, cx: number, cy: number, rx: number, ry: number) => ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1;
  for (let z = 0, i = 0; z < nz; z++) {
    const r = 0.4 + 0.6 * Math.sin((Math.PI * (z + 1)) / (nz + 1));
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        let v = -1000;
        if (inside(x, y, 256, 260, 220, 160)) v = inside(x, y, 175, 250, 65 * r, 105 * r) || inside(x, y, 337, 250, 65 * r, 105 * r) ? -850 : 40;
        hu[i] = Math.round(v + 15 * rng.normal());
      }
    }
  }
  return createVolume(hu, [nx, ny, nz], { spacingMm: [0.7, 0.7, 1.25], origin: [-179, -170, -300] });
}

const dir = mkdtempSync(join(tmpdir(), 'covseg-bench-io-'));
const emit = (o: Record<string, unknown>) => console.log(JSON.stringify({ bench: 'io', dims: [nx, ny, nz], ...o }));

async function time(step: string, fn: () => Promise<unknown>, file?: string): Promise<void> {
  const t0 = performance.now();
  await fn();
  const ms = Math.round(performance.now() - t0);
  emit({ step, ms, ...(file ? { mb: +(statSync(file).size / 1e6).toFixed(1) } : {}) });
}

try {
  const vol = phantom();
  const nii = join(dir, 'ct.nii.gz');
  const nrrd = join(dir, 'ct.nrrd');
  const itkNii = join(dir, 'itk.nii.gz');
  const itkNrrd = join(dir, 'itk.nrrd');
  // Warm-up: itk-wasm compiles its wasm modules on first use.
  await readVolume(join(PROJECT_ROOT_DIR, 'test/fixtures/io/oblique-int16-ras.nrrd')).catch(() => undefined);
  await time('write .nii.gz (covseg, gzip 1)', () => writeVolume(nii, vol), nii);
  await time('read .nii.gz (covseg)', () => readVolume(nii));
  await time('write .nrrd (covseg, gzip 1)', () => writeVolume(nrrd, vol), nrrd);
  await time('read .nrrd (itk-wasm)', () => readVolume(nrrd));
  await time('write .nii.gz (itk-wasm)', () => writeImageNode(volumeToItkImage(vol), itkNii, { useCompression: true }), itkNii);
  await time('read .nii.gz (itk-wasm)', () => readImageNode(nii));
  await time('write .nrrd (itk-wasm, gzip)', () => writeImageNode(volumeToItkImage(vol), itkNrrd, { useCompression: true }), itkNrrd);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
