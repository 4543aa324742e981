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
