import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/random.js';
import {
  componentRuns,
  connectedComponents,
  keepLargestPerLabel,
  largestComponent,
  removeSmallComponents,
  type Connectivity,
  type Vec3,
} from '../../src/volume/index.js';
import { grid } from './grid-text.js';

test('component counts under each connectivity', () => {
  const cases: { name: string; text: string; counts: Partial<Record<Connectivity, number>> }[] = [
    // 3D checkerboard 2×2×2: the 4 foreground voxels touch only along edges.
    { name: '3D checkerboard', text: '1. .1 | .1 1.', counts: { 6: 4, 18: 1, 26: 1, 4: 4, 8: 2 } },
    // Two voxels touching only at a corner.
    { name: 'corner', text: '1. .. | .. .1', counts: { 6: 2, 18: 2, 26: 1, 4: 2, 8: 2 } },
    // 2D checkerboard 3×3: 5 foreground pixels.
    { name: '2D checkerboard', text: '1.1 .1. 1.1', counts: { 4: 5, 8: 1, 6: 5, 18: 1, 26: 1 } },
    // The same pixel on two slices: 2D labelling keeps slices apart.
    { name: 'stacked', text: '.1 | .1', counts: { 4: 2, 8: 2, 6: 1, 18: 1, 26: 1 } },
    // A U shape: the two arms meet only in the last row (union-find must merge labels).
    { name: 'U', text: '1.1 1.1 111', counts: { 4: 1, 8: 1, 6: 1 } },
    { name: 'diagonal runs', text: '11.. ..11', counts: { 4: 2, 8: 1, 6: 2, 18: 1, 26: 1 } },
    { name: 'empty', text: '... ...', counts: { 4: 0, 26: 0 } },
  ];
  for (const t of cases) {
    const { mask, dims } = grid(t.text);
    for (const [conn, count] of Object.entries(t.counts)) {
      const cc = connectedComponents(mask, dims, { connectivity: Number(conn) as Connectivity });
      assert.equal(cc.sizes.length - 1, count, `${t.name}, connectivity ${conn}`);
    }
  }
});

test('labels, sizes and values in raster order of first voxel', () => {
  const { mask, dims } = grid('11.2 ...2 3.22');
  const cc = connectedComponents(mask, dims, { connectivity: 8 });
  assert.deepEqual([...cc.labels], [1, 1, 0, 2, 0, 0, 0, 2, 3, 0, 2, 2]);
  assert.deepEqual(cc.sizes, [0, 2, 4, 1]);
  assert.deepEqual(cc.values, [0, 1, 2, 3]);
});

test('sameValue: only equal values connect', () => {
  const { mask, dims } = grid('1122 1.22');
  const any = connectedComponents(mask, dims, { connectivity: 4 });
  assert.deepEqual(any.sizes, [0, 7]);
  const same = connectedComponents(mask, dims, { connectivity: 4, sameValue: true });
  assert.deepEqual([...same.labels], [1, 1, 2, 2, 1, 0, 2, 2]);
  assert.deepEqual(same.sizes, [0, 3, 4]);
  assert.deepEqual(same.values, [0, 1, 2]);
});

/** Breadth-first flood fill with explicit neighbour offsets: an independent oracle. */
function floodLabels(mask: Uint8Array, dims: Vec3, conn: Connectivity, sameValue: boolean): Int32Array {
  const [nx, ny, nz] = dims;
  const offsets: Vec3[] = [];
  const twoD = conn === 4 || conn === 8;
  for (let dz = -1; dz <= 1; dz++) for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
    const k = Math.abs(dx) + Math.abs(dy) + Math.abs(dz);
    if (k === 0 || (twoD && dz !== 0)) continue;
    if ((conn === 4 || conn === 6) && k > 1) continue;
    if (conn === 18 && k > 2) continue;
    offsets.push([dx, dy, dz]);
  }
  const labels = new Int32Array(mask.length);
  let next = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || labels[start]) continue;
    labels[start] = ++next;
    const queue = [start];
    while (queue.length) {
      const i = queue.pop()!;
      const x = i % nx, y = Math.floor(i / nx) % ny, z = Math.floor(i / (nx * ny));
      for (const [dx, dy, dz] of offsets) {
        const X = x + dx, Y = y + dy, Z = z + dz;
        if (X < 0 || Y < 0 || Z < 0 || X >= nx || Y >= ny || Z >= nz) continue;
        const j = X + nx * (Y + ny * Z);
        if (!mask[j] || labels[j] || (sameValue && mask[j] !== mask[i])) continue;
        labels[j] = next;
        queue.push(j);
      }
    }
  }
  return labels;
}

test('agrees with a flood-fill oracle on random masks, every connectivity, with and without sameValue', () => {
  const rng = new Rng(21);
  for (const dims of [[9, 7, 5], [16, 3, 4], [1, 6, 6]] as Vec3[]) {
    for (const density of [0.3, 0.55]) {
      const mask = new Uint8Array(dims[0] * dims[1] * dims[2]).map(() => (rng.next() < density ? 1 + rng.int(2) : 0));
      for (const conn of [4, 8, 6, 18, 26] as Connectivity[]) {
        for (const sameValue of [false, true]) {
          const cc = connectedComponents(mask, dims, { connectivity: conn, sameValue });
          assert.deepEqual(cc.labels, floodLabels(mask, dims, conn, sameValue), `${dims} density ${density} conn ${conn} sameValue ${sameValue}`);
        }
      }
    }
  }
});

test('largestComponent, keepLargestPerLabel, removeSmallComponents', () => {
  const { mask, dims } = grid('11.2 ...2 3.22');
  assert.deepEqual([...largestComponent(mask, dims, { connectivity: 8 })], [0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 2, 2]);
  // Ties → the component found first.
  const tie = grid('11.11');
  assert.deepEqual([...largestComponent(tie.mask, tie.dims)], [1, 1, 0, 0, 0]);
  assert.deepEqual([...largestComponent(new Uint8Array(4), [2, 2, 1])], [0, 0, 0, 0]);
  // Label 1 has components of 2 and 1 voxels, label 2 of 3 and 1.
  const labels = grid('11.1 .... 222. ...2');
  assert.deepEqual([...keepLargestPerLabel(labels.mask, labels.dims, { connectivity: 4 })], [1, 1, 0, 0, 0, 0, 0, 0, 2, 2, 2, 0, 0, 0, 0, 0]);
  assert.deepEqual([...removeSmallComponents(mask, dims, 2, { connectivity: 8 })], [1, 1, 0, 2, 0, 0, 0, 2, 0, 0, 2, 2]);
  assert.deepEqual([...removeSmallComponents(mask, dims, 3, { connectivity: 8 })], [0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 2, 2]);
});

test('componentRuns of the background (for hole filling)', () => {
  const { mask, dims } = grid('111 1.1 111');
  const runs = componentRuns(mask, dims, { of: 'zero', connectivity: 4 });
  assert.equal(runs.count, 1);
  assert.deepEqual([runs.row[0], runs.start[0], runs.end[0], runs.label[0]], [1, 1, 1, 1]);
  assert.deepEqual(runs.sizes, [0, 1]);
});

test('components errors', () => {
  assert.throws(() => connectedComponents(new Uint8Array(5), [2, 2, 1]), /connectedComponents: mask has 5 voxels but dims \[2, 2, 1\] need 4/);
  assert.throws(() => connectedComponents(new Uint8Array(4), [2, 2, 1], { connectivity: 10 as Connectivity }), /connectivity 10 is not one of 4, 8/);
  assert.throws(() => removeSmallComponents(new Uint8Array(4), [2, 2, 1], -1), /minSize must be a voxel count ≥ 0/);
  assert.throws(() => largestComponent(new Uint8Array(4), [2, 0, 1]), /dims must be three positive integers/);
});
