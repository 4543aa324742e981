import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../helpers/shared-data.js';
import { Rng } from '../../src/util/random.js';
import { clahe, createVolume, normalizePercentiles, percentiles, windowLevel, type VoxelArray } from '../../src/volume/index.js';

const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);
const shuffled = <T>(a: T[]) => new Rng(3).shuffle([...a]);

test('percentiles of 1…100 equal numpy\'s default (linear) for every array type', () => {
  const ps = [0, 1, 25, 50, 99, 99.5, 100];
  const numpy = [1.0, 1.99, 25.75, 50.5, 99.01, 99.505, 100.0]; // np.percentile(np.arange(1, 101), ps)
  const values = shuffled(oneToHundred);
  const arrays: VoxelArray[] = [
    new Uint8Array(values), new Int8Array(values), new Int16Array(values), new Uint16Array(values),
    new Int32Array(values), new Uint32Array(values), new Float32Array(values), new Float64Array(values),
  ];
  for (const a of arrays) assert.deepEqual(percentiles(a, ps), numpy, a.constructor.name);
});

test('percentiles: negative integers, duplicates and floats match numpy to the last bit', () => {
  const cases: { data: VoxelArray; ps: number[]; numpy: number[] }[] = [
    { data: new Int16Array([500, -1000, 40, -1000, 40]), ps: [0, 20, 50, 62.5, 100], numpy: [-1000, -1000, 40, 40, 500] },
    { data: new Int16Array([-32768, 32767]), ps: [0, 50, 100], numpy: [-32768, -0.5, 32767] },
    {
      data: new Float64Array([0.1, 0.7, 0.3, 2.5, -1.25, 0.3, 9.0]),
      ps: [0, 10, 33.3, 50, 90, 100],
      numpy: [-1.25, -0.43999999999999995, 0.2995999999999999, 0.3, 5.100000000000002, 9.0],
    },
    { data: new Float32Array([7]), ps: [0, 50, 100], numpy: [7, 7, 7] },
    // Ranges a finite bucket width cannot cover: denormals, infinities, the whole double range.
    { data: new Float64Array([1e-323, 0, 5e-324]), ps: [0, 50, 100], numpy: [0, 5e-324, 1e-323] },
    { data: new Float64Array([Infinity, 1, -Infinity, 2]), ps: [0, 50, 100], numpy: [NaN, 1.5, NaN] }, // numpy's lerp: −∞ + ∞·0
    { data: new Float64Array([1e308, -1e308, 0]), ps: [0, 50, 100], numpy: [-1e308, 0, 1e308] },
  ];
  for (const t of cases) assert.deepEqual(percentiles(t.data, t.ps), t.numpy);
});

test('percentiles: the bucketed quickselect equals a full sort on 20,000 heavy-tailed floats with ties', () => {
  const rng = new Rng(11);
  const data = new Float32Array(20000).map((_, i) => (i % 7 === 0 ? -1000 : Math.exp(rng.normal() * 3)));
  const sorted = Array.from(data).sort((a, b) => a - b);
  const ps = [0, 0.5, 1, 14.2857, 50, 99, 99.99, 100];
  const expected = ps.map((p) => {
    const r = (sorted.length - 1) * (p / 100); // numpy's order of operations
    const lo = Math.floor(r);
    const hi = Math.min(lo + 1, sorted.length - 1);
    const t = r - lo;
    return t >= 0.5 ? sorted[hi]! - (sorted[hi]! - sorted[lo]!) * (1 - t) : sorted[lo]! + (sorted[hi]! - sorted[lo]!) * t;
  });
  assert.deepEqual(percentiles(data, ps), expected);
});

test('percentiles: a mask selects the voxels', () => {
  const data = new Int16Array([10, 20, 30, 40, 50]);
  const mask = new Uint8Array([0, 1, 0, 1, 1]); // 20, 40, 50
  assert.deepEqual(percentiles(data, [0, 50, 100], { mask }), [20, 40, 50]);
  assert.deepEqual(percentiles(new Float32Array(data), [25], { mask }), [30]);
});

test('percentiles errors', () => {
  assert.throws(() => percentiles(new Int16Array(3), [101]), /percentile 101 is outside \[0, 100\]/);
  assert.throws(() => percentiles(new Int16Array(3), [50], { mask: new Uint8Array(2) }), /mask has 2 voxels but the data has 3/);
  assert.throws(() => percentiles(new Int16Array(3), [50], { mask: new Uint8Array(3) }), /no voxels selected/);
  assert.throws(() => percentiles(new Float32Array([1, NaN]), [50]), /holds NaN \(voxel 1\)/);
});

test('normalizePercentiles: clip to [p1, p99] and scale; constant image → zeros', () => {
  const data = new Int16Array(101).map((_, i) => i); // p1 = 1, p99 = 99
  const out = normalizePercentiles(createVolume(data, [101, 1, 1], { spacingMm: [2, 2, 2] }));
  assert.ok(out.data instanceof Float32Array);
  assert.deepEqual(out.spacingMm, [2, 2, 2]);
  const cases: [number, number][] = [[0, 0], [1, 0], [50, 49 / 98], [99, 1], [100, 1]];
  for (const [i, v] of cases) assert.ok(Math.abs(out.data[i]! - v) < 1e-6, `voxel ${i}: ${out.data[i]}`);
  const flat = normalizePercentiles(createVolume(new Float32Array(8).fill(-1000), [2, 2, 2]));
  assert.deepEqual([...flat.data], new Array(8).fill(0));
  const masked = normalizePercentiles(createVolume(new Int16Array([0, 10, 20, 1000]), [4, 1, 1]), { lowPercentile: 0, highPercentile: 100, mask: new Uint8Array([1, 0, 1, 0]) });
  assert.deepEqual([...masked.data], [0, 0.5, 1, 1]);
  assert.throws(() => normalizePercentiles(createVolume(data, [101, 1, 1]), { lowPercentile: 99, highPercentile: 1 }), /lowPercentile 99 is above highPercentile 1/);
});

test('windowLevel: clip and scale to [0, 1]', () => {
  const vol = createVolume(new Int16Array([-1100, -1000, -600, 0, 200]), [5, 1, 1]);
  assert.deepEqual([...windowLevel(vol, { lowHu: -1000, highHu: 0 }).data].map((v) => +v.toFixed(6)), [0, 0, 0.4, 1, 1]);
  assert.deepEqual([...windowLevel(vol).data].map((v) => +v.toFixed(6)), [0.166667, 0.233333, 0.5, 0.9, 1]); // lung window −1350…150
  assert.throws(() => windowLevel(vol, { lowHu: 0, highHu: 0 }), /highHu 0 must be above lowHu 0/);
});

test('clahe: hand-computed cases (clipping, redistribution, half-to-even rounding, OpenCV padding)', () => {
  const cases: { name: string; image: Uint8Array; width: number; height: number; tiles: [number, number]; clipLimit: number; levels: number[] }[] = [
    // 2×2 tiles of 64 px, clip max(1, ⌊2·64/256⌋) = 1: 63 excess → bins 0, 4, …, 248 +1; CDF(100) = 26 + 1 = 27; 27·255/64 = 107.58 → 108.
    { name: 'constant, clipped', image: new Uint8Array(256).fill(100), width: 16, height: 16, tiles: [2, 2], clipLimit: 2, levels: new Array(256).fill(108) },
    // no clipping: plain equalisation, CDF(100) = 64 → 255.
    { name: 'constant, no clip', image: new Uint8Array(256).fill(100), width: 16, height: 16, tiles: [2, 2], clipLimit: 0, levels: new Array(256).fill(255) },
    // one tile of 102 px: CDF(0) = 1 → 255/102 = 2.5 → 2 (half to even; Math.round would give 3).
    { name: 'half to even', image: new Uint8Array(102).fill(200).fill(0, 0, 1), width: 102, height: 1, tiles: [1, 1], clipLimit: 0, levels: [2, ...new Array(101).fill(255)] },
    // 3×1 with 2×1 tiles: OpenCV pads to 4×2 (the divisible height grows by a whole tile), reflect-101:
    // tile 0 = {0, 100, 0, 100}, clip 1 → {0: 2, 100: 1, 128: 1}: LUT(0) = 2·63.75 → 128, LUT(100) = 3·63.75 → 191.
    { name: 'padding', image: new Uint8Array([0, 100, 200]), width: 3, height: 1, tiles: [2, 1], clipLimit: 2, levels: [128, 191, 255] },
  ];
  for (const t of cases) {
    const out = clahe(t.image, t.width, t.height, { tiles: t.tiles, clipLimit: t.clipLimit });
    assert.deepEqual(Array.from(out, (v) => Math.round(v * 255)), t.levels, t.name);
  }
});

test('clahe: equals OpenCV 4.6 createCLAHE().apply pixel for pixel (fixtures from make-clahe-opencv.py)', () => {
  const fixture = JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'test/volume/fixtures/clahe-opencv.json'), 'utf8')) as {
    cases: { width: number; height: number; tiles: [number, number]; clipLimit: number; image: number[]; opencv: number[] }[];
  };
  assert.ok(fixture.cases.length >= 6);
  for (const c of fixture.cases) {
    const out = clahe(new Uint8Array(c.image), c.width, c.height, { tiles: c.tiles, clipLimit: c.clipLimit });
    const levels = Array.from(out, (v) => Math.round(v * 255));
    const wrong = levels.filter((v, i) => v !== c.opencv[i]).length;
    assert.equal(wrong, 0, `${c.width}×${c.height} tiles ${c.tiles} clip ${c.clipLimit}: ${wrong} pixels differ`);
  }
});

test('clahe: float input is quantised by round(v·255) and gives the same output as the 8-bit image', () => {
  const rng = new Rng(5);
  const bytes = new Uint8Array(40 * 30).map(() => rng.int(256));
  const floats = Float32Array.from(bytes, (v) => v / 255);
  assert.deepEqual(clahe(floats, 40, 30), clahe(bytes, 40, 30));
});

test('clahe: nearly invariant to a monotonic intensity change (gamma 0.6) with a high clip limit or none', () => {
  // A CT-like slice: smooth anatomy-scale structure plus noise, in [0, 1].
  const w = 128, h = 128;
  const rng = new Rng(9);
  const image = new Float32Array(w * h);
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i++) {
      const body = ((x - 64) / 58) ** 2 + ((y - 64) / 44) ** 2 < 1 ? 0.55 : 0.05;
      const lung = ((x - 40) / 16) ** 2 + ((y - 62) / 26) ** 2 < 1 || ((x - 88) / 16) ** 2 + ((y - 62) / 26) ** 2 < 1;
      image[i] = Math.min(1, Math.max(0, (lung ? 0.15 : body) + 0.1 * Math.sin(x / 9) * Math.cos(y / 7) + rng.normal() * 0.02));
    }
  }
  const gamma = image.map((v) => v ** 0.6);
  const meanDiff = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;
  const raw = meanDiff(image, gamma);
  for (const clipLimit of [0, 40]) {
    const d = meanDiff(clahe(image, w, h, { clipLimit }), clahe(gamma, w, h, { clipLimit }));
    assert.ok(d < 0.02 && d < raw / 10, `clip ${clipLimit}: mean |CLAHE(img) − CLAHE(img^0.6)| = ${d.toFixed(4)}, raw ${raw.toFixed(4)}`);
  }
  // Not asserted for the default clip 2: there the redistributed counts make the mapping partly linear in the
  // level, and on this image the difference (0.13) is no smaller than the raw one (see clahe's doc comment).
});

test('clahe errors', () => {
  assert.throws(() => clahe(new Uint8Array(10), 3, 3), /slice has 10 pixels but width 3 × height 3 = 9/);
  assert.throws(() => clahe(new Uint8Array(9), 3, 3, { tiles: [0, 8] }), /tiles must be two positive integers/);
  assert.throws(() => clahe(new Uint8Array(9), 3, 3, { bins: 1 }), /bins must be an integer in 2–65536/);
  assert.throws(() => clahe(new Uint8Array(9), 3, 3, { clipLimit: NaN }), /clipLimit must be a finite number/);
  assert.throws(() => clahe(new Uint8Array(9).fill(20), 3, 3, { bins: 16 }), /pixel 0 has level 20 but bins is 16/);
});
