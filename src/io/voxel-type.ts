/** Names of voxel array types, shared by the readers and writers of every format. */
import type { VoxelArray } from '../volume/volume.js';

/** Voxel type names, as itk-wasm spells its component types. */
export type VoxelType = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64';

export function voxelTypeOf(data: VoxelArray): VoxelType {
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof Float32Array) return 'float32';
  return 'float64';
}

const INT16_MIN = -32768;
const INT16_MAX = 32767;

/**
 * The same values as an Int16Array when `data` (float or wide integers) holds only integers
 * in int16 range, as CT does after an integral rescale; else undefined.
 */
export function integralAsInt16(data: VoxelArray): Int16Array | undefined {
  if (data instanceof Int16Array || data instanceof Uint8Array || data instanceof Int8Array) return undefined;
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const v = data[i]!;
    if (v !== Math.round(v) || v < INT16_MIN || v > INT16_MAX) return undefined;
  }
  return Int16Array.from(data);
}

const CONSTRUCTORS: Record<VoxelType, { from(src: ArrayLike<number>): VoxelArray; prototype: object }> = {
  int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array,
  int32: Int32Array, uint32: Uint32Array, float32: Float32Array, float64: Float64Array,
};

/**
 * `data` itself when it is a plain typed array owning its whole ArrayBuffer, else a copy
 * that is. Callers hand `data.buffer` on (ONNX tensors, worker messages) and must find only
 * the voxels there, not a file header or a decoder's pool.
 */
export function ownBuffer<T extends VoxelArray>(data: T): T {
  const C = CONSTRUCTORS[voxelTypeOf(data)];
  const owns = data.byteOffset === 0 && data.buffer.byteLength === data.byteLength && Object.getPrototypeOf(data) === C.prototype;
  return owns ? data : (C.from(data) as T);
}
