/**
 * lungmask's U-Net (R231, R231CovidWeb, LTRCLobes) as an ONNX graph built from its
 * PyTorch state_dict, run with ONNX Runtime.
 *
 * Architecture (../shared/docs/lungmask-r231.md): depth 5, padding 1. Encoder block = Conv3×3 → ReLU →
 * BatchNorm → Conv3×3 → ReLU → BatchNorm (BatchNorm after the ReLU), 2×2 average pooling
 * between levels. Decoder block = bilinear ×2 upsampling (align_corners=False, ONNX
 * half_pixel) → Conv1×1 → concat [upsampled, skip] → encoder block. Head = Conv1×1 →
 * LogSoftmax over channels. Channel widths and the class count are read from the weights,
 * so the narrow test networks and the released 64…1024-channel ones share this code.
 */
import * as ort from 'onnxruntime-node';
import { CovsegError } from '../util/errors.js';
import { OnnxGraph } from '../nn/onnx/graph.js';
import { tensorToFloat32, type StateDict, type TorchTensor } from '../nn/torch-pth/index.js';

/** BatchNorm2d's default epsilon, which lungmask's layers keep. */
const BN_EPSILON = 1e-5;

/** Keys the forward pass never reads: the residual branch (residual=False) and BN step counters. */
const UNUSED_KEY = /(^|\.)(residual_input_conv|residual_batchnorm)\.|\.num_batches_tracked$/;

export interface R231Architecture {
  /** Output channels of each encoder level, e.g. [64, 128, 256, 512, 1024]. */
  widths: number[];
  /** Number of classes (length of `last.bias`): 3 for R231/R231CovidWeb, 6 for LTRCLobes. */
  classes: number;
}

export interface BuildR231GraphOptions {
  /** File named in error messages. Defaults to 'state_dict'. */
  file?: string;
}

export interface R231Graph extends R231Architecture {
  /** The serialised ONNX model: input `x` float32 [batch, 1, H, W] (H, W divisible by 16), output `log_probabilities` [batch, classes, H, W]. */
  model: Uint8Array;
}

/** Reads widths and classes from the weight shapes, checking that the levels chain. */
export function r231Architecture(stateDict: StateDict, options: BuildR231GraphOptions = {}): R231Architecture {
  const file = options.file ?? 'state_dict';
  const widths: number[] = [];
  for (let i = 0; stateDict.has(`down_path.${i}.block.0.weight`); i++) {
    widths.push(stateDict.get(`down_path.${i}.block.0.weight`)!.shape[0]!);
  }
  if (widths.length < 2) {
    throw new CovsegError(
      `missing key 'down_path.${widths.length}.block.0.weight': not a lungmask U-Net state_dict (keys start ${[...stateDict.keys()].slice(0, 3).join(', ')})`,
      { file },
    );
  }
  const bias = stateDict.get('last.bias');
  if (!bias) throw new CovsegError("missing key 'last.bias'", { file });
  if (bias.shape.length !== 1 || bias.shape[0]! < 2) {
    throw new CovsegError(`'last.bias' has shape [${bias.shape.join(', ')}]; expected [classes] with at least 2 classes`, { file });
  }
  return { widths, classes: bias.shape[0]! };
}

/**
 * Builds the ONNX graph. Loading is strict: every tensor the forward pass needs must be
 * present with its exact shape, and the only keys allowed besides them are the unused
 * residual tensors and `num_batches_tracked`.
 */
export function buildR231Graph(stateDict: StateDict, options: BuildR231GraphOptions = {}): R231Graph {
  const file = options.file ?? 'state_dict';
  const { widths, classes } = r231Architecture(stateDict, options);
  const used = new Set<string>();
  const g = new OnnxGraph('lungmask_unet');

  const param = (key: string, shape: number[]): string => {
    const t = stateDict.get(key);
    if (!t) throw new CovsegError(`missing key '${key}'`, { file });
    checkShape(t, key, shape, file);
    used.add(key);
    return g.weight(key, tensorToFloat32(t), shape);
  };
  const conv = (x: string, key: string, cin: number, cout: number, k: 1 | 3): string =>
    g.node('Conv', [x, param(`${key}.weight`, [cout, cin, k, k]), param(`${key}.bias`, [cout])], {
      kernel_shape: [k, k],
      pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0],
    });
  const batchNorm = (x: string, key: string, c: number): string =>
    g.node('BatchNormalization', [
      x,
      param(`${key}.weight`, [c]),
      param(`${key}.bias`, [c]),
      param(`${key}.running_mean`, [c]),
      param(`${key}.running_var`, [c]),
    ], { epsilon: { float: BN_EPSILON } });
  const block = (x: string, key: string, cin: number, cout: number): string => {
    let h = batchNorm(g.node('Relu', [conv(x, `${key}.block.0`, cin, cout, 3)]), `${key}.block.2`, cout);
    h = batchNorm(g.node('Relu', [conv(h, `${key}.block.3`, cout, cout, 3)]), `${key}.block.5`, cout);
    return h;
  };

  let x = g.input('x', 'float32', ['batch', 1, 'height', 'width']);
  const skips: string[] = [];
  let cin = 1;
  widths.forEach((w, i) => {
    x = block(x, `down_path.${i}`, cin, w);
    cin = w;
    if (i < widths.length - 1) {
      skips.push(x);
      x = g.node('AveragePool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
    }
  });
  const scales = g.floatConstant('upsample_scales', [1, 1, 2, 2]);
  for (let u = 0; u < widths.length - 1; u++) {
    const out = widths[widths.length - 2 - u]!;
    const key = `up_path.${u}`;
    const up = g.node('Resize', [x, '', scales], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' });
    const reduced = conv(up, `${key}.up.1`, cin, out, 1);
    x = block(g.node('Concat', [reduced, skips[skips.length - 1 - u]!], { axis: 1 }), `${key}.conv_block`, 2 * out, out);
    cin = out;
  }
  const logits = conv(x, 'last', cin, classes, 1);
  g.output(g.node('LogSoftmax', [logits], { axis: 1 }), 'log_probabilities', 'float32', ['batch', classes, 'height', 'width']);

  for (const key of stateDict.keys()) {
    if (!used.has(key) && !UNUSED_KEY.test(key)) {
      throw new CovsegError(`unexpected key '${key}' in a lungmask U-Net state_dict (depth ${widths.length}, ${classes} classes)`, { file });
    }
  }
  return { model: g.toBytes({ producer: 'covseg lungs', metadata: { widths: widths.join(','), classes: String(classes) } }), widths, classes };
}

function checkShape(t: TorchTensor, key: string, shape: number[], file: string): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new CovsegError(`key '${key}' has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`, { file });
  }
  if (t.dtype !== 'float32' && t.dtype !== 'float16' && t.dtype !== 'bfloat16' && t.dtype !== 'float64') {
    throw new CovsegError(`key '${key}' is ${t.dtype}, expected a floating-point tensor`, { file });
  }
}

export interface R231SessionOptions extends BuildR231GraphOptions {
  /** ONNX Runtime intra-op threads. Defaults to 2 (the project's CPU budget). */
  threads?: number;
}

/** A lungmask U-Net ready to run. */
export class R231Session {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly widths: number[],
    readonly classes: number,
  ) {}

  /** Builds the graph from `stateDict` and opens an ONNX Runtime session on it. */
  static async create(stateDict: StateDict, options: R231SessionOptions = {}): Promise<R231Session> {
    const graph = buildR231Graph(stateDict, options);
    const threads = options.threads ?? 2;
    const session = await ort.InferenceSession.create(graph.model, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    return new R231Session(session, graph.widths, graph.classes);
  }

  /**
   * Log-probabilities for `count` slices of `height` × `width` (both divisible by 16):
   * `input` has shape [count, 1, height, width], the result [count, classes, height, width].
   */
  async logProbabilities(input: Float32Array, count: number, height: number, width: number): Promise<Float32Array> {
    if (input.length !== count * height * width) {
      throw new CovsegError(`R231Session: input has ${input.length} values, [${count}, 1, ${height}, ${width}] needs ${count * height * width}`);
    }
    if (height % 16 !== 0 || width % 16 !== 0) {
      throw new CovsegError(`R231Session: slices must be a multiple of 16 pixels per side (4 poolings), got ${width} × ${height}`);
    }
    const out = await this.session.run({ x: new ort.Tensor('float32', input, [count, 1, height, width]) });
    return out['log_probabilities']!.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
