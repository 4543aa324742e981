import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/random.js';
import { distanceTransform, type Vec3 } from '../../src/volume/index.js';

/** Brute force: distance to the nearest background voxel anywhere in the grid (Infinity: none), as scipy's edt. */
function bruteForce(mask: Uint8Array, dims: Vec3, s: Vec3, label?: number): Float64Array {
  const [nx, ny, nz] = dims;
  const fg = (v: number) => (label === undefined ? v !== 0 : v === label);
  const bg: number[][] = [];
  for (let z = 0, i = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++, i++) if (!fg(mask[i]!)) bg.push([x, y, z]);
  const out = new Float64Array(mask.length);
  for (let z = 0, i = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        if (!fg(mask[i]!)) continue;
        let best = Infinity;
        for (const [bx, by, bz] of bg) best = Math.min(best, ((x - bx!) * s[0]) ** 2 + ((y - by!) * s[1]) ** 2 + ((z - bz!) * s[2]) ** 2);
        out[i] = Math.sqrt(best);
      }
    }
  }
  return out;
}

test('distanceTransform equals the brute-force Euclidean distance in mm (random masks, anisotropic voxels, labels)', () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 12; trial++) {
    const dims: Vec3 = [3 + rng.int(9), 3 + rng.int(9), 1 + rng.int(7)];
    const spacing: Vec3 = [0.5 + rng.next() * 2, 0.5 + rng.next() * 2, 0.5 + rng.next() * 5];
    const mask = new Uint8Array(dims[0] * dims[1] * dims[2]);
    const fill = 0.5 + rng.next() * 0.45;
    for (let i = 0; i < mask.length; i++) mask[i] = rng.next() < fill ? 1 + rng.int(2) : 0;
    mask[rng.int(mask.length)] = 0; // at least one background voxel
    for (const label of [undefined, 1, 2]) {
      const expected = bruteForce(mask, dims, spacing, label);
      const got = distanceTransform(mask, dims, spacing, label === undefined ? {} : { label });
      if (got.empty) {
        assert.ok(expected.every((v) => v === 0), `trial ${trial}: empty only without foreground`);
        continue;
      }
      const box = got;
      let max = 0;
      for (let z = 0, i = 0; z < dims[2]; z++) {
        for (let y = 0; y < dims[1]; y++) {
          for (let x = 0; x < dims[0]; x++, i++) {
            const inBox: boolean = x >= box.lo[0] && x < box.hi[0] && y >= box.lo[1] && y < box.hi[1] && z >= box.lo[2] && z < box.hi[2];
            const v: number = inBox ? box.distanceMm[x - box.lo[0] + box.dims[0] * (y - box.lo[1] + box.dims[1] * (z - box.lo[2]))]! : 0;
            const e = expected[i]!;
            if (e === Infinity) assert.equal(v, Infinity);
            else assert.ok(Math.abs(v - e) < 1e-4 * Math.max(1, e), `trial ${trial} label ${label} at ${x},${y},${z}: ${v} vs ${e}`);
            if (e > max) max = e;
          }
        }
      }
      assert.ok(Math.abs(box.maxMm - max) < 1e-4 * Math.max(1, max));
    }
  }
});

test('distanceTransform: the grid border is not background (scipy), an empty mask is empty, bad input is refused', () => {
  // A row of 5 foreground voxels with background only at x = 0: distances grow to the far end.
  const d = distanceTransform(Uint8Array.from([0, 1, 1, 1, 1, 1]), [6, 1, 1], [2, 1, 1]);
  assert.ok(!d.empty);
  assert.deepEqual([...d.distanceMm], [0, 2, 4, 6, 8, 10]);
  assert.equal(d.maxMm, 10);
  assert.deepEqual(distanceTransform(new Uint8Array(4), [2, 2, 1], [1, 1, 1]), { empty: true });
  assert.throws(() => distanceTransform(new Uint8Array(3), [2, 2, 1], [1, 1, 1]), /distanceTransform: mask has 3 voxels/);
  assert.throws(() => distanceTransform(new Uint8Array(4), [2, 2, 1], [1, 0, 1]), /distanceTransform: spacingMm must be three positive numbers/);
});
