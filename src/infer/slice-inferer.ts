/**
 * Runs a 2D model over the axial slices of a volume, in batches, and returns the
 * probabilities on the volume's own grid. Slices are taken from the LPS-reoriented
 * volume, so rows run anterior→posterior and columns patient right→left, as in the
 * PNG slices the models learn from; the result is oriented back. A volume already in LPS
 * order is read in place (no copy).
 */
import { createVolume, type Volume } from '../volume/volume.js';
import { asLps, centreCropOrPad, fromLps, resizeSlice } from '../volume/index.js';
import { sliceToModelInput, type SliceInputTransform } from '../preprocess/model-input.js';
import { CovsegError } from '../util/errors.js';
import type { SegmentationModel } from './segmentation-model.js';

export interface SliceInferenceOptions {
  /** Axial slice indices (in the LPS-reoriented volume) to predict; the others get 0. Defaults to all. */
  slices?: number[];
  /** Slices per ONNX Runtime call. Defaults to 8. */
  batchSize?: number;
  /** Called after each batch with (slices done, slices total). */
  onProgress?: (done: number, total: number) => void;
}

/** Probability volume (Float32, in [0, 1]) on `ct`'s grid. */
export async function predictSlices(model: SegmentationModel, ct: Volume, options: SliceInferenceOptions = {}): Promise<Volume<Float32Array>> {
  return (await predictSlicesFlipped(model, ct, { ...options, flips: [0] })).probability;
}

/**
 * A mirror of the model's input (and back on its output): bit 1 mirrors the columns
 * (patient right ↔ left), bit 2 the rows (anterior ↔ posterior); 0 is the input as is.
 */
export type SliceFlip = 0 | 1 | 2 | 3;

/** The four mirrors test-time augmentation averages over. */
export const TTA_FLIPS: readonly SliceFlip[] = [0, 1, 2, 3];

export interface FlippedInferenceOptions extends SliceInferenceOptions {
  /** The mirrors to run the model on; their probabilities are averaged. Defaults to {@link TTA_FLIPS}. */
  flips?: readonly SliceFlip[];
  /** Also return each mirror's own mask (probability > this), bit k = flips[k]. Defaults to none. */
  memberThreshold?: number;
}

export interface FlippedPrediction {
  /** The mean probability over the mirrors, on `ct`'s grid. */
  probability: Volume<Float32Array>;
  /** Bit k set where mirror k alone says lesion (with `memberThreshold`), on `ct`'s grid. */
  members?: Volume<Uint8Array>;
}

function mirror(src: Float32Array, dst: Float32Array, size: number, flip: SliceFlip): void {
  for (let y = 0; y < size; y++) {
    const sy = flip & 2 ? size - 1 - y : y;
    for (let x = 0; x < size; x++) dst[y * size + x] = src[sy * size + (flip & 1 ? size - 1 - x : x)]!;
  }
}

/**
 * Test-time augmentation: the model on each mirror of every slice, mirrored back and
 * averaged (a mirror is its own inverse). One mirror (`[0]`) is plain {@link predictSlices}.
 */
export async function predictSlicesFlipped(model: SegmentationModel, ct: Volume, options: FlippedInferenceOptions = {}): Promise<FlippedPrediction> {
  const { spec } = model;
  const flips = options.flips ?? TTA_FLIPS;
  if (flips.length === 0 || flips.length > 8) throw new CovsegError(`predictSlicesFlipped: 1 to 8 mirrors, got ${flips.length}`);
  if (spec.dims !== 2 || spec.inputTransform === 'method-3d') throw new CovsegError(`predictSlices needs a 2D model, this one is ${spec.dims}D`, { file: model.file });
  const { volume: lps, transform } = asLps(ct);
  const [nx, ny, nz] = lps.dims;
  const size = spec.inputSize;
  const plane = nx * ny;
  const out = new Float32Array(plane * nz);
  const memberBits = options.memberThreshold === undefined ? undefined : new Uint8Array(plane * nz);
  const slices = options.slices ?? Array.from({ length: nz }, (_, z) => z);
  const batchSize = Math.max(1, options.batchSize ?? 8);
  const input = new Float32Array(batchSize * size * size);
  // Non-square slices (cropped exports) are padded to a centred square first, as the 2D
  // database does, so anatomy keeps its aspect ratio in the model's square input.
  const side = Math.max(nx, ny);
  // Where the slice sits in its square: centreCropOrPad's box (offset = minus the padding).
  const { box } = centreCropOrPad(createVolume(new Uint8Array(plane), [nx, ny, 1]), [side, side, 1], { padValue: 0 });
  const [ox, oy] = [-box.offset[0], -box.offset[1]];
  const toSquare = (prob: Float32Array) => (size === side ? prob : (resizeSlice(prob, size, size, side, side, { interpolation: 'bilinear' }) as Float32Array));
  for (let start = 0; start < slices.length; start += batchSize) {
    const batch = slices.slice(start, start + batchSize);
    batch.forEach((z, k) => {
      const slice = lps.data.subarray(z * plane, (z + 1) * plane);
      // The database pads the same way (centreCropOrPad: extra voxel on the high side), with air.
      const square = nx === ny ? slice : centreCropOrPad(createVolume(slice, [nx, ny, 1]), [side, side, 1], { padValue: minimumOf(slice) }).volume.data;
      input.set(sliceToModelInput(square, side, side, size, spec.inputTransform as SliceInputTransform), k * size * size);
    });
    const n = batch.length * size * size;
    const sum = new Float32Array(n);
    const flipped = flips.some((f) => f !== 0) ? new Float32Array(n) : undefined;
    for (const [m, flip] of flips.entries()) {
      if (flip !== 0) for (let k = 0; k < batch.length; k++) mirror(input.subarray(k * size * size, (k + 1) * size * size), flipped!.subarray(k * size * size, (k + 1) * size * size), size, flip);
      const { data } = await model.onnx.run(flip === 0 ? input.subarray(0, n) : flipped!, [batch.length, 1, size, size]);
      const back = flip === 0 ? data : new Float32Array(n);
      if (flip !== 0) for (let k = 0; k < batch.length; k++) mirror(data.subarray(k * size * size, (k + 1) * size * size), back.subarray(k * size * size, (k + 1) * size * size), size, flip);
      for (let i = 0; i < n; i++) sum[i]! += back[i]! / flips.length;
      if (memberBits) {
        batch.forEach((z, k) => {
          const onSquare = toSquare(back.subarray(k * size * size, (k + 1) * size * size));
          for (let y = 0; y < ny; y++) {
            for (let x = 0; x < nx; x++) if (onSquare[(y + oy) * side + ox + x]! > options.memberThreshold!) memberBits[z * plane + y * nx + x]! |= 1 << m;
          }
        });
      }
    }
    batch.forEach((z, k) => {
      const onSquare = toSquare(sum.subarray(k * size * size, (k + 1) * size * size));
      for (let y = 0; y < ny; y++) out.set(onSquare.subarray((y + oy) * side + ox, (y + oy) * side + ox + nx), z * plane + y * nx);
    });
    options.onProgress?.(Math.min(slices.length, start + batch.length), slices.length);
  }
  const probability = fromLps(createVolume(out, lps.dims, lps), transform) as Volume<Float32Array>;
  return memberBits ? { probability, members: fromLps(createVolume(memberBits, lps.dims, lps), transform) as Volume<Uint8Array> } : { probability };
}

function minimumOf(values: ArrayLike<number>): number {
  let min = Infinity;
  for (let i = 0; i < values.length; i++) if (values[i]! < min) min = values[i]!;
  return min;
}

/** 1 where probability > threshold. */
export function threshold(prob: Volume<Float32Array>, level: number): Volume<Uint8Array> {
  const mask = new Uint8Array(prob.data.length);
  for (let i = 0; i < mask.length; i++) mask[i] = prob.data[i]! > level ? 1 : 0;
  return createVolume(mask, prob.dims, prob);
}
