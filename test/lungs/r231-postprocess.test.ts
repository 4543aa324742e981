import { test } from 'node:test';
import assert from 'node:assert/strict';
import { postprocessR231 } from '../../src/lungs/r231-postprocess.js';
import type { Vec3 } from '../../src/volume/volume.js';
import { countDiffering, readUint8, reference } from './fixtures.js';

for (const model of ['r231', 'lobes'] as const) {
  test(`post-processing of the reference argmax equals lungmask's voxel for voxel (${model})`, () => {
    const argmax = readUint8(`${model}-argmax.u8.raw.gz`);
    const want = readUint8(`${model}-postprocessed.u8.raw.gz`);
    const dims: Vec3 = [256, 256, argmax.length / 65536];
    const t0 = performance.now();
    const got = postprocessR231(argmax, dims);
    const ms = performance.now() - t0;
    const differing = countDiffering(got, want);
    console.log(`# ${model}: ${differing} of ${got.length} voxels differ; ${ms.toFixed(0)} ms`);
    assert.equal(differing, 0);
  });
}

/** A volume of `slices` identical slices given as rows of digits, '.' = 0. */
function grid(rows: string[], slices = 2): { labels: Uint8Array; dims: Vec3 } {
  const ny = rows.length;
  const nx = rows[0]!.length;
  const labels = new Uint8Array(nx * ny * slices);
  for (let z = 0; z < slices; z++) {
    rows.forEach((r, y) => [...r].forEach((ch, x) => (labels[x + nx * (y + ny * z)] = ch === '.' ? 0 : Number(ch))));
  }
  return { labels, dims: [nx, ny, slices] };
}

/** Slice z as rows of digits. */
function show(labels: Uint8Array, dims: Vec3, z = 0): string[] {
  const rows: string[] = [];
  for (let y = 0; y < dims[1]; y++) {
    let r = '';
    for (let x = 0; x < dims[0]; x++) {
      const v = labels[x + dims[0] * (y + dims[1] * z)]!;
      r += v ? String(v) : '.';
    }
    rows.push(r);
  }
  return rows;
}

// Two identical slices: components are 26-connected in 3D, sizes are twice the pixel
// counts, and no background is enclosed (every voxel lies on the top or bottom face).
const cases: { name: string; input: string[]; want: string[] }[] = [
  {
    name: 'a 4-voxel island of label 2 inside lung 1 joins lung 1',
    input: ['11111.222', '11221.222', '11111.222'],
    want: ['11111.222', '11111.222', '11111.222'],
  },
  {
    name: 'a 2-voxel island is not merged; keep-largest drops it, leaving a hole open to the faces',
    input: ['1111.222', '1121.222', '1111.222'],
    want: ['1111.222', '11.1.222', '1111.222'],
  },
  {
    name: 'a smaller piece of label 1 that touches only lung 2 becomes lung 2',
    input: ['111...222', '111...222', '.....1222', '.....1222', '.....1222'],
    want: ['111...222', '111...222', '.....2222', '.....2222', '.....2222'],
  },
  {
    name: 'a smaller piece with no labelled neighbour keeps its label and keep-largest removes it',
    input: ['111....', '111..1.', '111..11'],
    want: ['111....', '111....', '111....'],
  },
  {
    name: 'diagonal contact makes one 26-connected component, kept whole',
    input: ['11..', '11..', '..11', '..11'],
    want: ['11..', '11..', '..11', '..11'],
  },
  {
    name: 'ties between neighbours go to the lowest component id (the first in raster order)',
    input: ['1111....', '1111....', '........', '...213..', '...213..'],
    want: ['1111....', '1111....', '........', '...223..', '...223..'],
  },
];

for (const c of cases) {
  test(`post-processing: ${c.name}`, () => {
    const { labels, dims } = grid(c.input);
    const out = postprocessR231(labels, dims);
    assert.deepEqual(show(out, dims, 0), c.want);
    assert.deepEqual(show(out, dims, 1), c.want);
  });
}

test('post-processing: a single slice fills background pieces under 64 pixels, also at the border, but not 64', () => {
  // 12×12 slice of lung 1 with an 8×8 = 64 pixel hole and a 3-pixel notch on the border.
  const rows = Array.from({ length: 12 }, (_, y) =>
    Array.from({ length: 12 }, (_, x) => (x >= 2 && x < 10 && y >= 2 && y < 10) || (y === 0 && x < 3) ? '.' : '1').join(''));
  const { labels, dims } = grid(rows, 1);
  const out = show(postprocessR231(labels, dims), dims);
  assert.equal(out[0], '111111111111', 'the 3-pixel border notch is closed');
  assert.equal(out[5], '11........11', 'the 64-pixel hole stays');
  const smaller = grid(rows.map((r, y) => (y === 2 ? '11' + '1' + r.slice(3) : r)), 1);
  assert.equal(show(postprocessR231(smaller.labels, smaller.dims), smaller.dims)[5], '111111111111', 'a 63-pixel hole is filled');
});

test('post-processing: in a volume, holes open to the top or bottom slice stay, enclosed ones are filled', () => {
  const nx = 5;
  const ny = 5;
  const dims: Vec3 = [nx, ny, 3];
  const labels = new Uint8Array(nx * ny * 3).fill(1);
  labels[12] = 0; // centre of slice 0: open to the bottom face
  labels[12 + 25] = 0; // centre of slice 1: connected to it
  for (let z = 0; z < 3; z++) labels[0 + 25 * z] = 0; // a corner column, keeps background present
  const out = postprocessR231(labels, dims);
  assert.equal(out[12], 0);
  assert.equal(out[37], 0);
  const closed = labels.slice();
  closed[12] = 1; // now the slice-1 hole is enclosed
  assert.equal(postprocessR231(closed, dims)[37], 1);
});

test('post-processing checks the array size', () => {
  assert.throws(() => postprocessR231(new Uint8Array(10), [4, 4, 1]), /labels have 10 voxels but dims \[4, 4, 1\] need 16/);
});
