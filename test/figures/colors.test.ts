import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONSOLIDATION, GROUND_GLASS, FALSE_NEGATIVE, FALSE_POSITIVE, TRUE_POSITIVE, LESION, LEFT_LUNG, RIGHT_LUNG, PLOT_PALETTE, seriesColor, type Rgb } from '../../src/figures/colors.js';

/** Machado, Oliveira & Fernandes (2009) full-severity dichromacy matrices, on linear RGB. */
const SIMULATIONS: Record<string, number[]> = {
  deuteranopia: [0.367322, 0.860646, -0.227968, 0.280085, 0.672501, 0.047413, -0.01182, 0.04294, 0.968881],
  protanopia: [0.152286, 1.052583, -0.204868, 0.114503, 0.786281, 0.099216, -0.003882, -0.048116, 1.051998],
  tritanopia: [1.255528, -0.076749, -0.178779, -0.078411, 0.930809, 0.147602, 0.004733, 0.691367, 0.3039],
};
const toLinear = (v: number): number => ((v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
const toSrgb = (v: number): number => 255 * (v <= 0.0031308 ? 12.92 * v : 1.055 * Math.max(0, v) ** (1 / 2.4) - 0.055);
function simulate(c: Rgb, m: number[]): number[] {
  const l = c.map(toLinear);
  return [0, 1, 2].map((r) => toSrgb(Math.min(1, Math.max(0, m[3 * r]! * l[0]! + m[3 * r + 1]! * l[1]! + m[3 * r + 2]! * l[2]!))));
}
const distance = (a: number[], b: number[]): number => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

test('TP, FP and FN stay apart for colour-blind readers', () => {
  for (const [name, m] of Object.entries(SIMULATIONS)) {
    const seen = [TRUE_POSITIVE, FALSE_POSITIVE, FALSE_NEGATIVE].map((c) => simulate(c, m));
    for (let i = 0; i < 3; i++) {
      for (let j = i + 1; j < 3; j++) {
        const d = distance(seen[i]!, seen[j]!);
        assert.ok(d > 150, `${name}: colours ${i} and ${j} are only ${d.toFixed(0)} apart`);
      }
    }
  }
});

test('ground glass and consolidation stay apart for colour-blind readers, and apart from the lungs', () => {
  for (const [name, m] of Object.entries(SIMULATIONS)) {
    const d = distance(simulate(GROUND_GLASS, m), simulate(CONSOLIDATION, m));
    assert.ok(d > 150, `${name}: only ${d.toFixed(0)} apart`);
  }
  for (const c of [GROUND_GLASS, CONSOLIDATION]) for (const lung of [RIGHT_LUNG, LEFT_LUNG]) assert.ok(distance([...c], [...lung]) > 100);
});

test('Figure 1 colours: right lung red, left lung green; lesion differs from both', () => {
  assert.ok(RIGHT_LUNG[0] > 200 && RIGHT_LUNG[1] < 100 && RIGHT_LUNG[2] < 100);
  assert.ok(LEFT_LUNG[1] > 150 && LEFT_LUNG[0] < 100 && LEFT_LUNG[2] < 100);
  assert.ok(distance([...LESION], [...RIGHT_LUNG]) > 100 && distance([...LESION], [...LEFT_LUNG]) > 100);
});

test('seriesColor cycles through the palette', () => {
  const cases: [number, Rgb][] = [[0, PLOT_PALETTE[0]!], [7, PLOT_PALETTE[7]!], [8, PLOT_PALETTE[0]!], [-1, PLOT_PALETTE[7]!]];
  for (const [i, c] of cases) assert.deepEqual(seriesColor(i), c);
});
