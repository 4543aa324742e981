import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVolume } from '../../src/volume/volume.js';
import { erode } from '../../src/volume/index.js';
import { anatomicalLungs, keepAnatomicalLabels } from '../../src/lungs/anatomy.js';
import { chestPhantom, count, dice, everythingDark, overlap } from './chest-phantom.js';

test('phantom: a model that marks every dark region — gastric bubble and bowel gas below the lungs are dropped, the lungs kept by side', () => {
  const p = chestPhantom();
  const input = everythingDark(p);
  assert.ok(overlap(input, p.stomach) > 4000 && overlap(input, p.bowel) > 200, 'the input holds the gas');
  const { lungs, removed } = anatomicalLungs(p.ct, input);
  assert.equal(overlap(lungs, p.stomach), 0, 'no gastric bubble');
  assert.equal(overlap(lungs, p.bowel), 0, 'no bowel gas');
  assert.ok(dice(lungs, p.lungs, 1) > 0.98 && dice(lungs, p.lungs, 2) > 0.98, `right ${dice(lungs, p.lungs, 1)}, left ${dice(lungs, p.lungs, 2)}`);
  assert.ok(removed.gasMl > 150, `gas removed: ${removed.gasMl} mL`);
});

test('phantom: the trachea and main bronchi are not lung', () => {
  const p = chestPhantom();
  assert.ok(count(p.trachea) > 500);
  const { lungs } = anatomicalLungs(p.ct, everythingDark(p));
  // Where a bronchus enters the lung, lumen enclosed by lung in a slice is filled as lung
  // (as lungmask's hole filling does): a voxel or two of the airway, no more.
  assert.ok(overlap(lungs, p.trachea) <= 0.005 * count(p.trachea), `${overlap(lungs, p.trachea)} of ${count(p.trachea)} airway voxels kept`);
  assert.ok(dice(lungs, p.lungs, 1) > 0.98 && dice(lungs, p.lungs, 2) > 0.98);
});

test('phantom: lungs that touch in front of the heart are split into right and left correctly', () => {
  const p = chestPhantom({ touching: true });
  const { lungs } = anatomicalLungs(p.ct, everythingDark(p));
  assert.ok(dice(lungs, p.lungs, 1) > 0.97 && dice(lungs, p.lungs, 2) > 0.97, `right ${dice(lungs, p.lungs, 1)}, left ${dice(lungs, p.lungs, 2)}`);
});

test('phantom: a consolidated (white) left lung the model marks stays lung, whole or in part', () => {
  for (const upTo of [1, 0.5]) {
    const p = chestPhantom({ consolidatedHu: 30, consolidatedUpTo: upTo });
    // The model gives both lungs, the consolidated part included.
    const input = createVolume(Uint8Array.from(p.lungs.data, (v) => +(v > 0)), p.ct.dims, p.ct);
    const { lungs } = anatomicalLungs(p.ct, input);
    assert.ok(overlap(lungs, p.lungs, 2) / count(p.lungs, 2) > 0.99, `left lung kept: ${overlap(lungs, p.lungs, 2)} of ${count(p.lungs, 2)} (consolidated up to ${upTo})`);
    assert.ok(dice(lungs, p.lungs, 1) > 0.99 && dice(lungs, p.lungs, 2) > 0.99);
  }
});

test('phantom: a severely emphysematous lung (mostly −980 HU, pure air) in the lung fields stays lung, one side or both; the gastric bubble and bowel gas under it are still dropped', () => {
  // Left: without the airways the left lung is a piece of its own, all but pure air.
  for (const emphysema of ['left', 'both'] as const) {
    const p = chestPhantom({ emphysema, trachea: emphysema === 'both' });
    const { lungs, removed } = anatomicalLungs(p.ct, everythingDark(p));
    for (const s of [1, 2]) assert.ok(dice(lungs, p.lungs, s) > 0.97, `${emphysema}: side ${s} Dice ${dice(lungs, p.lungs, s).toFixed(3)}`);
    assert.equal(overlap(lungs, p.stomach), 0, `${emphysema}: no gastric bubble`);
    assert.equal(overlap(lungs, p.bowel), 0, `${emphysema}: no bowel gas`);
    assert.ok(removed.pureAirLungMl > (emphysema === 'both' ? 1500 : 750), `${emphysema}: ${removed.pureAirLungMl.toFixed(0)} mL of pure-air lung kept`);
    assert.ok(removed.droppedGasMl > 150, `${emphysema}: ${removed.droppedGasMl.toFixed(0)} mL of gas dropped`);
  }
  // Without emphysema nothing is kept for being in the lung fields.
  assert.equal(anatomicalLungs(chestPhantom().ct, everythingDark(chestPhantom())).removed.pureAirLungMl, 0);
});

test('phantom: a right pleural effusion stays outside the lung', () => {
  const p = chestPhantom({ effusion: true });
  assert.ok(count(p.effusion) > 1000);
  const input = createVolume(Uint8Array.from(p.lungs.data, (v) => +(v > 0)), p.ct.dims, p.ct);
  const { lungs } = anatomicalLungs(p.ct, input);
  assert.equal(overlap(lungs, p.effusion), 0);
});

test('phantom: the lung parenchyma a model misses at the edges is grown back (air-density tissue joined to its mask)', () => {
  const p = chestPhantom();
  const under = createVolume(erode(p.lungs.data, p.ct.dims, { iterations: 3 }), p.ct.dims, p.ct);
  assert.ok(dice(under, p.lungs) < 0.8);
  const { lungs } = anatomicalLungs(p.ct, under);
  assert.ok(dice(lungs, p.lungs) > 0.98, `Dice ${dice(lungs, p.lungs)}`);
  // lungmask's models keep their own boundary.
  assert.ok(dice(anatomicalLungs(p.ct, under, { grow: false }).lungs, p.lungs) < 0.8);
});

test('phantom: a body with no lungs gives no lungs, whatever gas the model marks', () => {
  const p = chestPhantom({ lungs: false, trachea: false });
  const input = everythingDark(p);
  assert.ok(count(input) > 4000);
  assert.equal(count(anatomicalLungs(p.ct, input).lungs), 0);
});

test('an empty model mask gives an empty label map on the CT\'s grid', () => {
  const p = chestPhantom({ abdominalGas: false });
  const { lungs } = anatomicalLungs(p.ct, createVolume(new Uint8Array(p.ct.data.length), p.ct.dims, p.ct));
  assert.deepEqual(lungs.dims, p.ct.dims);
  assert.equal(count(lungs), 0);
});

test("lungmask's labels (lobes too) keep their values and boundary; gas, airways and detached pieces go", () => {
  const p = chestPhantom();
  // A lobe model's output: upper lobes 1/3, lower lobes 2/5 by height, and the gas it took for lung as 4.
  const [nx, ny] = p.ct.dims;
  const labels = Uint8Array.from(everythingDark(p).data, (v, i) => {
    if (!v) return 0;
    if (!p.lungs.data[i]) return 4;
    const upper = Math.floor(i / (nx * ny)) > 40;
    return p.lungs.data[i] === 1 ? (upper ? 3 : 5) : upper ? 1 : 2;
  });
  const out = keepAnatomicalLabels(p.ct, createVolume(labels, p.ct.dims, p.ct));
  for (let i = 0; i < labels.length; i++) {
    if (out.data[i]) assert.equal(out.data[i], labels[i], 'values kept');
  }
  assert.equal(overlap(out, p.stomach) + overlap(out, p.bowel), 0);
  assert.ok(overlap(out, p.trachea) <= 0.005 * count(p.trachea));
  assert.ok(count(out) / count(p.lungs) > 0.99 && count(out) <= count(p.lungs) + 0.005 * count(p.trachea));
});
