import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/random.js';
import { close, dilate, erode, fillHoles, open, type MorphologyOptions, type Vec3 } from '../../src/volume/index.js';
import { grid, gridText } from './grid-text.js';

test('dilate, erode, close, open on 2D masks (hand-drawn; checked against scipy.ndimage)', () => {
  const cases: { name: string; fn: typeof dilate; input: string; options: MorphologyOptions; expected: string }[] = [
    { name: 'dilate cross', fn: dilate, input: '..... ..... ..1.. ..... .....', options: { plane: '2d' }, expected: '..... ..1.. .111. ..1.. .....' },
    { name: 'dilate box', fn: dilate, input: '..... ..... ..1.. ..... .....', options: { plane: '2d', structure: 'box' }, expected: '..... .111. .111. .111. .....' },
    { name: 'dilate cross ×2', fn: dilate, input: '..... ..... ..1.. ..... .....', options: { plane: '2d', iterations: 2 }, expected: '..1.. .111. 11111 .111. ..1..' },
    { name: 'erode cross', fn: erode, input: '..... .111. .111. .111. .....', options: { plane: '2d' }, expected: '..... ..... ..1.. ..... .....' },
    { name: 'erode cross keeps a plus', fn: erode, input: '..1.. .111. 11111 .111. ..1..', options: { plane: '2d' }, expected: '..... ..1.. .111. ..1.. .....' },
    { name: 'erode box', fn: erode, input: '..1.. .111. 11111 .111. ..1..', options: { plane: '2d', structure: 'box' }, expected: '..... ..... ..1.. ..... .....' },
    // scipy border_value=0: the outside is background, so closing erodes what touches the border.
    { name: 'close at the border', fn: close, input: '11111 11111 11111 ..... .....', options: { plane: '2d' }, expected: '..... .111. .111. ..... .....' },
    // A 1-pixel gap: the box closes it, the cross only where the gap has foreground above and below after dilation.
    { name: 'close box fills a gap', fn: close, input: '...... .11.1. .11.1. .11.1. ......', options: { plane: '2d', structure: 'box' }, expected: '...... .1111. .1111. .1111. ......' },
    { name: 'close cross', fn: close, input: '...... .11.1. .11.1. .11.1. ......', options: { plane: '2d' }, expected: '...... .11.1. .1111. .11.1. ......' },
    { name: 'open cross', fn: open, input: '...... .111.. .1111. .111.. ......', options: { plane: '2d' }, expected: '...... ..11.. .1111. ..11.. ......' },
  ];
  for (const t of cases) {
    const { mask, dims } = grid(t.input);
    assert.equal(gridText(t.fn(mask, dims, t.options), dims), t.expected, t.name);
  }
});

test('3D structure: a single slice erodes away (background above and below), 2D does not', () => {
  const { mask, dims } = grid('..... .111. .111. .111. .....');
  assert.equal(gridText(erode(mask, dims), dims), '..... ..... ..... ..... .....');
  assert.equal(gridText(erode(mask, dims, { plane: '2d' }), dims), '..... ..... ..1.. ..... .....');
  const stack = grid('... .1. ... | ... ... ...');
  assert.equal(gridText(dilate(stack.mask, stack.dims), stack.dims), '.1. 111 .1. | ... .1. ...');
  assert.equal(gridText(dilate(stack.mask, stack.dims, { plane: '2d' }), stack.dims), '.1. 111 .1. | ... ... ...');
});

/** Brute force: the structure's offsets checked voxel by voxel, outside = 0. */
function reference(mask: Uint8Array, dims: Vec3, op: 'dilate' | 'erode', box: boolean, twoD: boolean): Uint8Array {
  const [nx, ny, nz] = dims;
  const out = new Uint8Array(mask.length);
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
    let any = 0, all = 1;
    for (let dz = -1; dz <= 1; dz++) for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
      const k = Math.abs(dx) + Math.abs(dy) + Math.abs(dz);
      if ((twoD && dz !== 0) || (!box && k > 1)) continue;
      const X = x + dx, Y = y + dy, Z = z + dz;
      const v = X < 0 || Y < 0 || Z < 0 || X >= nx || Y >= ny || Z >= nz ? 0 : mask[X + nx * (Y + ny * Z)]! ? 1 : 0;
      any |= v;
      all &= v;
    }
    out[x + nx * (y + ny * z)] = op === 'dilate' ? any : all;
  }
  return out;
}

test('agrees with a brute-force reference on random masks (byte and word code paths)', () => {
  const rng = new Rng(4);
  for (const dims of [[8, 6, 5], [7, 5, 4], [12, 4, 3], [4, 4, 1]] as Vec3[]) {
    const mask = new Uint8Array(dims[0] * dims[1] * dims[2]).map(() => (rng.next() < 0.6 ? 1 + rng.int(3) : 0));
    for (const structure of ['cross', 'box'] as const) {
      for (const plane of ['2d', '3d'] as const) {
        const opts = { structure, plane };
        const box = structure === 'box', twoD = plane === '2d';
        assert.deepEqual(dilate(mask, dims, opts), reference(mask, dims, 'dilate', box, twoD), `dilate ${dims} ${structure} ${plane}`);
        assert.deepEqual(erode(mask, dims, opts), reference(mask, dims, 'erode', box, twoD), `erode ${dims} ${structure} ${plane}`);
        const closed = reference(reference(mask, dims, 'dilate', box, twoD), dims, 'erode', box, twoD);
        assert.deepEqual(close(mask, dims, opts), closed, `close ${dims} ${structure} ${plane}`);
      }
    }
  }
});

test('fillHoles: a ring in 2D vs a tube in 3D, caps close it, maxHoleSize', () => {
  const ring = '..... .111. .1.1. .111. .....';
  const cap = '..... .111. .111. .111. .....';
  const filled = '..... .111. .111. .111. .....';
  const cases: { name: string; input: string; plane: '2d' | '3d'; maxHoleSize?: number; expected: string }[] = [
    { name: 'ring, 2D', input: ring, plane: '2d', expected: filled },
    { name: 'tube (open at both ends), 2D', input: `${ring} | ${ring} | ${ring}`, plane: '2d', expected: `${filled} | ${filled} | ${filled}` },
    { name: 'tube (open at both ends), 3D', input: `${ring} | ${ring} | ${ring}`, plane: '3d', expected: `${ring} | ${ring} | ${ring}` },
    { name: 'capped tube, 3D', input: `${cap} | ${ring} | ${ring} | ${cap}`, plane: '3d', expected: `${cap} | ${filled} | ${filled} | ${cap}` },
    { name: 'hole touching the border is no hole', input: '111 1.. 111', plane: '2d', expected: '111 1.. 111' },
    // Holes of 1 and 4 pixels: only the small one is filled.
    { name: 'maxHoleSize', input: '....... 111111. 1.1..1. 111..1. ..1111.', plane: '2d', maxHoleSize: 1, expected: '....... 111111. 111..1. 111..1. ..1111.' },
    { name: 'maxHoleSize large enough', input: '....... 111111. 1.1..1. 111..1. ..1111.', plane: '2d', maxHoleSize: 4, expected: '....... 111111. 111111. 111111. ..1111.' },
  ];
  for (const t of cases) {
    const { mask, dims } = grid(t.input);
    const opts = t.maxHoleSize === undefined ? { plane: t.plane } : { plane: t.plane, maxHoleSize: t.maxHoleSize };
    assert.equal(gridText(fillHoles(mask, dims, opts), dims), t.expected, t.name);
  }
});

test('fillHoles: background connectivity decides whether a pocket open only diagonally is a hole', () => {
  const pocket = '..... .111. .1.1. .11.. .....'; // (2, 2) touches the outside only through the corner at (3, 3)
  const cases: { input: string; plane: '2d' | '3d'; connectivity: 4 | 8 | 6 | 18 | 26; expected: string }[] = [
    { input: pocket, plane: '2d', connectivity: 4, expected: '..... .111. .111. .11.. .....' },
    { input: pocket, plane: '2d', connectivity: 8, expected: pocket },
    // 3D: the same pocket between two closed caps; 6 needs a shared face, 18 and 26 also pass the in-plane corner (an edge in 3D).
    { input: `..... .111. .111. .111. ..... | ${pocket} | ..... .111. .111. .111. .....`, plane: '3d', connectivity: 6, expected: `..... .111. .111. .111. ..... | ..... .111. .111. .11.. ..... | ..... .111. .111. .111. .....` },
    { input: `..... .111. .111. .111. ..... | ${pocket} | ..... .111. .111. .111. .....`, plane: '3d', connectivity: 26, expected: `..... .111. .111. .111. ..... | ${pocket} | ..... .111. .111. .111. .....` },
    { input: `..... .111. .111. .111. ..... | ${pocket} | ..... .111. .111. .111. .....`, plane: '3d', connectivity: 18, expected: `..... .111. .111. .111. ..... | ${pocket} | ..... .111. .111. .111. .....` },
  ];
  for (const t of cases) {
    const { mask, dims } = grid(t.input);
    assert.equal(gridText(fillHoles(mask, dims, { plane: t.plane, connectivity: t.connectivity }), dims), t.expected, `${t.plane} ${t.connectivity}`);
  }
  assert.throws(() => fillHoles(new Uint8Array(4), [2, 2, 1], { plane: '2d', connectivity: 6 }), /connectivity 6 does not fit plane '2d'; use 4, 8/);
});

test('morphology errors', () => {
  const m = new Uint8Array(4);
  assert.throws(() => dilate(m, [2, 2, 2]), /dilate: mask has 4 voxels but dims \[2, 2, 2\] need 8/);
  assert.throws(() => erode(m, [2, 2, 1], { iterations: 0 }), /iterations must be a positive integer, got 0/);
  assert.throws(() => close(m, [2, 2, 1], { structure: 'disk' as 'box' }), /structure 'disk' is not one of cross, box/);
  assert.throws(() => open(m, [2, 2, 1], { plane: '4d' as '3d' }), /plane '4d' is not one of 2d, 3d/);
  assert.throws(() => fillHoles(m, [2, 2, 1], { maxHoleSize: -1 }), /maxHoleSize must be a voxel count ≥ 0/);
  assert.throws(() => fillHoles(m, [2, 2, 1], { plane: 'xy' as '2d' }), /fillHoles: plane 'xy' is not one of 2d, 3d/);
});

test('closeDisk2d: the Euclidean disk closing equals a brute-force one (dilate then erode with the disk offsets, outside = background), anisotropic pixels too', async () => {
  const { closeDisk2d } = await import('../../src/volume/index.js');
  const rng = new Rng(7);
  for (const [w, h, sx, sy, r] of [[23, 17, 1, 1, 3], [20, 25, 0.7, 1.2, 2.5], [15, 15, 1, 1, 0]] as const) {
    const mask = Uint8Array.from({ length: w * h }, (_, i) => +(rng.next() < 0.35 && i % w > 1));
    const inDisk = (dx: number, dy: number) => (dx * sx) ** 2 + (dy * sy) ** 2 <= r * r;
    const ext = Math.ceil(r / Math.min(sx, sy)) + 1;
    // Dilation on a grid padded by the disk's reach (outside = background), then erosion of that.
    const W = w + 2 * ext, H = h + 2 * ext;
    const dil = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      for (let dy = -ext; dy <= ext && !dil[y * W + x]; dy++) for (let dx = -ext; dx <= ext; dx++) {
        const u = x + dx - ext, v = y + dy - ext;
        if (inDisk(dx, dy) && u >= 0 && u < w && v >= 0 && v < h && mask[v * w + u]) { dil[y * W + x] = 1; break; }
      }
    }
    const expected = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      let all = 1;
      for (let dy = -ext; dy <= ext && all; dy++) for (let dx = -ext; dx <= ext; dx++) {
        const u = x + ext + dx, v = y + ext + dy;
        if (inDisk(dx, dy) && !(u >= 0 && u < W && v >= 0 && v < H && dil[v * W + u])) { all = 0; break; }
      }
      expected[y * w + x] = all || mask[y * w + x] ? 1 : 0;
    }
    assert.deepEqual(closeDisk2d(mask, w, h, [sx, sy], r), expected, `${w}×${h} at ${sx}×${sy} mm, r ${r}`);
  }
  // Nothing grows into the border: a mask touching the edge stays as it is there.
  const { mask, dims } = grid('111.. 111.. 111.. ..... .....');
  assert.equal(gridText(closeDisk2d(mask, dims[0], dims[1], [1, 1], 2), dims), '111.. 111.. 111.. ..... .....');
});
