/**
 * The voxel-count cap every reader applies from the header, before any pixel data is
 * decoded: a 16384² DICOM in a 0.5 MB zip made a 2.2 GB worker, a 10000² PNG made
 * `covseg segment` run 25 s in 1.6 GB before finding no lungs. No file or Node access
 * here, so the web page's browser mode caps its image files with the same rule.
 */
import { CovsegError } from '../util/errors.js';

/**
 * 80 M voxels (a 512 × 512 × 305 CT): what `covseg segment` runs in a 2 GiB worker.
 * Measured on a 512² CT (peak RSS, the default lung and lesion models, 2 threads): about
 * 0.8 GB for the runtime, the two models and ONNX Runtime's buffers, plus about 15 bytes
 * per voxel (the int16 CT and its reoriented copy, float32 lung and lesion
 * probabilities, label maps, overlays, the encoded outputs): 0.8 GB + 80 M × 15 B ≈ 2 GB.
 * Larger scans (thin slices, 512 × 512 × 600) need more memory and --max-voxels.
 */
export const DEFAULT_MAX_VOXELS = 80_000_000;

/** 268435456 → "268 M", 1500000 → "1.5 M", 4096 → "4096". */
function count(n: number): string {
  return n >= 1e6 ? `${+(n / 1e6).toPrecision(3)} M` : String(n);
}

/**
 * Throws CovsegError naming `file` and the dimensions when their product is above
 * `maxVoxels` (e.g. "16384 × 16384 × 1 = 268 M voxels is more than the limit of 80 M
 * (--max-voxels)"). `dims` are the header's sizes, as many as it has.
 */
export function checkVoxelCount(dims: readonly number[], file: string, maxVoxels: number = DEFAULT_MAX_VOXELS): void {
  const n = dims.reduce((p, d) => p * d, 1);
  if (n > maxVoxels) {
    throw new CovsegError(`${dims.join(' × ')} = ${count(n)} voxels is more than the limit of ${count(maxVoxels)} (--max-voxels)`, { file });
  }
}
