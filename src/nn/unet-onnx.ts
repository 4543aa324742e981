/**
 * Exports a U-Net trained by the libtorch addon to ONNX, from its named weights.
 * The graph mirrors native/src/unet.cc op for op (same parameter names), so ONNX
 * Runtime (Node and browser) gives the same probabilities as libtorch.
 */
import { OnnxGraph, readOnnxMetadata, readOnnxWeights } from './onnx/graph.js';
import type { NamedTensor, UNetConfig } from './torch-addon.js';

export interface UNetOnnxOptions {
  /** Fold batch-norm into the preceding conv (fewer ops, same output). Defaults to true. */
  foldBatchNorm?: boolean;
  /** Store weights as float16 (half the file; probabilities change by ~1e-3). Defaults to false. */
  float16?: boolean;
  /** Key/value strings stored in the model file (read back with readOnnxMetadata). */
  metadata?: Record<string, string>;
}

const BN_EPS = 1e-5;

/**
 * Builds the ONNX model. Input `image` [batch, inChannels, ...spatial] float32,
 * output `probability` [batch, outChannels, ...spatial] (sigmoid).
 */
export function exportUNetOnnx(config: UNetConfig, tensors: Record<string, NamedTensor>, options: UNetOnnxOptions = {}): Uint8Array {
  const dims = config.dims;
  const depth = config.depth ?? 4;
  const norm = config.norm ?? 'batch';
  const fold = (options.foldBatchNorm ?? true) && norm === 'batch';
  const float16 = options.float16 ?? false;
  const g = new OnnxGraph(`covseg-unet${dims}d`);
  const spatial = dims === 2 ? ['height', 'width'] : ['depth', 'height', 'width'];

  const get = (name: string): NamedTensor => {
    const t = tensors[name];
    if (!t) throw new Error(`exportUNetOnnx: weights have no tensor '${name}' (config and weights do not match)`);
    return t;
  };
  const weight = (name: string, t: NamedTensor = get(name)): string => g.weight(name, t.data, t.shape, { float16 });
  const kernel = (k: number) => new Array<number>(dims).fill(k);

  const conv = (x: string, prefix: string, k: number, normPrefix?: string): string => {
    let w = get(`${prefix}.weight`);
    let b: NamedTensor | undefined = tensors[`${prefix}.bias`];
    if (normPrefix && fold) {
      ({ w, b } = foldBn(w, b, get(`${normPrefix}.weight`), get(`${normPrefix}.bias`), get(`${normPrefix}.running_mean`), get(`${normPrefix}.running_var`)));
    }
    const inputs = [x, weight(`${prefix}.weight`, w)];
    if (b) inputs.push(weight(`${prefix}.bias`, b));
    let y = g.node('Conv', inputs, { kernel_shape: kernel(k), pads: new Array<number>(2 * dims).fill(Math.floor(k / 2)) });
    if (normPrefix && !fold) {
      const args = [y, weight(`${normPrefix}.weight`), weight(`${normPrefix}.bias`)];
      y = norm === 'batch'
        ? g.node('BatchNormalization', [...args, weight(`${normPrefix}.running_mean`), weight(`${normPrefix}.running_var`)], { epsilon: { float: BN_EPS } })
        : g.node('InstanceNormalization', args, { epsilon: { float: BN_EPS } });
    }
    return y;
  };
  const doubleConv = (x: string, prefix: string): string => {
    const n = norm === 'none' ? undefined : (i: number) => `${prefix}.norm${i}`;
    x = g.node('Relu', [conv(x, `${prefix}.conv1`, 3, n?.(1))]);
    return g.node('Relu', [conv(x, `${prefix}.conv2`, 3, n?.(2))]);
  };

  let x = g.input('image', 'float32', ['batch', config.inChannels ?? 1, ...spatial]);
  const skips: string[] = [];
  for (let l = 0; l <= depth; l++) {
    x = doubleConv(x, `enc${l}`);
    if (l < depth) {
      skips.push(x);
      x = g.node('MaxPool', [x], { kernel_shape: kernel(2), strides: kernel(2) });
    }
  }
  for (let l = depth - 1; l >= 0; l--) {
    x = g.node('ConvTranspose', [x, weight(`up${l}.weight`), weight(`up${l}.bias`)], { kernel_shape: kernel(2), strides: kernel(2) });
    x = g.node('Concat', [x, skips[l]!], { axis: 1 });
    x = doubleConv(x, `dec${l}`);
  }
  const logits = g.node('Conv', [x, weight('head.weight'), weight('head.bias')], { kernel_shape: kernel(1) });
  g.output(g.node('Sigmoid', [logits]), 'probability', 'float32', ['batch', config.outChannels ?? 1, ...spatial]);
  return g.toBytes({ docString: `covseg ${dims}D U-Net`, metadata: options.metadata ?? {} });
}

/** conv(x)·γ/√(σ²+ε) + (β − μ·γ/√(σ²+ε)) as one conv: scales each output channel. */
function foldBn(w: NamedTensor, b: NamedTensor | undefined, gamma: NamedTensor, beta: NamedTensor, mean: NamedTensor, variance: NamedTensor): { w: NamedTensor; b: NamedTensor } {
  const outCh = w.shape[0]!;
  const per = w.data.length / outCh;
  const wd = new Float32Array(w.data.length);
  const bd = new Float32Array(outCh);
  for (let o = 0; o < outCh; o++) {
    const s = gamma.data[o]! / Math.sqrt(variance.data[o]! + BN_EPS);
    for (let i = 0; i < per; i++) wd[o * per + i] = w.data[o * per + i]! * s;
    bd[o] = ((b?.data[o] ?? 0) - mean.data[o]!) * s + beta.data[o]!;
  }
  return { w: { shape: w.shape, data: wd }, b: { shape: [outCh], data: bd } };
}

/**
 * The weights of a covseg U-Net model file, named as the libtorch addon names them, to
 * start training from (fine-tuning a shipped model). A model exported with batch norm has
 * it folded into its convs (each conv then has a bias), so those weights are only the same
 * network as one without norm layers: `config` must have norm 'none' and otherwise match
 * the file's `covseg.network`. Throws a message naming the mismatch.
 */
export function unetWeightsFromOnnx(model: Uint8Array, config: UNetConfig): Record<string, NamedTensor> {
  const meta = readOnnxMetadata(model);
  if (!meta['covseg.network']) throw new Error('not a covseg U-Net model file (no covseg.network metadata)');
  const stored = JSON.parse(meta['covseg.network']) as UNetConfig;
  const folded = (stored.norm ?? 'batch') === 'batch';
  if ((config.norm ?? 'batch') !== 'none' && (folded || stored.norm !== config.norm)) {
    throw new Error(`its weights are a network with${folded ? ' batch norm folded into the convs' : ` ${stored.norm} norm`}: train with --norm none to start from them`);
  }
  if ((stored.norm ?? 'batch') === 'instance') throw new Error('a model with instance norm cannot be continued without its norm layers');
  for (const k of ['dims', 'inChannels', 'outChannels', 'baseFilters', 'depth'] as const) {
    const def = { dims: 2, inChannels: 1, outChannels: 1, baseFilters: 16, depth: 4 }[k];
    if ((stored[k] ?? def) !== (config[k] ?? def)) throw new Error(`its network has ${k} ${stored[k] ?? def}, this run ${config[k] ?? def}`);
  }
  return readOnnxWeights(model);
}
