/**
 * Reads PyTorch `.pth` files written by `torch.save(state_dict)` into typed arrays, in both
 * on-disk formats:
 * - zip (torch ≥ 1.6 default, starts `PK\x03\x04`): `<name>/data.pkl` holds the pickled
 *   object, `<name>/data/<key>` the raw little-endian bytes of each storage;
 * - legacy (`_use_new_zipfile_serialization=False`, and files from torch < 1.6 such as
 *   lungmask's weights, starts `\x80\x02`): five things in a row, namely a pickled magic
 *   number, the protocol version, the sys info, the pickled object, the pickled list of
 *   storage keys; then per key an int64 element count and the raw bytes.
 */
import { readFile } from 'node:fs/promises';
import { unzipSync } from 'fflate';
import { CovsegError } from '../../util/errors.js';
import { fromFloat16 } from '../onnx/graph.js';
import { PyGlobal, PyObject, unpickle, type PyKey, type PyValue } from './pickle.js';

/**
 * Element types of torch storages. `float16` and `bfloat16` keep their raw 16-bit patterns
 * (Uint16Array); `bool` is one byte per element (Uint8Array).
 */
export type TorchDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export type TorchTensorData = Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

/** A tensor read from a checkpoint: contiguous (row-major, last axis fastest), shape `[]` for a scalar. */
export interface TorchTensor {
  dtype: TorchDtype;
  shape: number[];
  data: TorchTensorData;
}

/** A state_dict: parameter name → tensor, in the file's order. */
export type StateDict = Map<string, TorchTensor>;

const STORAGE_TYPES: Record<string, TorchDtype> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

const ELEMENT_BYTES: Record<TorchDtype, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** The magic number legacy torch.save writes first (0x1950a86a20f9469cfc6c). */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

/** A storage named by a persistent id; `viewOffset` is set for torch < 0.4 storage views. */
class StorageRef {
  constructor(readonly key: string, readonly dtype: TorchDtype, readonly numel: number, readonly viewOffset = 0) {}
}

/** `_rebuild_tensor_v2` arguments, materialised once the storage bytes are known. */
class TensorRef {
  constructor(readonly storage: StorageRef, readonly offset: number, readonly shape: number[], readonly stride: number[]) {}
}

export interface ParseStateDictOptions {
  /** File named in error messages. Defaults to '<memory>'. */
  file?: string;
  /**
   * Key of the state_dict inside a training checkpoint dict (e.g. 'state_dict').
   * Defaults to the top-level object when it holds tensors, else the first of
   * 'state_dict', 'model_state_dict', 'model' that does.
   */
  entry?: string;
}

export type ReadStateDictOptions = Omit<ParseStateDictOptions, 'file'>;

/** Reads a `.pth` state_dict from disk (either format). */
export async function readStateDict(path: string, options: ReadStateDictOptions = {}): Promise<StateDict> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new CovsegError(`cannot read the weights file (${(err as Error).message})`, { file: path, cause: err });
  }
  return parseStateDict(bytes, { ...options, file: path });
}

/**
 * Parses the bytes of a `.pth` file. The format is sniffed from the first bytes:
 * `PK\x03\x04` zip, `\x80\x02` legacy.
 */
export function parseStateDict(bytes: Uint8Array, options: ParseStateDictOptions = {}): StateDict {
  const file = options.file ?? '<memory>';
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
    return toStateDict(readZip(bytes, file), file, options.entry);
  }
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] === 0x02) {
    return toStateDict(readLegacy(bytes, file), file, options.entry);
  }
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new CovsegError(
    `not a PyTorch checkpoint (starts with ${head || 'nothing'}; expected 'PK' zip or 0x80 0x02 pickle bytes from torch.save)`,
    { file },
  );
}

/** Converts any floating or integer tensor to float32 (float16/bfloat16 decoded exactly). */
export function tensorToFloat32(tensor: TorchTensor): Float32Array {
  const d = tensor.data;
  switch (tensor.dtype) {
    case 'float32':
      return d as Float32Array;
    case 'float16':
      return fromFloat16(d as Uint16Array);
    case 'bfloat16': {
      const bits = new Uint32Array(d.length);
      for (let i = 0; i < d.length; i++) bits[i] = (d as Uint16Array)[i]! << 16;
      return new Float32Array(bits.buffer);
    }
    case 'int64':
      return Float32Array.from(d as BigInt64Array, (v) => Number(v));
    default:
      return Float32Array.from(d as Float64Array);
  }
}

/** Number of elements of a shape (1 for a scalar). */
export function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Reducers turning torch's pickled calls into TensorRefs. */
function tensorReducers(file: string): Record<string, (args: PyValue[]) => PyValue> {
  const rebuild = (args: PyValue[]): PyValue => {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof StorageRef) || typeof offset !== 'number' || !isIntArray(size) || !isIntArray(stride) || size.length !== stride.length) {
      throw new CovsegError('malformed _rebuild_tensor arguments (expected storage, offset, size, stride)', { file });
    }
    return new TensorRef(storage, offset, size, stride);
  };
  return {
    'torch._utils._rebuild_tensor_v2': rebuild,
    'torch._utils._rebuild_tensor': rebuild,
    // nn.Parameter wraps a tensor: keep the tensor.
    'torch._utils._rebuild_parameter': (args) => args[0] ?? null,
    'torch._utils._rebuild_parameter_with_state': (args) => args[0] ?? null,
  };
}

function isIntArray(v: PyValue): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0);
}

/** Persistent id `('storage', torch.FloatStorage, key, location, numel[, view_metadata])`. */
function storageFromPid(pid: PyValue, file: string, storages: Map<string, StorageRef>): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) {
    throw new CovsegError(`unknown persistent id ${describe(pid)} (expected a torch storage)`, { file });
  }
  const [, type, key, , numel, view] = pid;
  if (!(type instanceof PyGlobal) || typeof key !== 'string' || typeof numel !== 'number') {
    throw new CovsegError(`malformed storage id ${describe(pid)}`, { file });
  }
  const dtype = STORAGE_TYPES[type.name];
  if (!dtype) throw new CovsegError(`unsupported storage type torch.${type.name} for key ${key}`, { file });
  const known = storages.get(key);
  const root = known ?? new StorageRef(key, dtype, numel);
  storages.set(key, root);
  // torch < 0.4 wrote views of a shared root storage as (view_key, offset, view_size).
  if (Array.isArray(view) && typeof view[1] === 'number') return new StorageRef(key, dtype, numel, view[1]);
  return root;
}

interface Loaded {
  value: PyValue;
  storageBytes: (key: string) => Uint8Array | undefined;
}

function readZip(bytes: Uint8Array, file: string): Loaded {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (err) {
    throw new CovsegError(`damaged zip archive (${(err as Error).message})`, { file, cause: err });
  }
  // The member prefix is the archive name torch chose (e.g. 'archive', or the file stem).
  const pklName = Object.keys(entries).find((n) => n.endsWith('/data.pkl') && n.split('/').length === 2);
  if (!pklName) throw new CovsegError('not a PyTorch checkpoint (zip without <name>/data.pkl)', { file });
  const prefix = pklName.slice(0, -'data.pkl'.length);
  const order = entries[`${prefix}byteorder`];
  if (order && new TextDecoder().decode(order).trim() !== 'little') {
    throw new CovsegError('big-endian checkpoints are not supported; re-save it on a little-endian machine', { file });
  }
  const storages = new Map<string, StorageRef>();
  const { value } = unpickle(entries[pklName]!, {
    file,
    reducers: tensorReducers(file),
    persistentLoad: (pid) => storageFromPid(pid, file, storages),
  });
  return { value, storageBytes: (key) => entries[`${prefix}data/${key}`] };
}

function readLegacy(bytes: Uint8Array, file: string): Loaded {
  const magic = unpickle(bytes, { file });
  if (typeof magic.value !== 'bigint' || magic.value !== LEGACY_MAGIC) {
    throw new CovsegError('not a PyTorch checkpoint (pickle without torch\'s magic number)', { file });
  }
  const version = unpickle(bytes, { file, offset: magic.end });
  if (version.value !== LEGACY_PROTOCOL_VERSION) {
    throw new CovsegError(`unsupported legacy torch.save protocol version ${String(version.value)} (expected ${LEGACY_PROTOCOL_VERSION})`, { file });
  }
  const sysInfo = unpickle(bytes, { file, offset: version.end });
  if (sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false) {
    throw new CovsegError('big-endian checkpoints are not supported; re-save it on a little-endian machine', { file });
  }
  const storages = new Map<string, StorageRef>();
  const main = unpickle(bytes, {
    file,
    offset: sysInfo.end,
    reducers: tensorReducers(file),
    persistentLoad: (pid) => storageFromPid(pid, file, storages),
  });
  const keys = unpickle(bytes, { file, offset: main.end });
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) {
    throw new CovsegError('legacy checkpoint without its list of storage keys', { file });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const regions = new Map<string, Uint8Array>();
  let pos = keys.end;
  for (const key of keys.value as string[]) {
    const ref = storages.get(key);
    if (!ref) throw new CovsegError(`storage key ${key} is listed but no tensor uses it`, { file });
    if (pos + 8 > bytes.length) throw new CovsegError(`truncated storage for key ${key} (no element count at byte ${pos})`, { file });
    const count = Number(view.getBigInt64(pos, true));
    pos += 8;
    const n = count * ELEMENT_BYTES[ref.dtype];
    if (count < 0 || pos + n > bytes.length) {
      throw new CovsegError(`truncated storage for key ${key}: needs ${n} bytes at byte ${pos}, the file has ${bytes.length - pos}`, { file });
    }
    regions.set(key, bytes.subarray(pos, pos + n));
    pos += n;
  }
  return { value: main.value, storageBytes: (key) => regions.get(key) };
}

function toStateDict(loaded: Loaded, file: string, entry: string | undefined): StateDict {
  const top = loaded.value;
  let dict: Map<PyKey, PyValue> | undefined;
  if (entry !== undefined) {
    const v = top instanceof Map ? top.get(entry) : undefined;
    if (!(v instanceof Map)) throw new CovsegError(`checkpoint has no dict entry '${entry}'${top instanceof Map ? ` (keys: ${[...top.keys()].join(', ')})` : ''}`, { file });
    dict = v;
  } else if (top instanceof Map) {
    const holdsTensors = (m: Map<PyKey, PyValue>) => [...m.values()].some((v) => v instanceof TensorRef);
    if (holdsTensors(top)) dict = top;
    else {
      for (const name of ['state_dict', 'model_state_dict', 'model']) {
        const v = top.get(name);
        if (v instanceof Map && holdsTensors(v)) {
          dict = v;
          break;
        }
      }
    }
  }
  if (!dict) throw new CovsegError(`no state_dict found (the file holds ${describe(top)}); save model.state_dict() with torch.save`, { file });
  const out: StateDict = new Map();
  for (const [key, value] of dict) {
    if (!(value instanceof TensorRef)) {
      throw new CovsegError(`state_dict entry '${String(key)}' is ${describe(value)}, not a tensor`, { file });
    }
    out.set(String(key), materialise(value, String(key), loaded, file));
  }
  return out;
}

function materialise(ref: TensorRef, name: string, loaded: Loaded, file: string): TorchTensor {
  const { storage, shape, stride } = ref;
  const bytesPer = ELEMENT_BYTES[storage.dtype];
  const region = loaded.storageBytes(storage.key);
  if (!region) throw new CovsegError(`missing storage ${storage.key} for tensor '${name}'`, { file });
  const numel = numelOf(shape);
  const base = storage.viewOffset + ref.offset;
  let last = base;
  for (let d = 0; d < shape.length; d++) last += (shape[d]! - 1) * stride[d]!;
  if (numel > 0 && (last + 1) * bytesPer > region.length) {
    throw new CovsegError(
      `truncated storage for key ${storage.key}: tensor '${name}' [${shape.join(', ')}] needs ${(last + 1) * bytesPer} bytes, the storage has ${region.length}`,
      { file },
    );
  }
  // Copy into a fresh, aligned buffer in row-major order (the legacy layout is unaligned, and views may be strided).
  const out = new Uint8Array(numel * bytesPer);
  if (isContiguous(shape, stride)) {
    out.set(region.subarray(base * bytesPer, (base + numel) * bytesPer));
  } else {
    const idx = new Array<number>(shape.length).fill(0);
    let src = base;
    for (let i = 0; i < numel; i++) {
      out.set(region.subarray(src * bytesPer, (src + 1) * bytesPer), i * bytesPer);
      for (let d = shape.length - 1; d >= 0; d--) {
        idx[d]!++;
        src += stride[d]!;
        if (idx[d]! < shape[d]!) break;
        src -= stride[d]! * shape[d]!;
        idx[d] = 0;
      }
    }
  }
  return { dtype: storage.dtype, shape: [...shape], data: typedView(out.buffer, storage.dtype) };
}

function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d]! !== 1 && stride[d]! !== expected) return false;
    expected *= shape[d]!;
  }
  return true;
}

function typedView(buffer: ArrayBuffer, dtype: TorchDtype): TorchTensorData {
  switch (dtype) {
    case 'float32': return new Float32Array(buffer);
    case 'float64': return new Float64Array(buffer);
    case 'float16':
    case 'bfloat16': return new Uint16Array(buffer);
    case 'int64': return new BigInt64Array(buffer);
    case 'int32': return new Int32Array(buffer);
    case 'int16': return new Int16Array(buffer);
    case 'int8': return new Int8Array(buffer);
    case 'uint8':
    case 'bool': return new Uint8Array(buffer);
  }
}

function describe(v: PyValue): string {
  if (v === null) return 'None';
  if (v instanceof Map) return `a dict with keys [${[...v.keys()].slice(0, 5).map(String).join(', ')}${v.size > 5 ? ', …' : ''}]`;
  if (Array.isArray(v)) return `a sequence of ${v.length}`;
  if (v instanceof PyObject) return `a ${v.callable} object`;
  if (v instanceof PyGlobal) return `the global ${v.fullName}`;
  if (v instanceof TensorRef) return 'a tensor';
  return `${typeof v} ${String(v)}`;
}
