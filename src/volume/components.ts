/**
 * The project's one connected-components routine. It works on runs (maximal stretches
 * of foreground along x): each run is joined by union-find to the runs it touches in the
 * rows already scanned, so the work grows with the number of runs, not of voxels. The
 * voxel label map is written only when a caller asks for it; largest-component,
 * small-component removal and hole filling read the runs directly.
 */
import { CovsegError } from '../util/errors.js';
import { checkGrid } from './checks.js';
import type { Vec3 } from './volume.js';

/**
 * Which voxels touch:
 * - `4`: per z-slice (2D), edge neighbours.
 * - `8`: per z-slice (2D), edge and corner neighbours.
 * - `6`: 3D, face neighbours.
 * - `18`: 3D, face and edge neighbours.
 * - `26`: 3D, face, edge and corner neighbours.
 */
export type Connectivity = 4 | 8 | 6 | 18 | 26;

export interface ComponentsOptions {
  /** Neighbourhood, see {@link Connectivity}. Defaults to 26. */
  connectivity?: Connectivity;
  /**
   * false: any nonzero voxel is foreground and touching foreground voxels connect.
   * true: only voxels of equal nonzero value connect (components of each label of a
   * label map). Defaults to false.
   */
  sameValue?: boolean;
}

export interface ComponentRunsOptions extends ComponentsOptions {
  /**
   * Which voxels are labelled:
   * - `'nonzero'`: the foreground (the usual case).
   * - `'zero'`: the background (hole filling: background components not touching the border are holes).
   * Defaults to 'nonzero'.
   */
  of?: 'nonzero' | 'zero';
}

export interface Components {
  /** Component label per voxel (0 = background, 1… in raster order of each component's first voxel), shape of the mask. */
  labels: Int32Array;
  /** sizes[k] = voxels of component k; sizes[0] = 0. */
  sizes: number[];
  /** values[k] = mask value of component k (with sameValue false, the value of its first voxel); values[0] = 0. */
  values: number[];
}

/** Components as runs along x: run r covers x = start[r]…end[r] (inclusive) of row row[r] = y + ny·z. */
export interface ComponentRuns {
  /** Number of runs. */
  count: number;
  row: Int32Array;
  start: Int32Array;
  end: Int32Array;
  /** Component label of each run, 1-based as in {@link Components}. */
  label: Int32Array;
  /** sizes[k] = voxels of component k; sizes[0] = 0. */
  sizes: number[];
  /** values[k] = mask value of component k; values[0] = 0. */
  values: number[];
}

/**
 * Backward neighbour rows per connectivity: [dy, dz, touch], where touch 1 lets runs
 * whose x ranges are one apart connect (diagonal neighbours), 0 needs x overlap.
 */
const NEIGHBOUR_ROWS: Record<Connectivity, [number, number, number][]> = {
  4: [[-1, 0, 0]],
  8: [[-1, 0, 1]],
  6: [[-1, 0, 0], [0, -1, 0]],
  18: [[-1, 0, 1], [0, -1, 1], [-1, -1, 0], [1, -1, 0]],
  26: [[-1, 0, 1], [0, -1, 1], [-1, -1, 1], [1, -1, 1]],
};

/** Labels the components of `mask` (shape `dims` = [nx, ny, nz], x fastest) as runs. */
export function componentRuns(mask: ArrayLike<number>, dims: Vec3, options: ComponentRunsOptions = {}): ComponentRuns {
  return labelRuns('componentRuns', mask, dims, options);
}

function labelRuns(fn: string, mask: ArrayLike<number>, dims: Vec3, options: ComponentRunsOptions): ComponentRuns {
  checkGrid(fn, mask, dims);
  const connectivity = options.connectivity ?? 26;
  const neighbours = NEIGHBOUR_ROWS[connectivity];
  if (!neighbours) {
    throw new CovsegError(`${fn}: connectivity ${String(connectivity)} is not one of 4, 8 (2D per slice), 6, 18, 26 (3D)`);
  }
  const sameValue = options.sameValue ?? false;
  const ofZero = (options.of ?? 'nonzero') === 'zero';
  const [nx, ny, nz] = dims;
  const runs = new RunStore(Math.max(1024, ny * nz)); // about one run per row to start with
  const rowFirst = new Int32Array(ny * nz + 1);
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      const r = y + ny * z;
      const first = runs.count;
      rowFirst[r] = first;
      const base = r * nx;
      let x = 0;
      while (x < nx) {
        const v = mask[base + x]!;
        if ((v === 0) !== ofZero) {
          x++;
          continue;
        }
        const s = x;
        x++;
        if (ofZero) while (x < nx && mask[base + x] === 0) x++;
        else if (sameValue) while (x < nx && mask[base + x] === v) x++;
        else while (x < nx && mask[base + x] !== 0) x++;
        runs.push(r, s, x - 1, v);
      }
      const last = runs.count;
      if (first === last) continue;
      for (const [dy, dz, touch] of neighbours) {
        const yy = y + dy;
        const zz = z + dz;
        if (yy < 0 || yy >= ny || zz < 0) continue;
        const rr = yy + ny * zz;
        joinRows(runs, first, last, rowFirst[rr]!, rowFirst[rr + 1]!, touch, sameValue);
      }
    }
  }
  rowFirst[ny * nz] = runs.count;
  return runs.finish();
}

/** Unions the runs of the current row [a0, a1) with those of a neighbour row [b0, b1) that touch them. */
function joinRows(runs: RunStore, a0: number, a1: number, b0: number, b1: number, touch: number, sameValue: boolean): void {
  const { start, end, value, parent } = runs;
  let b = b0;
  for (let a = a0; a < a1; a++) {
    while (b < b1 && end[b]! + touch < start[a]!) b++;
    let ra = -1; // root of a, found once per a rather than once per union
    for (let c = b; c < b1 && start[c]! <= end[a]! + touch; c++) {
      if (sameValue && value[a] !== value[c]) continue;
      if (ra < 0) ra = runs.find(a);
      const rc = runs.find(c);
      // The smaller index becomes the root, so a component's root is its first run in raster order.
      if (rc < ra) {
        parent[ra] = rc;
        ra = rc;
      } else if (ra < rc) {
        parent[rc] = ra;
      }
    }
  }
}

class RunStore {
  count = 0;
  row: Int32Array;
  start: Int32Array;
  end: Int32Array;
  value: Float64Array;
  parent: Int32Array;

  constructor(capacity: number) {
    this.row = new Int32Array(capacity);
    this.start = new Int32Array(capacity);
    this.end = new Int32Array(capacity);
    this.value = new Float64Array(capacity);
    this.parent = new Int32Array(capacity);
  }

  push(row: number, start: number, end: number, value: number): void {
    if (this.count === this.row.length) this.grow();
    const i = this.count++;
    this.row[i] = row;
    this.start[i] = start;
    this.end[i] = end;
    this.value[i] = value;
    this.parent[i] = i;
  }

  find(i: number): number {
    const p = this.parent;
    while (p[i] !== i) {
      p[i] = p[p[i]!]!; // path halving
      i = p[i]!;
    }
    return i;
  }

  finish(): ComponentRuns {
    const n = this.count;
    const label = new Int32Array(n);
    const sizes = [0];
    const values = [0];
    for (let i = 0; i < n; i++) {
      const root = this.find(i);
      if (root === i) {
        label[i] = sizes.length;
        sizes.push(0);
        values.push(this.value[i]!);
      } else {
        label[i] = label[root]!;
      }
      sizes[label[i]!] += this.end[i]! - this.start[i]! + 1;
    }
    return { count: n, row: this.row.subarray(0, n), start: this.start.subarray(0, n), end: this.end.subarray(0, n), label, sizes, values };
  }

  private grow(): void {
    const size = this.row.length * 2;
    const copy = <T extends Int32Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.row = copy(this.row);
    this.start = copy(this.start);
    this.end = copy(this.end);
    this.value = copy(this.value);
    this.parent = copy(this.parent);
  }
}

/**
 * Connected components of `mask` (shape `dims` = [nx, ny, nz], x fastest; nonzero =
 * foreground) with a voxel label map.
 */
export function connectedComponents(mask: ArrayLike<number>, dims: Vec3, options: ComponentsOptions = {}): Components {
  const runs = labelRuns('connectedComponents', mask, dims, options);
  const labels = new Int32Array(dims[0] * dims[1] * dims[2]);
  const nx = dims[0];
  for (let i = 0; i < runs.count; i++) {
    const base = runs.row[i]! * nx;
    const label = runs.label[i]!;
    // A loop, not fill(): most runs are short and fill's call overhead dominates on them.
    for (let j = base + runs.start[i]!, e = base + runs.end[i]!; j <= e; j++) labels[j] = label;
  }
  return { labels, sizes: runs.sizes, values: runs.values };
}

/** Copies the voxels of the runs whose label passes `keep` from `mask` into a new mask. */
function maskOfRuns(runs: ComponentRuns, mask: ArrayLike<number>, dims: Vec3, keep: (label: number) => boolean): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < runs.count; i++) {
    if (!keep(runs.label[i]!)) continue;
    const base = runs.row[i]! * dims[0];
    for (let j = base + runs.start[i]!, e = base + runs.end[i]!; j <= e; j++) out[j] = mask[j]!;
  }
  return out;
}

/**
 * Keeps only the largest component of `mask` (shape `dims`); ties → the one found first in
 * raster order. Kept voxels keep their values. An all-zero mask gives an all-zero mask.
 */
export function largestComponent(mask: ArrayLike<number>, dims: Vec3, options: ComponentsOptions = {}): Uint8Array {
  const runs = labelRuns('largestComponent', mask, dims, options);
  let best = 0;
  for (let k = 1; k < runs.sizes.length; k++) if (runs.sizes[k]! > runs.sizes[best]!) best = k;
  return maskOfRuns(runs, mask, dims, (label) => label === best);
}

/**
 * For each label value of `labelMap` (shape `dims`), keeps only its largest component
 * (components of equal values, as lungmask's post-processing does per lung); ties → the
 * one found first.
 */
export function keepLargestPerLabel(labelMap: ArrayLike<number>, dims: Vec3, options: Omit<ComponentsOptions, 'sameValue'> = {}): Uint8Array {
  const runs = labelRuns('keepLargestPerLabel', labelMap, dims, { ...options, sameValue: true });
  const bestOf = new Map<number, number>();
  for (let k = 1; k < runs.sizes.length; k++) {
    const best = bestOf.get(runs.values[k]!);
    if (best === undefined || runs.sizes[k]! > runs.sizes[best]!) bestOf.set(runs.values[k]!, k);
  }
  const keep = new Uint8Array(runs.sizes.length);
  for (const k of bestOf.values()) keep[k] = 1;
  return maskOfRuns(runs, labelMap, dims, (label) => keep[label] === 1);
}

/** Removes the components of `mask` (shape `dims`) with fewer than `minSize` voxels; the rest keep their values. */
export function removeSmallComponents(mask: ArrayLike<number>, dims: Vec3, minSize: number, options: ComponentsOptions = {}): Uint8Array {
  if (!(minSize >= 0)) {
    throw new CovsegError(`removeSmallComponents: minSize must be a voxel count ≥ 0, got ${minSize}`);
  }
  const runs = labelRuns('removeSmallComponents', mask, dims, options);
  return maskOfRuns(runs, mask, dims, (label) => runs.sizes[label]! >= minSize);
}
