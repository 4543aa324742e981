/**
 * Test fixtures for evaluation: a tiny random U-Net exported to ONNX without libtorch
 * (the named tensors built here with the shapes native/src/unet.cc registers), and a
 * synthetic zenodo-slices layout (ct/, lungs/, covid/ PNGs and slices.csv).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportUNetOnnx } from '../../src/nn/unet-onnx.js';
import type { NamedTensor, UNetConfig } from '../../src/nn/torch-addon.js';
import { specToMetadata, type ModelSpec } from '../../src/infer/model-spec.js';
import { writePng } from '../../src/io/raster.js';
import { Rng } from '../../src/util/random.js';

/**
 * Kaiming-normal weights for a U-Net without normalisation layers (so every conv has a
 * bias), named as the libtorch addon names them: encL.conv1/2, upL (transposed: [in, out, 2, 2]),
 * decL.conv1/2, head.
 */
export function randomUNetTensors(config: Required<Pick<UNetConfig, 'dims' | 'baseFilters' | 'depth'>>, seed: number): Record<string, NamedTensor> {
  const rng = new Rng(seed);
  const k = (size: number) => new Array<number>(config.dims).fill(size);
  const tensors: Record<string, NamedTensor> = {};
  const add = (name: string, shape: number[], fanIn: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const std = Math.sqrt(2 / fanIn);
    for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
    tensors[name] = { shape, data };
  };
  const conv = (name: string, inCh: number, outCh: number, size: number) => {
    add(`${name}.weight`, [outCh, inCh, ...k(size)], inCh * size ** config.dims);
    add(`${name}.bias`, [outCh], 50 * inCh);
  };
  let inCh = 1;
  for (let l = 0; l <= config.depth; l++) {
    const f = config.baseFilters << l;
    conv(`enc${l}.conv1`, inCh, f, 3);
    conv(`enc${l}.conv2`, f, f, 3);
    inCh = f;
  }
  for (let l = config.depth - 1; l >= 0; l--) {
    const f = config.baseFilters << l;
    add(`up${l}.weight`, [2 * f, f, ...k(2)], f * 2 ** config.dims);
    add(`up${l}.bias`, [f], 50 * f);
    conv(`dec${l}.conv1`, 2 * f, f, 3);
    conv(`dec${l}.conv2`, f, f, 3);
  }
  conv('head', config.baseFilters, 1, 1);
  return tensors;
}

/** ONNX bytes of a random 2D/3D U-Net carrying `spec` in its metadata (`metadata: false` leaves it out). */
export function tinyModel(spec: ModelSpec, options: { seed?: number; baseFilters?: number; depth?: number; metadata?: boolean } = {}): Uint8Array {
  const config = { dims: spec.dims, baseFilters: options.baseFilters ?? 4, depth: options.depth ?? 2, norm: 'none' as const };
  return exportUNetOnnx(config, randomUNetTensors(config, options.seed ?? 1), { metadata: options.metadata === false ? {} : specToMetadata(spec) });
}

/** One synthetic slice: texture, a lung ellipse, a lesion disc inside it (radius 0: none). */
export interface SyntheticSlice {
  file: string;
  group: string;
  lesionRadius: number;
}

/** Writes `size`² grey slices with their masks (0/255) in the zenodo-slices layout. */
export async function writeSliceSetLayout(root: string, slices: readonly SyntheticSlice[], size = 32, seed = 7): Promise<void> {
  for (const dir of ['ct', 'lungs', 'covid']) await mkdir(join(root, dir), { recursive: true });
  const rng = new Rng(seed);
  for (const s of slices) {
    const ct = new Uint8Array(size * size);
    const lung = new Uint8Array(size * size);
    const lesion = new Uint8Array(size * size);
    const c = (size - 1) / 2;
    const cx = c + rng.uniform(-2, 2);
    const cy = c + rng.uniform(-2, 2);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const i = y * size + x;
        const inLung = ((x - c) / (0.4 * size)) ** 2 + ((y - c) / (0.3 * size)) ** 2 <= 1;
        const inLesion = (x - cx) ** 2 + (y - cy) ** 2 <= s.lesionRadius ** 2;
        lung[i] = inLung || inLesion ? 255 : 0;
        lesion[i] = inLesion ? 255 : 0;
        ct[i] = Math.max(0, Math.min(255, Math.round((inLesion ? 170 : inLung ? 60 : 120) + rng.normal() * 15)));
      }
    }
    await writePng(join(root, 'ct', s.file), { width: size, height: size, channels: 1, data: ct });
    await writePng(join(root, 'lungs', s.file), { width: size, height: size, channels: 1, data: lung });
    await writePng(join(root, 'covid', s.file), { width: size, height: size, channels: 1, data: lesion });
  }
  await writeFile(join(root, 'slices.csv'), `file,patient_group,source\n${slices.map((s) => `${s.file},${s.group},test`).join('\n')}\n`);
}
