/**
 * Builds ONNX models in TypeScript: a graph of nodes over named values, with weights
 * as initializers (optionally stored as float16 and cast back to float32 at load, which
 * ONNX Runtime constant-folds). Used to export the U-Nets trained by the libtorch addon
 * and to build lungmask's R231 network from a PyTorch state_dict.
 */
import { ProtoWriter, readFields } from './protobuf.js';

/** ONNX TensorProto.DataType values used here. */
export const OnnxDataType = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, float16: 10 } as const;
export type OnnxElementType = keyof typeof OnnxDataType;

/** A dimension: a fixed size, or a symbolic name such as 'batch'. */
export type OnnxDim = number | string;

/** Attribute values: numbers are INT unless listed in `floatAttributes`, arrays likewise. */
export type OnnxAttribute = number | string | number[] | { float: number } | { floats: number[] };

const OPSET = 17;
const IR_VERSION = 8;

interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attributes: Record<string, OnnxAttribute>;
}

interface Initializer {
  name: string;
  dims: number[];
  type: OnnxElementType;
  raw: Uint8Array;
}

interface ValueInfo {
  name: string;
  type: OnnxElementType;
  shape: OnnxDim[];
}

export interface InitializerOptions {
  /** Store float32 weights as float16 (half the file size); a Cast node restores float32. Defaults to false. */
  float16?: boolean;
}

export class OnnxGraph {
  private nodes: Node[] = [];
  private initializers: Initializer[] = [];
  private inputs: ValueInfo[] = [];
  private outputs: ValueInfo[] = [];
  private names = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  /** A fresh value name with the given prefix. */
  fresh(prefix: string): string {
    let n: string;
    do n = `${prefix}_${this.counter++}`;
    while (this.names.has(n));
    this.names.add(n);
    return n;
  }

  input(name: string, type: OnnxElementType, shape: OnnxDim[]): string {
    this.claim(name);
    this.inputs.push({ name, type, shape });
    return name;
  }

  /** Marks `value` as a graph output under `name` (adds an Identity if the names differ). */
  output(value: string, name: string, type: OnnxElementType, shape: OnnxDim[]): string {
    if (value !== name) {
      this.claim(name);
      this.nodes.push({ op: 'Identity', inputs: [value], outputs: [name], name: `${name}_identity`, attributes: {} });
    }
    this.outputs.push({ name, type, shape });
    return name;
  }

  /** Adds a weight tensor. Returns the name of a float32 value holding it. */
  weight(name: string, data: Float32Array, dims: number[], options: InitializerOptions = {}): string {
    const n = dims.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`ONNX weight '${name}': ${data.length} values for dims [${dims.join(', ')}]`);
    if (options.float16) {
      const stored = `${name}__f16`;
      this.claim(stored);
      this.initializers.push({ name: stored, dims, type: 'float16', raw: new Uint8Array(toFloat16(data).buffer) });
      this.claim(name);
      this.nodes.push({ op: 'Cast', inputs: [stored], outputs: [name], name: `${name}__cast`, attributes: { to: OnnxDataType.float32 } });
      return name;
    }
    this.claim(name);
    this.initializers.push({ name, dims, type: 'float32', raw: new Uint8Array(data.slice().buffer) });
    return name;
  }

  /** Adds an int64 constant tensor (shapes, axes, pads). */
  int64Constant(name: string, values: number[], dims: number[] = [values.length]): string {
    this.claim(name);
    const raw = new Uint8Array(values.length * 8);
    const dv = new DataView(raw.buffer);
    values.forEach((v, i) => dv.setBigInt64(i * 8, BigInt(v), true));
    this.initializers.push({ name, dims, type: 'int64', raw });
    return name;
  }

  /** Adds a float32 constant tensor. */
  floatConstant(name: string, values: number[], dims: number[] = [values.length]): string {
    return this.weight(name, Float32Array.from(values), dims);
  }

  /** Adds a node with one output; returns the output's name. Empty strings mark omitted optional inputs. */
  node(op: string, inputs: string[], attributes: Record<string, OnnxAttribute> = {}, outputName?: string): string {
    const out = outputName ?? this.fresh(op.toLowerCase());
    if (outputName) this.claim(outputName);
    this.nodes.push({ op, inputs, outputs: [out], name: `${out}_node`, attributes });
    return out;
  }

  /** Serialises the model. `metadata` goes into ModelProto.metadata_props. */
  toBytes(options: { producer?: string; docString?: string; metadata?: Record<string, string> } = {}): Uint8Array {
    const graph = new ProtoWriter();
    for (const n of this.nodes) graph.message(1, encodeNode(n));
    graph.string(2, this.name);
    for (const t of this.initializers) graph.message(5, encodeTensor(t));
    for (const v of this.inputs) graph.message(11, encodeValueInfo(v));
    for (const v of this.outputs) graph.message(12, encodeValueInfo(v));

    const model = new ProtoWriter();
    model.int(1, IR_VERSION);
    model.string(2, options.producer ?? 'covseg');
    model.string(3, '0.1.0');
    if (options.docString) model.string(6, options.docString);
    model.message(7, graph);
    model.message(8, new ProtoWriter().string(1, '').int(2, OPSET));
    for (const [key, value] of Object.entries(options.metadata ?? {})) {
      model.message(14, new ProtoWriter().string(1, key).string(2, value));
    }
    return model.finish();
  }

  private claim(name: string): void {
    if (this.names.has(name) && !name.startsWith('__')) throw new Error(`ONNX graph '${this.name}': value '${name}' defined twice`);
    this.names.add(name);
  }
}

function encodeNode(n: Node): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.op);
  for (const [name, value] of Object.entries(n.attributes)) w.message(5, encodeAttribute(name, value));
  return w;
}

function encodeAttribute(name: string, value: OnnxAttribute): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`ONNX attribute '${name}': use { float: x } for non-integer ${value}`);
    w.int(3, value).int(20, 2);
  } else if (typeof value === 'string') w.string(4, value).int(20, 3);
  else if (Array.isArray(value)) {
    for (const v of value) w.int(8, v);
    w.int(20, 7);
  } else if ('float' in value) w.float(2, value.float).int(20, 1);
  else {
    for (const v of value.floats) w.float(7, v);
    w.int(20, 6);
  }
  return w;
}

function encodeTensor(t: Initializer): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.int(1, d);
  w.int(2, OnnxDataType[t.type]);
  w.string(8, t.name);
  w.bytes(9, t.raw);
  return w;
}

function encodeValueInfo(v: ValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.shape) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().int(1, OnnxDataType[v.type]).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, v.name).message(2, type);
}

/** Reads ModelProto.metadata_props (the key/value strings written by {@link OnnxGraph.toBytes}). */
export function readOnnxMetadata(model: Uint8Array): Record<string, string> {
  const dec = new TextDecoder();
  const out: Record<string, string> = {};
  for (const f of readFields(model)) {
    if (f.field !== 14 || !f.bytes) continue;
    let key = '';
    let value = '';
    for (const kv of readFields(f.bytes)) {
      if (kv.field === 1 && kv.bytes) key = dec.decode(kv.bytes);
      if (kv.field === 2 && kv.bytes) value = dec.decode(kv.bytes);
    }
    out[key] = value;
  }
  return out;
}

/**
 * The float weights of a model (GraphProto.initializer), as float32, by name; float16
 * initializers written by {@link OnnxGraph.weight} come back under their value's name
 * (without the `__f16` suffix). Other element types are left out.
 */
export function readOnnxWeights(model: Uint8Array): Record<string, { shape: number[]; data: Float32Array }> {
  const dec = new TextDecoder();
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  const graph = readFields(model).find((f) => f.field === 7 && f.bytes)?.bytes;
  if (!graph) throw new Error('ONNX model has no graph');
  for (const t of readFields(graph)) {
    if (t.field !== 5 || !t.bytes) continue;
    const shape: number[] = [];
    let type = 0, name = '';
    let raw: Uint8Array | undefined;
    for (const f of readFields(t.bytes)) {
      if (f.field === 1 && f.value !== undefined) shape.push(Number(f.value));
      else if (f.field === 1 && f.bytes) shape.push(...packedVarints(f.bytes));
      else if (f.field === 2 && f.value !== undefined) type = Number(f.value);
      else if (f.field === 8 && f.bytes) name = dec.decode(f.bytes);
      // A copy of its own: a Node Buffer's slice() is a view, whose .buffer is the whole file.
      else if (f.field === 9 && f.bytes) raw = new Uint8Array(f.bytes);
    }
    if (!raw) continue;
    if (type === OnnxDataType.float32) out[name] = { shape, data: new Float32Array(raw.buffer) };
    else if (type === OnnxDataType.float16) out[name.replace(/__f16$/, '')] = { shape, data: fromFloat16(new Uint16Array(raw.buffer)) };
  }
  return out;
}

function packedVarints(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let v = 0, shift = 0;
  for (const b of bytes) {
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) {
      out.push(v);
      v = 0;
      shift = 0;
    }
  }
  return out;
}

/** float32 → IEEE half bits, round to nearest even; overflow to ±Inf. */
export function toFloat16(data: Float32Array): Uint16Array {
  const out = new Uint16Array(data.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < data.length; i++) {
    f[0] = data[i]!;
    const x = u[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    let e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let half = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const mid = 1 << (shift - 1);
      if (rem > mid || (rem === mid && (half & 1))) half++;
      out[i] = sign | half;
      continue;
    }
    let half = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
    out[i] = sign | half;
  }
  return out;
}

/** IEEE half bits → float32. */
export function fromFloat16(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) out[i] = sign * mant * 2 ** -24;
    else if (exp === 0x1f) out[i] = mant ? NaN : sign * Infinity;
    else out[i] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return out;
}
