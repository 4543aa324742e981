/**
 * lungmask's per-slice pre-processing and its inverse (../shared/docs/lungmask-r231.md, "Pre-processing"):
 * clip to [−1024, 600] HU → body mask at 128×128 → crop the slice to the body box →
 * resize the crop to 256×256 (corner-aligned bilinear, aspect ratio not kept) →
 * normalise (hu + 1024) / 1624. The inverse puts 256×256 labels back into each slice's
 * body box on a zero slice.
 *
 * Slices are those of an LPS-oriented volume (`reorientToLps`): rows run anterior →
 * posterior, columns patient right → left, as lungmask sees them.
 */
import { CovsegError } from '../util/errors.js';
import {
  close,
  componentRuns,
  cropToBox,
  dilate,
  erode,
  fillHoles,
  getSlice,
  largestComponent,
  pasteBack,
  resizeSlice,
  type CropBox,
} from '../volume/index.js';
import { createVolume, type Vec3, type Volume, type VoxelArray } from '../volume/volume.js';

/** HU window lungmask clips to before anything else. */
export const R231_HU_MIN = -1024;
export const R231_HU_MAX = 600;
/** Voxels above this (in the 128×128 thumbnail) are body. */
export const R231_BODY_THRESHOLD_HU = -500;
/** Side of the thumbnail the body mask is computed on. */
export const R231_BODY_MASK_SIZE = 128;
/** Side of the network input. */
export const R231_INPUT_SIZE = 256;

/**
 * lungmask resizes masks (and the CT thumbnail) with scipy.ndimage.zoom(order=0,
 * mode='constant'): src = floor(dst·zoom + 0.5) with zoom = (in − 1)/(out − 1), which is
 * resizeSlice's 'nearest-align-corners'. scipy also gives the constant 0 to a sample whose
 * coordinate rounds above in − 1 (only ever the last one, e.g. 128 → 14, 27, 46, … and
 * 256 → 12, 14, 23, …): {@link zoomLikeScipy} adds that quirk, so a body or lung mask
 * loses its last row or column exactly where lungmask's does.
 */
export function zoomLikeScipy<T extends VoxelArray>(data: T, width: number, height: number, outWidth: number, outHeight: number): T {
  const out = resizeSlice(data, width, height, outWidth, outHeight, { interpolation: 'nearest-align-corners' }) as T;
  if (lastSampleOverflows(width, outWidth)) for (let y = 0; y < outHeight; y++) out[y * outWidth + outWidth - 1] = 0;
  if (lastSampleOverflows(height, outHeight)) out.fill(0, (outHeight - 1) * outWidth, outHeight * outWidth);
  return out;
}

/** Whether scipy's last sample coordinate (out − 1)·((in − 1)/(out − 1)) rounds above in − 1. */
export function lastSampleOverflows(nIn: number, nOut: number): boolean {
  return nOut > 1 && (nOut - 1) * ((nIn - 1) / (nOut - 1)) > nIn - 1;
}

/** A slice's body box in pixels, end exclusive: columns x0 ≤ x < x1, rows y0 ≤ y < y1. */
export interface SliceBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface R231Input {
  /** Network input, shape [count, 1, 256, 256], values (hu + 1024) / 1624. */
  input: Float32Array;
  /** The resized HU slices before normalisation, shape [count, 256, 256]: Int16Array (rounded, as scipy keeps int16 input int16) for integer CT, else Float32Array. */
  resizedHu: Int16Array | Float32Array;
  /** Body box of each slice, the crop to undo. */
  boxes: SliceBox[];
  /** Per slice, the crop as `cropToBox` describes it (pasteBack's inverse). */
  crops: CropBox[];
}

export interface PreprocessR231Options {
  /** Called after each slice with (done, total). Defaults to none. */
  onSlice?: (done: number, total: number) => void;
}

/** Clips a copy of `data` to [−1024, 600], keeping its array type. */
export function clipHu<T extends VoxelArray>(data: T): T {
  const out = data.slice() as T;
  for (let i = 0; i < out.length; i++) {
    const v = out[i]!;
    if (v < R231_HU_MIN) out[i] = R231_HU_MIN;
    else if (v > R231_HU_MAX) out[i] = R231_HU_MAX;
  }
  return out;
}

/**
 * lungmask's body mask of one clipped slice (`hu` of shape [height][width]): thumbnail
 * 128×128 → threshold −500 → closing (cross) → fill holes → erode ×2 → largest
 * 4-connected component → dilate ×2 → back to width × height. Morphology treats the
 * outside as background (scipy's border_value=0). Returns 0/1 per pixel.
 */
export function bodyMaskR231(hu: VoxelArray, width: number, height: number): Uint8Array {
  const s = R231_BODY_MASK_SIZE;
  const dims: Vec3 = [s, s, 1];
  const small = zoomLikeScipy(hu, width, height, s, s);
  let mask: Uint8Array = new Uint8Array(s * s);
  for (let i = 0; i < mask.length; i++) mask[i] = small[i]! > R231_BODY_THRESHOLD_HU ? 1 : 0;
  mask = close(mask, dims, { plane: '2d' });
  mask = fillHoles(mask, dims, { plane: '2d', connectivity: 8 });
  mask = erode(mask, dims, { plane: '2d', iterations: 2 });
  mask = largestComponent(mask, dims, { connectivity: 4 });
  mask = dilate(mask, dims, { plane: '2d', iterations: 2 });
  return zoomLikeScipy(mask, s, s, width, height);
}

/**
 * The body box lungmask crops to: the bounding box of the first 8-connected component of
 * the mask in raster order (after the largest-component step there is normally just one);
 * the whole slice when the mask is empty.
 */
export function bodyBoxR231(mask: Uint8Array, width: number, height: number): SliceBox {
  const runs = componentRuns(mask, [width, height, 1], { connectivity: 8 });
  const box: SliceBox = { x0: width, y0: height, x1: 0, y1: 0 };
  for (let i = 0; i < runs.count; i++) {
    if (runs.label[i] !== 1) continue;
    const y = runs.row[i]!;
    box.x0 = Math.min(box.x0, runs.start[i]!);
    box.x1 = Math.max(box.x1, runs.end[i]! + 1);
    box.y0 = Math.min(box.y0, y);
    box.y1 = Math.max(box.y1, y + 1);
  }
  return box.x1 === 0 ? { x0: 0, y0: 0, x1: width, y1: height } : box;
}

/**
 * Pre-processes every axial slice of `lps` (an LPS-oriented CT in HU, dims [nx, ny, nz])
 * into the network input. Keep `boxes`/`crops` to undo the crop with {@link labelsToSlices}.
 */
export function preprocessR231(lps: Volume, options: PreprocessR231Options = {}): R231Input {
  const [nx, ny, nz] = lps.dims;
  const n = R231_INPUT_SIZE;
  const integer = !(lps.data instanceof Float32Array || lps.data instanceof Float64Array);
  const input = new Float32Array(nz * n * n);
  const resizedHu = integer ? new Int16Array(nz * n * n) : new Float32Array(nz * n * n);
  const boxes: SliceBox[] = [];
  const crops: CropBox[] = [];
  for (let z = 0; z < nz; z++) {
    const slice = getSlice(lps, z);
    const clipped = createVolume(clipHu(slice.data), slice.dims, slice);
    const box = bodyBoxR231(bodyMaskR231(clipped.data, nx, ny), nx, ny);
    const { volume: crop, box: cropBox } = cropToBox(clipped, [box.x0, box.y0, 0], [box.x1, box.y1, 1]);
    const resized = resizeSlice(crop.data, box.x1 - box.x0, box.y1 - box.y0, n, n, { interpolation: 'bilinear-align-corners' });
    const off = z * n * n;
    for (let i = 0; i < n * n; i++) {
      const v = resized[i]!;
      if (integer) {
        // scipy writes integer output rounded half away from zero.
        const hu = v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
        resizedHu[off + i] = hu;
        input[off + i] = (hu + 1024) / 1624;
      } else {
        resizedHu[off + i] = v;
        input[off + i] = Math.fround(Math.fround(v + 1024) / 1624);
      }
    }
    boxes.push(box);
    crops.push(cropBox);
    options.onSlice?.(z + 1, nz);
  }
  return { input, resizedHu, boxes, crops };
}

/**
 * The inverse of the crop-and-resize: `labels` of shape [count, 256, 256] go back into
 * each slice's body box (nearest-neighbour resize to the box size, pasted into a zero
 * slice). Returns labels on the LPS grid of `crops[z].sourceGeometry`, shape [nz, ny, nx].
 */
export function labelsToSlices(labels: Uint8Array, crops: CropBox[]): Uint8Array {
  const n = R231_INPUT_SIZE;
  if (labels.length !== crops.length * n * n) {
    throw new CovsegError(`labelsToSlices: ${labels.length} labels for ${crops.length} slices of ${n} × ${n}`);
  }
  if (crops.length === 0) return new Uint8Array(0);
  const [nx, ny] = crops[0]!.sourceGeometry.dims;
  const out = new Uint8Array(crops.length * nx * ny);
  crops.forEach((crop, z) => {
    const [bw, bh] = crop.outputDims;
    const resized = zoomLikeScipy(labels.subarray(z * n * n, (z + 1) * n * n), n, n, bw, bh);
    const pasted = pasteBack(createVolume(resized, [bw, bh, 1], {}), crop);
    out.set(pasted.data as Uint8Array, z * nx * ny);
  });
  return out;
}
