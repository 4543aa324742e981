/**
 * Training and inference speed of the U-Nets on this machine, against the machine's
 * own float32 matrix-multiply peak measured in the same run. One JSON line per case.
 *   node dist/bench/training.js [--threads 2] [--device cpu|cuda] [--quick]
 * (--quick: fewer steps, and batch 1 on a CPU). Skipped (with a line saying so) when the training addon is not built.
 */
import { parseArgs } from 'node:util';
import { loadTorchAddon, createTorchModel, torchAddonAvailable, type UNetConfig } from '../src/nn/torch-addon.js';
import { exportUNetOnnx } from '../src/nn/unet-onnx.js';
import { unetForwardFlops, unetTrainFlops } from '../src/nn/unet-flops.js';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' }, device: { type: 'string', default: 'cpu' }, quick: { type: 'boolean', default: false } } });
if (!torchAddonAvailable()) {
  console.log(JSON.stringify({ bench: 'training', skipped: 'the training addon is not built (npm run build:native)' }));
  process.exit(0);
}
const threads = Number(values.threads);
const device = values.device as 'cpu' | 'cuda';
const addon = loadTorchAddon();
const emit = (o: Record<string, unknown>) => console.log(JSON.stringify({ bench: 'training', device, threads, torch: addon.torchVersion, ...o }));

const peak = addon.matmulGflops(device === 'cuda' ? 8192 : values.quick ? 1024 : 2048, device === 'cuda' ? 20 : values.quick ? 2 : 8, threads, device);
emit({ case: 'sgemm-peak', gflops: +peak.toFixed(1) });

function random(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random();
  return a;
}

async function trainCase(name: string, config: UNetConfig, spatial: number[], batch: number, steps: number) {
  const model = createTorchModel({ ...config, threads, device });
  model.setOptimizer({ type: 'sgd', lr: 0.01, momentum: 0.9 });
  const shape = [batch, 1, ...spatial];
  const n = shape.reduce((a, b) => a * b, 1);
  const image = random(n);
  const target = image.map((v) => (v > 0.7 ? 1 : 0));
  const lung = new Uint8Array(n).fill(1);
  await model.trainStep(image, target, lung, shape); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await model.trainStep(image, target, lung, shape);
  const msPerSample = (performance.now() - t0) / steps / batch;
  const gflops = unetTrainFlops(config, spatial) / (msPerSample / 1000) / 1e9;
  emit({ case: name, batch, ms_per_sample: +msPerSample.toFixed(1), gflops: +gflops.toFixed(1), fraction_of_peak: +(gflops / peak).toFixed(3) });
}

async function inferCase(name: string, config: UNetConfig, spatial: number[], batch: number, runs: number) {
  const model = createTorchModel({ ...config, threads: 1 });
  // Imported here so the GPU run (no node_modules carried) never loads onnxruntime.
  const { loadOnnxModel } = await import('../src/nn/onnx-model.js');
  const onnx = await loadOnnxModel(exportUNetOnnx(config, model.getState().tensors), { threads });
  const shape = [batch, 1, ...spatial];
  const input = random(shape.reduce((a, b) => a * b, 1));
  await onnx.run(input, shape);
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await onnx.run(input, shape);
  const ms = (performance.now() - t0) / runs;
  const gflops = (unetForwardFlops(config, spatial) * batch) / (ms / 1000) / 1e9;
  emit({ case: name, runtime: 'onnxruntime-node', batch, ms_per_run: +ms.toFixed(1), ms_per_sample: +(ms / batch).toFixed(1), gflops: +gflops.toFixed(1), fraction_of_peak: +(gflops / peak).toFixed(3) });
  await onnx.release();
}

const quick = values.quick;
// --quick on a CPU: one sample per step, to see that every case runs in seconds.
const cpuBatch = (n: number) => (quick ? 1 : n);
await trainCase('train-2d-320', { dims: 2, baseFilters: 16 }, [320, 320], device === 'cuda' ? 16 : cpuBatch(4), quick ? 2 : 5);
await trainCase('train-2d-256', { dims: 2, baseFilters: 16 }, [256, 256], device === 'cuda' ? 16 : cpuBatch(8), quick ? 1 : 3);
await trainCase('train-3d-64', { dims: 3, baseFilters: 16 }, [64, 64, 64], device === 'cuda' ? 8 : 1, quick ? 1 : 4);
if (!quick) await trainCase('train-3d-96', { dims: 3, baseFilters: 16 }, [96, 96, 96], device === 'cuda' ? 8 : 1, 2);
if (device === 'cpu') {
  await inferCase('infer-2d-320-slice', { dims: 2, baseFilters: 16 }, [320, 320], cpuBatch(8), quick ? 2 : 5);
  await inferCase('infer-3d-64', { dims: 3, baseFilters: 16 }, [64, 64, 64], 1, quick ? 2 : 5);
  if (!quick) await inferCase('infer-3d-80x320x320-volume', { dims: 3, baseFilters: 16 }, [80, 320, 320], 1, 1);
}
