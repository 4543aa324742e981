/**
 * Conversion between itk-wasm's `Image` and covseg's `Volume`.
 *
 * itk-wasm stores `direction` row-major with column j = index axis j in LPS, the same
 * convention as `Volume` (checked on a hand-made oblique NIfTI in test/io), so the
 * matrix is copied, not transposed. NIfTI's RAS → LPS flip is done by ITK's reader.
 */
import type { Image } from 'itk-wasm';
import { CovsegError } from '../util/errors.js';
import { createVolume, type Mat3, type Vec3, type Volume, type VoxelArray } from '../volume/volume.js';
import { rasterToGrey } from './raster.js';
import { integralAsInt16, voxelTypeOf } from './voxel-type.js';

export interface ItkConversion {
  volume: Volume;
  /** False when the file's spacing was 0 or not a number (1 mm stands in for it). */
  spacingKnown: boolean;
  warnings: string[];
}

/** Embeds a 2D (or keeps a 3D) itk direction into a 3×3 row-major matrix. */
function direction3(direction: ArrayLike<number>, dimension: number): Mat3 {
  if (dimension === 3) return Array.from(direction) as Mat3;
  const d = direction;
  return [d[0]!, d[1]!, 0, d[2]!, d[3]!, 0, 0, 0, 1];
}

/**
 * Converts an itk-wasm image to a Volume. 2D images become [w, h, 1]; a 4D image with a
 * single time point is accepted; multi-component (RGB) pixels become grey with a warning.
 * Float data whose values are all int16 integers (e.g. NIfTI scl_slope 2) become Int16Array.
 */
export function itkImageToVolume(image: Image, file: string): ItkConversion {
  const warnings: string[] = [];
  const dim = image.imageType.dimension;
  const size = image.size;
  if (dim === 4 && size[3] !== 1) {
    throw new CovsegError(`a 4D image with ${size[3]} time points; covseg reads 2D and 3D images only (split the series first)`, { file });
  }
  if (dim < 2 || dim > 4) throw new CovsegError(`a ${dim}D image; covseg reads 2D and 3D images only`, { file });
  if (!image.data) throw new CovsegError('the reader returned no pixel data', { file });
  const d3 = Math.min(dim, 3);
  const dims: Vec3 = [size[0]!, size[1]!, d3 === 3 ? size[2]! : 1];
  const stated = [image.spacing[0]!, image.spacing[1]!, d3 === 3 ? image.spacing[2]! : 1];
  const isSize = (x: number) => Number.isFinite(x) && x > 0;
  const spacingKnown = stated.every(isSize);
  if (!spacingKnown) warnings.push(`spacing ${stated.join(' × ')}: the voxel size is unknown, so 1 mm is assumed for the grid and volumes (mL) are not available`);
  const spacingMm = stated.map((x) => (isSize(x) ? x : 1)) as Vec3;
  const origin: Vec3 = [image.origin[0]!, image.origin[1]!, d3 === 3 ? image.origin[2]! : 0];
  let direction: Mat3;
  if (dim === 4) {
    const d = Array.from(image.direction as ArrayLike<number>);
    direction = [d[0]!, d[1]!, d[2]!, d[4]!, d[5]!, d[6]!, d[8]!, d[9]!, d[10]!];
  } else {
    direction = direction3(image.direction as ArrayLike<number>, dim);
  }
  let data = image.data as unknown as VoxelArray | BigInt64Array | BigUint64Array;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    throw new CovsegError('64-bit integer voxels are not supported; convert the image to int32 or float32', { file });
  }
  const components = image.imageType.components;
  if (components > 1) {
    if (!(data instanceof Uint8Array || data instanceof Uint16Array) || components > 4) {
      throw new CovsegError(`${components}-component ${image.imageType.componentType} pixels are not supported; save the image as grey`, { file });
    }
    const n = dims[0] * dims[1] * dims[2];
    data = rasterToGrey({ width: n, height: 1, channels: components as 2 | 3 | 4, data });
    warnings.push(`${components}-component (${image.imageType.pixelType}) pixels converted to grey (Rec. 601 luma)`);
  }
  if (data instanceof Float32Array || data instanceof Float64Array) {
    const asInt16 = integralAsInt16(data);
    if (asInt16) data = asInt16;
    else if (data instanceof Float64Array) data = Float32Array.from(data);
  }
  return { volume: createVolume(data, dims, { spacingMm, origin, direction }), spacingKnown, warnings };
}

/** An itk-wasm image that views the volume's voxels (no copy). */
export function volumeToItkImage(vol: Volume): Image {
  return {
    imageType: { dimension: 3, componentType: voxelTypeOf(vol.data), pixelType: 'Scalar', components: 1 },
    name: 'image',
    origin: [...vol.origin],
    spacing: [...vol.spacingMm],
    direction: Float64Array.from(vol.direction),
    size: [...vol.dims],
    metadata: new Map(),
    data: vol.data,
  } as unknown as Image;
}
