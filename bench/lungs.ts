/**
 * Speed of lungmask R231 in covseg: the full-width U-Net (64…1024 channels, random
 * weights: speed does not depend on the values) in ONNX Runtime on 2 threads per 256×256
 * slice, and the pre/post-processing of a 512 × 512 × 300 chest CT. One JSON line per step:
 *   node dist/bench/lungs.js [--slices 20] [--quick]   (--quick: 2 slices, batch 1, a 512×512×30 CT)
 */
import { parseArgs } from 'node:util';
import { Rng } from '../src/util/random.js';
import type { StateDict, TorchTensor } from '../src/nn/torch-pth/index.js';
import { R231Session } from '../src/lungs/r231-network.js';
import { predictLabelsR231 } from '../src/lungs/r231.js';
import { labelsToSlices, preprocessR231 } from '../src/lungs/r231-preprocess.js';
import { postprocessR231 } from '../src/lungs/r231-postprocess.js';
import { createVolume, type Vec3 } from '../src/volume/index.js';

const { values } = parseArgs({ options: { slices: { type: 'string' }, quick: { type: 'boolean', default: false } } });
const SLICES = Number(values.slices ?? (values.quick ? 2 : 20));
const WIDTHS = [64, 128, 256, 512, 1024];
const VOLUME: Vec3 = [512, 512, values.quick ? 30 : 300];

function tensor(rng: Rng, shape: number[], init: (rng: Rng) => number): TorchTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = init(rng);
  return { dtype: 'float32', shape, data };
}

/** The released R231 layout (used keys only) with He-uniform convolutions and unit BatchNorm statistics. */
function fullWidthStateDict(): StateDict {
  const rng = new Rng(1);
  const sd: StateDict = new Map();
  const conv = (key: string, cout: number, cin: number, k: number) => {
    const bound = Math.sqrt(6 / (cin * k * k));
    sd.set(`${key}.weight`, tensor(rng, [cout, cin, k, k], (r) => r.uniform(-bound, bound)));
    sd.set(`${key}.bias`, tensor(rng, [cout], () => 0));
  };
  const bn = (key: string, c: number) => {
    sd.set(`${key}.weight`, tensor(rng, [c], () => 1));
    sd.set(`${key}.bias`, tensor(rng, [c], () => 0));
    sd.set(`${key}.running_mean`, tensor(rng, [c], () => 0));
    sd.set(`${key}.running_var`, tensor(rng, [c], () => 1));
  };
  const block = (key: string, cin: number, cout: number) => {
    conv(`${key}.block.0`, cout, cin, 3);
    bn(`${key}.block.2`, cout);
    conv(`${key}.block.3`, cout, cout, 3);
    bn(`${key}.block.5`, cout);
  };
  let cin = 1;
  WIDTHS.forEach((w, i) => {
    block(`down_path.${i}`, cin, w);
    cin = w;
  });
  for (let u = 0; u < WIDTHS.length - 1; u++) {
    const out = WIDTHS[WIDTHS.length - 2 - u]!;
    conv(`up_path.${u}.up.1`, out, cin, 1);
    block(`up_path.${u}.conv_block`, 2 * out, out);
    cin = out;
  }
  conv('last', 3, cin, 1);
  return sd;
}

function log(step: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ bench: 'lungs', step, ...fields }));
}

async function timed<T>(run: () => Promise<T> | T): Promise<{ result: T; ms: number; cpuMs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await run();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { result, ms: +ms.toFixed(1), cpuMs: +((cpu.user + cpu.system) / 1000).toFixed(1) };
}

/** Air, a body ellipse at 40 HU, two lungs at −850 HU tapering towards apex and base, ±20 HU noise. */
function syntheticChest(): Int16Array {
  const [nx, ny, nz] = VOLUME;
  const rng = new Rng(7);
  const hu = new Int16Array(nx * ny * nz);
  let i = 0;
  for (let z = 0; z < nz; z++) {
    const taper = Math.max(0.05, Math.sin((Math.PI * (z + 0.5)) / nz));
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        const body = ((x - 256) / 230) ** 2 + ((y - 256) / 170) ** 2 <= 1;
        const lung = ((Math.abs(x - 256) - 86) / (70 * taper)) ** 2 + ((y - 250) / (110 * taper)) ** 2 <= 1;
        hu[i] = (!body ? -1000 : lung ? -850 : 40) + Math.round((rng.next() - 0.5) * 40);
      }
    }
  }
  return hu;
}

const plane = 256 * 256;
const build = await timed(() => R231Session.create(fullWidthStateDict(), { threads: 2 }));
const session = build.result;
log('build-onnx-and-session', { ms: build.ms, cpuMs: build.cpuMs, widths: WIDTHS });

const rng = new Rng(3);
const input = new Float32Array(SLICES * plane);
for (let i = 0; i < input.length; i++) input[i] = 0.2 + 0.1 * rng.next();
await predictLabelsR231(input.subarray(0, plane), { session, batchSize: 1 }); // warm-up
let netMsPerSlice = Infinity;
for (const batchSize of values.quick ? [1] : [1, 4, 20]) {
  const n = batchSize === 1 ? Math.min(4, SLICES) : SLICES;
  const t = await timed(() => predictLabelsR231(input.subarray(0, n * plane), { session, batchSize }));
  const perSlice = t.ms / n;
  netMsPerSlice = Math.min(netMsPerSlice, perSlice);
  log('network', { batchSize, slices: n, ms: t.ms, cpuMs: t.cpuMs, msPerSlice: +perSlice.toFixed(1), gflopPerS: +((n * 2 * 48e9) / (t.ms * 1e6)).toFixed(1) });
}
await session.release();

const ct = createVolume(syntheticChest(), VOLUME, { spacingMm: [0.7, 0.7, 1.5] });
const pre = await timed(() => preprocessR231(ct));
log('preprocess', { dims: VOLUME, ms: pre.ms, cpuMs: pre.cpuMs, msPerSlice: +(pre.ms / VOLUME[2]).toFixed(2) });
// Post-processing input: the body boxes' lung ellipses at 256×256, with speckle for the small-component step.
const labels = new Uint8Array(VOLUME[2] * plane);
for (let z = 0; z < VOLUME[2]; z++) {
  const taper = Math.max(0.05, Math.sin((Math.PI * (z + 0.5)) / VOLUME[2]));
  for (let y = 0; y < 256; y++) {
    for (let x = 0; x < 256; x++) {
      const side = x < 128 ? 1 : 2;
      const inside = ((Math.abs(x - 128) - 48) / (38 * taper)) ** 2 + ((y - 128) / (80 * taper)) ** 2 <= 1;
      labels[z * plane + y * 256 + x] = inside ? (rng.next() < 0.002 ? 3 - side : side) : rng.next() < 0.0005 ? side : 0;
    }
  }
}
const post = await timed(() => postprocessR231(labels, [256, 256, VOLUME[2]]));
log('postprocess', { dims: [256, 256, VOLUME[2]], ms: post.ms, cpuMs: post.cpuMs });
const back = await timed(() => labelsToSlices(post.result, pre.result.crops));
log('labels-to-slices', { dims: VOLUME, ms: back.ms, cpuMs: back.cpuMs });
const totalS = (netMsPerSlice * VOLUME[2] + pre.ms + post.ms + back.ms) / 1000;
log('volume-estimate', { dims: VOLUME, networkS: +((netMsPerSlice * VOLUME[2]) / 1000).toFixed(1), totalS: +totalS.toFixed(1), basis: `best network ms/slice × ${VOLUME[2]} + measured pre/post` });
