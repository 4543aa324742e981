/**
 * The voxel-count cap every reader applies from the header, before any pixel data is
 * decoded: a 16384² DICOM in a 0.5 MB zip made a 2.2 GB worker, a 10000² PNG made
 * `covseg segment` run 25 s in 1.6 GB before finding no lungs. No file or Node access
 * here, so the web page's browser mode caps its image files with the same rule.
 */
import { CovsegError } from '../util/errors.js';

/**
 * What a voxel costs: measured on a 512² CT (peak RSS, the default lung and lesion models,
 * 2 threads), about 0.8 GB for the runtime, the two models and ONNX Runtime's buffers, plus
 * about 15 bytes per voxel (the int16 CT and its reoriented copy, float32 lung and lesion
 * probabilities, label maps, overlays, the encoded outputs).
 *
 * The command line's default, 320 M voxels (512 × 512 × 1220), takes the thin-slice whole
 * chest CTs clinics make (0.5–0.625 mm slices: 500–800 of them) — about 0.8 GB + 15 B × voxels,
 * 3.9 GB for 512 × 512 × 800 — on the user's own machine.
 */
export const DEFAULT_MAX_VOXELS = 320_000_000;

/**
 * The service's default, 80 M voxels (a 512 × 512 × 305 CT): what one segmentation process
 * runs in 2 GiB (0.8 GB + 80 M × 15 B), so that uploads from many users cannot take the
 * server's memory. `covseg serve --max-voxels` raises it.
 */
export const SERVICE_MAX_VOXELS = 80_000_000;

/**
 * One slice (or one PNG/JPEG image) may hold at most 8192 × 8192 pixels, whatever the
 * voxel limit: CT slices are 512² to 2048², so a larger slice is a forged header or not a
 * CT (a 16384² DICOM in a 0.5 MB zip, a 10000² PNG).
 */
export const MAX_SLICE_PIXELS = 8192 * 8192;

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
  const slice = (dims[0] ?? 1) * (dims[1] ?? 1);
  if (slice > MAX_SLICE_PIXELS) {
    throw new CovsegError(`a slice of ${dims[0]} × ${dims[1]} = ${count(slice)} pixels is more than the ${count(MAX_SLICE_PIXELS)} (8192 × 8192) a CT slice can have`, { file });
  }
}
