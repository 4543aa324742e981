/**
 * lungmask's post-processing of the stacked 256×256×N argmax labels, before they are
 * resized back (../shared/docs/lungmask-r231.md, "Inference and post-processing"):
 * 1. 26-connected components of equal label.
 * 2. From the smallest component to the largest, a component of ≥ 3 voxels that is not the
 *    largest of its label takes the region id of the neighbouring component it touches with
 *    the most voxels (6-connected dilation; ties → the lowest component id), and its size
 *    is added to that neighbour's.
 * 3. Per label in ascending order: keep its largest 26-connected component, fill its holes
 *    (a volume: background not 6-connected to the border; a single slice: background
 *    pieces of fewer than 64 pixels, 4-connected, as skimage's area_closing does) and paint
 *    it over the labels painted before.
 * The bookkeeping follows lungmask's literally, quirks included, because the point is to
 * give its masks voxel for voxel: a component exactly as large as an earlier one of the
 * same label never gets that label (it ends up background unless it merges), and the
 * "largest" size grows only when a merge lands in the current largest component.
 */
import { CovsegError } from '../util/errors.js';
import { connectedComponents, fillHoles, keepLargestPerLabel, removeSmallComponents } from '../volume/index.js';
import type { Vec3 } from '../volume/volume.js';

/** lungmask skips components of 1 and 2 voxels when merging (they go with keep-largest). */
const MIN_MERGED_SIZE = 3;
/** Single-slice hole filling: skimage area_closing(area_threshold=64) fills fewer than 64 pixels. */
const SLICE_HOLE_AREA = 64;

/**
 * Post-processes argmax labels `labels` of shape `dims` = [256, 256, N] (x fastest; labels
 * 0 = background, 1…C−1 classes). Returns a new label array of the same shape.
 */
export function postprocessR231(labels: Uint8Array, dims: Vec3): Uint8Array {
  const [nx, ny, nz] = dims;
  if (labels.length !== nx * ny * nz) {
    throw new CovsegError(`postprocessR231: labels have ${labels.length} voxels but dims [${dims.join(', ')}] need ${nx * ny * nz}`);
  }
  const mapped = mergeSmallComponents(labels, dims);
  return keepLargestAndFill(mapped, dims);
}

/** Steps 1–2: returns the label of every voxel after small components joined their neighbours. */
function mergeSmallComponents(labels: Uint8Array, dims: Vec3): Uint8Array {
  const [nx, ny, nz] = dims;
  const { labels: region, sizes, values } = connectedComponents(labels, dims, { connectivity: 26, sameValue: true });
  const n = sizes.length - 1;
  const area = Float64Array.from(sizes);
  const cls = Int32Array.from(values);
  const order = Array.from({ length: n }, (_, i) => i + 1).sort((a, b) => area[a]! - area[b]! || a - b);

  let maxClass = 0;
  for (let k = 1; k <= n; k++) maxClass = Math.max(maxClass, cls[k]!);
  const largest = new Float64Array(maxClass + 1);
  const regionClass = new Uint8Array(n + 1);
  for (const r of order) {
    if (area[r]! > largest[cls[r]!]!) {
      largest[cls[r]!] = area[r]!;
      regionClass[r] = cls[r]!;
    }
  }

  // Voxels of each region id, as chunks, so a merged region's voxels follow it.
  const members = voxelsByRegion(region, n);
  const stamp = new Int32Array(region.length);
  const touching = new Float64Array(n + 1);
  const touched: number[] = [];
  const sliceSize = nx * ny;
  for (const r of order) {
    if (!(area[r]! < largest[cls[r]!]! && area[r]! >= MIN_MERGED_SIZE)) continue;
    // The 6-connected dilation of r, minus r: count each outside voxel once per region id.
    touched.length = 0;
    const visit = (u: number): void => {
      const id = region[u]!;
      if (id === r || stamp[u] === r) return;
      stamp[u] = r;
      if (id === 0) return;
      if (touching[id] === 0) touched.push(id);
      touching[id]!++;
    };
    for (const chunk of members[r]!) {
      for (let i = 0; i < chunk.length; i++) {
        const v = chunk[i]!;
        const x = v % nx;
        const y = ((v - x) / nx) % ny;
        const z = (v - x - y * nx) / sliceSize;
        if (x > 0) visit(v - 1);
        if (x < nx - 1) visit(v + 1);
        if (y > 0) visit(v - nx);
        if (y < ny - 1) visit(v + nx);
        if (z > 0) visit(v - sliceSize);
        if (z < nz - 1) visit(v + sliceSize);
      }
    }
    touched.sort((a, b) => a - b);
    let target = r;
    let best = 0;
    for (const id of touched) {
      if (touching[id]! > best) {
        best = touching[id]!;
        target = id;
      }
      touching[id] = 0;
    }
    if (target === r) continue;
    for (const chunk of members[r]!) for (let i = 0; i < chunk.length; i++) region[chunk[i]!] = target;
    members[target]!.push(...members[r]!);
    members[r] = [];
    if (area[target] === largest[cls[target]!]) largest[cls[target]!] += area[r]!;
    area[target] += area[r]!;
  }

  const mapped = new Uint8Array(region.length);
  for (let i = 0; i < region.length; i++) mapped[i] = regionClass[region[i]!]!;
  return mapped;
}

function voxelsByRegion(region: Int32Array, n: number): Int32Array[][] {
  const start = new Int32Array(n + 2);
  for (let i = 0; i < region.length; i++) start[region[i]! + 1]!++;
  for (let k = 1; k <= n + 1; k++) start[k]! += start[k - 1]!;
  const fill = start.slice(0, n + 1);
  const order = new Int32Array(region.length);
  for (let i = 0; i < region.length; i++) order[fill[region[i]!]!++] = i;
  const out: Int32Array[][] = [[]];
  for (let k = 1; k <= n; k++) out.push([order.subarray(start[k]!, start[k + 1]!)]);
  return out;
}

/** Step 3. */
function keepLargestAndFill(mapped: Uint8Array, dims: Vec3): Uint8Array {
  const present = new Uint8Array(256);
  for (let i = 0; i < mapped.length; i++) present[mapped[i]!] = 1;
  const classes: number[] = [];
  for (let c = 0; c < 256; c++) if (present[c]) classes.push(c);
  // lungmask iterates np.unique(labels)[1:], i.e. it skips the smallest value present
  // (background, unless a volume is lung everywhere).
  const kept = keepLargestPerLabel(mapped, dims, { connectivity: 26 });
  const out = new Uint8Array(mapped.length);
  const mask = new Uint8Array(mapped.length);
  for (const c of classes.slice(1)) {
    for (let i = 0; i < kept.length; i++) mask[i] = kept[i] === c ? 1 : 0;
    const filled = dims[2] === 1 ? closeSmallBackground(mask, dims) : fillHoles(mask, dims, { plane: '3d' });
    for (let i = 0; i < filled.length; i++) if (filled[i]) out[i] = c;
  }
  return out;
}

/** skimage area_closing of a binary slice: background pieces (4-connected) under 64 pixels become foreground, also at the border. */
function closeSmallBackground(mask: Uint8Array, dims: Vec3): Uint8Array {
  const background = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) background[i] = mask[i] ? 0 : 1;
  const bigBackground = removeSmallComponents(background, dims, SLICE_HOLE_AREA, { connectivity: 4 });
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = bigBackground[i] ? 0 : 1;
  return out;
}
