/**
 * Intensity functions: the project's one percentile, the method's percentile
 * normalisation, display windows, and OpenCV-exact CLAHE for 2D model inputs.
 */
import { CovsegError } from '../util/errors.js';
import { createVolume, type Volume, type VoxelArray } from './volume.js';

export interface PercentilesOptions {
  /** Only voxels where `mask` ≠ 0 count; same length as the data. Defaults to all voxels. */
  mask?: ArrayLike<number>;
}

/**
 * Exact percentiles with numpy's default ('linear') definition: the value at rank
 * (n − 1)·p/100 of the sorted data, interpolated between its two neighbours (with numpy's
 * own lerp, so results match `np.percentile` to the last bit for integer data).
 *
 * `data` is any voxel array (x fastest, but order does not matter); `ps` are percentiles
 * in [0, 100]. Integer arrays of 8 or 16 bits use a histogram of the whole integer range
 * (one pass, no copy); other arrays bucket the values into 65,536 ordered buckets and run
 * quickselect only inside the buckets that hold the wanted ranks, so neither sorts.
 */
export function percentiles(data: VoxelArray, ps: number[], options: PercentilesOptions = {}): number[] {
  for (const p of ps) {
    if (!(p >= 0 && p <= 100)) throw new CovsegError(`percentiles: percentile ${p} is outside [0, 100]; pass values such as [1, 99]`);
  }
  const mask = options.mask;
  if (mask && mask.length !== data.length) {
    throw new CovsegError(`percentiles: mask has ${mask.length} voxels but the data has ${data.length}; pass a mask on the data's grid`);
  }
  const ranks = ps.map((p) => p / 100);
  const direct = data instanceof Uint8Array || data instanceof Int8Array || data instanceof Uint16Array || data instanceof Int16Array;
  const select = direct ? histogramSelector(data, mask) : bucketSelector(data, mask);
  if (select.count === 0) {
    throw new CovsegError('percentiles: no voxels selected (the mask is all zero); pass a mask with at least one nonzero voxel, or none');
  }
  const n = select.count;
  const needed = new Set<number>();
  const plan = ranks.map((q) => {
    const index = (n - 1) * q;
    const lo = Math.floor(index);
    const hi = Math.min(lo + 1, n - 1);
    needed.add(lo);
    needed.add(hi);
    return { lo, hi, gamma: index - lo };
  });
  const values = select.kth([...needed].sort((a, b) => a - b));
  return plan.map(({ lo, hi, gamma }) => lerp(values.get(lo)!, values.get(hi)!, gamma));
}

/** numpy's `_lerp`: from the nearer end, so that gamma = 1 gives exactly b. */
function lerp(a: number, b: number, t: number): number {
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

interface Selector {
  /** How many voxels take part. */
  count: number;
  /** The k-th smallest value (0-based) for each k of `ks` (ascending). */
  kth(ks: number[]): Map<number, number>;
}

function histogramSelector(data: Uint8Array | Int8Array | Uint16Array | Int16Array, mask: ArrayLike<number> | undefined): Selector {
  const size = data instanceof Uint8Array || data instanceof Int8Array ? 256 : 65536;
  const shift = data instanceof Int8Array ? 128 : data instanceof Int16Array ? 32768 : 0;
  const hist = new Float64Array(size);
  let count = data.length;
  if (mask) {
    count = 0;
    for (let i = 0; i < data.length; i++) {
      if (mask[i] !== 0) {
        hist[data[i]! + shift]++;
        count++;
      }
    }
  } else {
    for (let i = 0; i < data.length; i++) hist[data[i]! + shift]++;
  }
  return {
    count,
    kth(ks) {
      const out = new Map<number, number>();
      let bin = 0;
      let below = 0; // voxels in bins < bin
      for (const k of ks) {
        while (below + hist[bin]! <= k) below += hist[bin++]!;
        out.set(k, bin - shift);
      }
      return out;
    },
  };
}

const BUCKETS = 65536;

function bucketSelector(data: VoxelArray, mask: ArrayLike<number> | undefined): Selector {
  let min = Infinity;
  let max = -Infinity;
  let count = 0;
  for (let i = 0; i < data.length; i++) {
    if (mask && mask[i] === 0) continue;
    const v = data[i]!;
    if (v !== v) throw new CovsegError(`percentiles: the data holds NaN (voxel ${i}); replace NaN voxels or mask them out`);
    count++;
    if (v < min && v !== -Infinity) min = v;
    if (v > max && v !== Infinity) max = v;
  }
  // A range too narrow (denormals) or too wide (overflow) for finite buckets puts everything in bucket 0: still exact.
  const spread = BUCKETS / (max - min);
  const scale = max > min && Number.isFinite(spread) ? spread : 0;
  const bucketOf = (v: number): number => {
    const b = Math.floor((v - min) * scale);
    return b >= BUCKETS ? BUCKETS - 1 : b >= 0 ? b : 0; // NaN (∞·0) → 0
  };
  return {
    count,
    kth(ks) {
      const hist = new Float64Array(BUCKETS);
      for (let i = 0; i < data.length; i++) {
        if (mask && mask[i] === 0) continue;
        hist[bucketOf(data[i]!)]++;
      }
      // Bucket of each wanted rank, and its rank inside the bucket.
      const where = new Map<number, { bucket: number; rank: number }>();
      let bin = 0;
      let below = 0;
      for (const k of ks) {
        while (below + hist[bin]! <= k) below += hist[bin++]!;
        where.set(k, { bucket: bin, rank: k - below });
      }
      const buckets = new Map<number, Float64Array>();
      const fill = new Map<number, number>();
      for (const { bucket } of where.values()) {
        if (!buckets.has(bucket)) {
          buckets.set(bucket, new Float64Array(hist[bucket]!));
          fill.set(bucket, 0);
        }
      }
      const wanted = new Uint8Array(BUCKETS);
      for (const b of buckets.keys()) wanted[b] = 1;
      for (let i = 0; i < data.length; i++) {
        if (mask && mask[i] === 0) continue;
        const v = data[i]!;
        const b = bucketOf(v);
        if (wanted[b]) {
          const at = fill.get(b)!;
          buckets.get(b)![at] = v;
          fill.set(b, at + 1);
        }
      }
      const out = new Map<number, number>();
      for (const [k, { bucket, rank }] of where) out.set(k, quickselect(buckets.get(bucket)!, rank));
      return out;
    },
  };
}

/** The k-th smallest of `a` (partially reorders `a`). Hoare partition, median-of-three pivot. */
function quickselect(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three as pivot keeps sorted and constant runs from degrading to O(n²).
    let x = a[lo]!, y = a[mid]!, z = a[hi]!;
    if (x > y) [x, y] = [y, x];
    if (y > z) [y, z] = [z, y];
    if (x > y) [x, y] = [y, x];
    const pivot = y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

export interface NormalizePercentilesOptions {
  /** Percentile mapped to 0. Defaults to 1. */
  lowPercentile?: number;
  /** Percentile mapped to 1. Defaults to 99. */
  highPercentile?: number;
  /** Percentiles are taken over voxels where `mask` ≠ 0 (the whole volume is scaled). Defaults to all voxels. */
  mask?: ArrayLike<number>;
}

/**
 * The method's normalisation: clip to [p_low, p_high] and scale to [0, 1]. A constant
 * image (p_low = p_high) becomes all zeros, never NaN.
 */
export function normalizePercentiles(vol: Volume, options: NormalizePercentilesOptions = {}): Volume<Float32Array> {
  const low = options.lowPercentile ?? 1;
  const high = options.highPercentile ?? 99;
  if (!(low <= high)) {
    throw new CovsegError(`normalizePercentiles: lowPercentile ${low} is above highPercentile ${high}; pass low ≤ high, e.g. 1 and 99`);
  }
  const opts: PercentilesOptions = options.mask ? { mask: options.mask } : {};
  const [lowValue, highValue] = percentiles(vol.data, [low, high], opts) as [number, number];
  return createVolume(clipAndScale(vol.data, lowValue, highValue), vol.dims, vol);
}

export interface WindowLevelOptions {
  /** Value mapped to 0 (and below it, clipped). Defaults to −1350 HU (lung window W 1500, L −600). */
  lowHu?: number;
  /** Value mapped to 1 (and above it, clipped). Defaults to 150 HU (lung window W 1500, L −600). */
  highHu?: number;
}

/** Clips to [lowHu, highHu] and scales to [0, 1] (display windows, fixed-range normalisation). */
export function windowLevel(vol: Volume, options: WindowLevelOptions = {}): Volume<Float32Array> {
  const low = options.lowHu ?? -1350;
  const high = options.highHu ?? 150;
  if (!(high > low)) {
    throw new CovsegError(`windowLevel: highHu ${high} must be above lowHu ${low}; pass a window such as { lowHu: -1350, highHu: 150 }`);
  }
  return createVolume(clipAndScale(vol.data, low, high), vol.dims, vol);
}

/** (v − low)/(high − low) clipped to [0, 1]; all zeros when high = low. */
function clipAndScale(data: ArrayLike<number>, low: number, high: number): Float32Array {
  const out = new Float32Array(data.length);
  if (!(high > low)) return out;
  const scale = 1 / (high - low);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    out[i] = v <= low ? 0 : v >= high ? 1 : (v - low) * scale;
  }
  return out;
}

export interface ClaheOptions {
  /** Tile grid [across, down] (OpenCV tileGridSize). Defaults to [8, 8]. */
  tiles?: [number, number];
  /**
   * Contrast limit with OpenCV semantics: each tile histogram is clipped at
   * max(1, floor(clipLimit · tilePixels / bins)) and the excess redistributed; ≤ 0 turns
   * clipping off. Defaults to 2.0.
   */
  clipLimit?: number;
  /** Grey levels (OpenCV: 256 for 8-bit images). Defaults to 256. */
  bins?: number;
}

const f32 = Math.fround;

/**
 * Contrast Limited Adaptive Histogram Equalization, exactly as OpenCV's
 * `createCLAHE(clipLimit, tileGridSize).apply` on an 8-bit image: per-tile histograms
 * (the image padded at the bottom/right by BORDER_REFLECT_101 when the tile grid does
 * not divide it), clipping with redistribution, CDF lookup tables, and bilinear
 * interpolation between the 4 nearest tile centres, all in OpenCV's float32 arithmetic.
 *
 * `slice` is one 2D image, shape [height][width] (x fastest). A Float32Array is taken as
 * [0, 1] and quantised to `bins` levels by round(v·(bins − 1)) (clipped; NaN → 0); a
 * Uint8Array holds the levels themselves. Output: levels / (bins − 1), in [0, 1].
 *
 * Why: CLAHE is nearly invariant to monotonic intensity changes, so 8-bit training
 * slices and CT in HU reach the model with the same intensity distribution. That holds
 * only with a high clip limit (or none): measured on 10 Zenodo slices at 320 × 320,
 * mean |CLAHE(img) − CLAHE(img^γ)| for γ = 0.6 is 0.0066 without clipping and 0.0076 at
 * clipLimit 40 (OpenCV's own createCLAHE default), but 0.085 at clipLimit 2 against a
 * raw difference of 0.155: clipping redistributes counts evenly over all levels, which
 * makes the mapping partly linear in the level.
 */
export function clahe(slice: Float32Array | Uint8Array, width: number, height: number, options: ClaheOptions = {}): Float32Array {
  const [tilesX, tilesY] = options.tiles ?? [8, 8];
  const clipLimitFactor = options.clipLimit ?? 2.0;
  const bins = options.bins ?? 256;
  if (!(Number.isInteger(tilesX) && Number.isInteger(tilesY) && tilesX > 0 && tilesY > 0)) {
    throw new CovsegError(`clahe: tiles must be two positive integers, got [${tilesX}, ${tilesY}]; OpenCV's default is [8, 8]`);
  }
  if (!(Number.isInteger(bins) && bins >= 2 && bins <= 65536)) {
    throw new CovsegError(`clahe: bins must be an integer in 2–65536, got ${bins}; use 256 for 8-bit images`);
  }
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) || slice.length !== width * height) {
    throw new CovsegError(`clahe: slice has ${slice.length} pixels but width ${width} × height ${height} = ${width * height}; pass the slice's own size`);
  }
  if (!Number.isFinite(clipLimitFactor)) {
    throw new CovsegError(`clahe: clipLimit must be a finite number, got ${clipLimitFactor}; OpenCV's usual value is 2.0`);
  }
  const levels = quantise(slice, bins);

  // OpenCV pads both axes whenever either is not divisible (so a divisible axis grows by a whole tile).
  const divisible = width % tilesX === 0 && height % tilesY === 0;
  const paddedW = divisible ? width : width + tilesX - (width % tilesX);
  const paddedH = divisible ? height : height + tilesY - (height % tilesY);
  const tileW = paddedW / tilesX;
  const tileH = paddedH / tilesY;
  const tilePixels = tileW * tileH;
  const lutScale = f32(f32(bins - 1) / tilePixels);
  const clipLimit = clipLimitFactor > 0 ? Math.max(1, Math.trunc((clipLimitFactor * tilePixels) / bins)) : 0;

  const colOf = new Int32Array(paddedW);
  for (let x = 0; x < paddedW; x++) colOf[x] = reflect101(x, width);
  const lut = new Uint16Array(tilesX * tilesY * bins);
  const hist = new Int32Array(bins);
  for (let ty = 0; ty < tilesY; ty++) {
    for (let tx = 0; tx < tilesX; tx++) {
      hist.fill(0);
      for (let y = ty * tileH; y < (ty + 1) * tileH; y++) {
        const row = reflect101(y, height) * width;
        for (let x = tx * tileW; x < (tx + 1) * tileW; x++) hist[levels[row + colOf[x]!]!]++;
      }
      if (clipLimit > 0) clipHistogram(hist, clipLimit);
      const base = (ty * tilesX + tx) * bins;
      let sum = 0;
      for (let i = 0; i < bins; i++) {
        sum += hist[i]!;
        lut[base + i] = saturate(roundHalfEven(f32(sum * lutScale)), bins - 1);
      }
    }
  }

  // Column tables, as OpenCV precomputes them (float32 throughout).
  const invW = f32(1 / tileW);
  const col1 = new Int32Array(width);
  const col2 = new Int32Array(width);
  const xa = new Float32Array(width);
  const xa1 = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const txf = f32(f32(x * invW) - 0.5);
    const t1 = Math.floor(txf);
    xa[x] = f32(txf - t1);
    xa1[x] = f32(1 - xa[x]!);
    col1[x] = Math.max(t1, 0) * bins;
    col2[x] = Math.min(t1 + 1, tilesX - 1) * bins;
  }
  const invH = f32(1 / tileH);
  const out = new Float32Array(width * height);
  const toUnit = 1 / (bins - 1);
  for (let y = 0; y < height; y++) {
    const tyf = f32(f32(y * invH) - 0.5);
    const t1 = Math.floor(tyf);
    const ya = f32(tyf - t1);
    const ya1 = f32(1 - ya);
    const plane1 = Math.max(t1, 0) * tilesX * bins;
    const plane2 = Math.min(t1 + 1, tilesY - 1) * tilesX * bins;
    for (let x = 0, i = y * width; x < width; x++, i++) {
      const v = levels[i]!;
      const a = col1[x]! + v;
      const b = col2[x]! + v;
      const top = f32(f32(f32(lut[plane1 + a]! * xa1[x]!) + f32(lut[plane1 + b]! * xa[x]!)) * ya1);
      const bottom = f32(f32(f32(lut[plane2 + a]! * xa1[x]!) + f32(lut[plane2 + b]! * xa[x]!)) * ya);
      out[i] = saturate(roundHalfEven(f32(top + bottom)), bins - 1) * toUnit;
    }
  }
  return out;
}

function quantise(slice: Float32Array | Uint8Array, bins: number): Uint16Array | Uint8Array {
  if (slice instanceof Uint8Array) {
    for (let i = 0; i < slice.length; i++) {
      if (slice[i]! >= bins) {
        throw new CovsegError(`clahe: pixel ${i} has level ${slice[i]} but bins is ${bins}; pass bins: 256 for 8-bit images, or [0, 1] floats`);
      }
    }
    return slice;
  }
  const levels = new Uint16Array(slice.length);
  const top = bins - 1;
  for (let i = 0; i < slice.length; i++) {
    const v = slice[i]!;
    levels[i] = v > 0 ? (v < 1 ? Math.round(v * top) : top) : 0;
  }
  return levels;
}

/** OpenCV's clip-and-redistribute: whole batches to every bin, the residual spread at a stride. */
function clipHistogram(hist: Int32Array, clipLimit: number): void {
  const bins = hist.length;
  let clipped = 0;
  for (let i = 0; i < bins; i++) {
    if (hist[i]! > clipLimit) {
      clipped += hist[i]! - clipLimit;
      hist[i] = clipLimit;
    }
  }
  const batch = Math.floor(clipped / bins);
  let residual = clipped - batch * bins;
  for (let i = 0; i < bins; i++) hist[i] += batch;
  if (residual > 0) {
    const step = Math.max(Math.floor(bins / residual), 1);
    for (let i = 0; i < bins && residual > 0; i += step, residual--) hist[i]++;
  }
}

/** OpenCV's BORDER_REFLECT_101 index (…, 2, 1 | 0, 1, …, n−1 | n−2, …). */
function reflect101(p: number, n: number): number {
  if (n === 1) return 0;
  while (p < 0 || p >= n) p = p < 0 ? -p : 2 * n - 2 - p;
  return p;
}

/** cvRound: nearest integer, halves to even (the SSE2 default rounding mode). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function saturate(v: number, top: number): number {
  return v < 0 ? 0 : v > top ? top : v;
}
