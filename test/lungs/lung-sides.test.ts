import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVolume, type LabelMap } from '../../src/volume/volume.js';
import { MAX_HOLE_SHARE, ROLLING_BALL_SHARE, splitLungSides } from '../../src/lungs/lung-sides.js';

// One 2D slice without geometry (an image file), 320 × 256 pixels; shapes are drawn on a
// 160 × 128 plan scaled by S: the right lung (patient's right = image left) an ellipse
// around x 45, the left one around x 115, the mediastinum between.
const S = 2, W = 160 * S, H = 128 * S;
const inEllipse = (x: number, y: number, cx: number, cy: number, ax: number, ay: number) => ((x / S - cx) / ax) ** 2 + ((y / S - cy) / ay) ** 2 <= 1;
const inCircle = (x: number, y: number, cx: number, cy: number, r: number) => (x / S - cx) ** 2 + (y / S - cy) ** 2 <= r * r;
const right = (x: number, y: number) => inEllipse(x, y, 45, 64, 24, 44);
const left = (x: number, y: number) => inEllipse(x, y, 115, 64, 24, 44);

function slice(marked: (x: number, y: number) => boolean): LabelMap {
  const data = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = marked(x, y) ? 1 : 0;
  return createVolume(data, [W, H, 1]);
}
/** Pixels of `region` that `labels` gives `value` (any side when absent), and the region's size. */
function kept(labels: LabelMap, region: (x: number, y: number) => boolean, value?: number): [number, number] {
  let inside = 0, all = 0;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    if (!region(x, y)) continue;
    all++;
    const v = labels.data[y * W + x]!;
    if (value === undefined ? v !== 0 : v === value) inside++;
  }
  return [inside, all];
}

test('splitLungSides: a consolidation at the chest wall (a bite out of the model\'s mask at the pleura) is closed back into its lung', () => {
  // The lesion, as dense as the wall: a disk of radius 2.5 (plan units) centred on the right lung's lateral edge.
  const bite = (x: number, y: number) => right(x, y) && inCircle(x, y, 21.2, 70, 2.5);
  // The rolling ball (√ of the lung's area × the share) is wider than the bite: it dips
  // into its mouth by about a pixel, the rest is closed.
  assert.ok(ROLLING_BALL_SHARE * Math.sqrt(Math.PI * 24 * 44) * S > 2.5 * S * 2);
  const labels = splitLungSides(slice((x, y) => (right(x, y) && !bite(x, y)) || left(x, y)));
  const [inside, all] = kept(labels, bite, 1);
  assert.ok(all > 30 && inside >= 0.75 * all, `${inside} of ${all} bite pixels are right lung`);
  assert.equal(kept(labels, (x, y) => !right(x, y) && !left(x, y))[0] <= 0.01 * kept(labels, right)[1], true, 'hardly anything outside the lungs');
});

test('splitLungSides: a hole inside the lung (a vessel, an enclosed lesion) is filled; an organ ringed by lung (wider than the hole limit) and a wide impression stay out', () => {
  const vessel = (x: number, y: number) => inCircle(x, y, 45, 50, 3);
  // The liver dome under a curved base, ringed by lung in this slice: 20 % of the left lung.
  const dome = (x: number, y: number) => inEllipse(x, y, 115, 70, 11, 20);
  // The heart's impression on the left lung: a shallow concavity of radius 30, far wider than the ball.
  const heart = (x: number, y: number) => inCircle(x, y, 68, 64, 30);
  const area = kept(slice(left), left)[1];
  assert.ok(kept(slice(dome), dome)[1] > MAX_HOLE_SHARE * area, 'the dome is larger than a hole');
  const labels = splitLungSides(slice((x, y) => (right(x, y) && !vessel(x, y)) || (left(x, y) && !dome(x, y) && !heart(x, y))));
  assert.deepEqual(kept(labels, vessel, 1), [kept(labels, vessel)[1], kept(labels, vessel)[1]], 'the vessel is right lung');
  // (The ball rounds the dome's pointed ends off by a pixel or two.)
  const [domeKept, domeAll] = kept(labels, dome);
  assert.ok(domeKept <= 0.02 * domeAll, `${domeKept} of ${domeAll} dome pixels added`);
  const [heartKept, heartAll] = kept(labels, (x, y) => left(x, y) && heart(x, y));
  assert.ok(heartAll > 400 && heartKept <= 0.1 * heartAll, `${heartKept} of ${heartAll} impression pixels added`);
});

test('splitLungSides: the sides are kept apart, a small dark piece outside the lungs (gas) is still dropped', () => {
  // Lungs 6 pixels apart: each side's ball rolls on its own side only.
  const r2 = (x: number, y: number) => inEllipse(x, y, 52, 64, 24, 44), l2 = (x: number, y: number) => inEllipse(x, y, 106, 64, 24, 44);
  const gas = (x: number, y: number) => inCircle(x, y, 80, 120, 2);
  const labels = splitLungSides(slice((x, y) => r2(x, y) || l2(x, y) || gas(x, y)));
  assert.equal(kept(labels, gas)[0], 0, 'the gas piece (< 1 % of the lung) is dropped');
  const [gap] = kept(labels, (x, y) => !r2(x, y) && !l2(x, y) && x > 76 * S && x < 82 * S && y > 40 * S && y < 88 * S);
  assert.equal(gap, 0, 'nothing added between the lungs');
  assert.deepEqual(kept(labels, r2, 1), [kept(labels, r2)[1], kept(labels, r2)[1]]);
  assert.deepEqual(kept(labels, l2, 2), [kept(labels, l2)[1], kept(labels, l2)[1]]);
});
