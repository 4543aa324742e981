/**
 * The pictures of a follow-up: the scans side by side at matched anatomical levels (the
 * middle of each third of the lungs' cranio-caudal extent, so the same fraction of the lung
 * whatever the slice spacing, field of view or patient position), at one physical scale;
 * and the figures over time.
 */
import { grid, linePlot, panel, stack, type LineSeries, type RgbImage } from '../figures/index.js';
import type { Comparison } from './compare.js';
import { drawLevel, levelKey, levelSlice, lungLevels, type LevelSlice, type SliceSource } from './pictures.js';

/** The levels shown: the middle of the upper, middle and lower third. */
export const COMPARE_LEVELS: readonly { name: string; fraction: number }[] = [
  { name: 'upper third', fraction: 1 / 6 },
  { name: 'middle third', fraction: 1 / 2 },
  { name: 'lower third', fraction: 5 / 6 },
];

/** Lesion as % of lung area on an axial slice. */
export function sliceAffectedPercent(slice: LevelSlice): number {
  const { lungs, classes } = slice;
  let lung = 0;
  let lesion = 0;
  for (let i = 0; i < lungs.data.length; i++) {
    if (!lungs.data[i]) continue;
    lung++;
    if (classes.data[i]) lesion++;
  }
  return lung ? (100 * lesion) / lung : 0;
}

/** One row per level, one column per scan (`titles[k]` over scan k's tiles), all at one physical scale, the colour key below; a single scan's levels in one row. */
export function matchedLevelsPicture(sources: readonly SliceSource[], titles: readonly string[]): RgbImage {
  // The widest field of view fills 384 px; every scan is drawn at that many mm per pixel.
  const mmPerPixel = Math.max(...sources.map((s) => s.sliceMm[0])) / 384;
  const tiles: RgbImage[] = [];
  const shown = new Set<number>();
  const levels = sources.map((src) => lungLevels(src, COMPARE_LEVELS.map((l) => l.fraction)));
  COMPARE_LEVELS.forEach((level, li) => {
    sources.forEach((src, k) => {
      const z = levels[k]![li]!;
      // A single scan whose lungs lie in one slice (an image file) shows that slice once.
      if (sources.length === 1 && shown.has(z)) return;
      shown.add(z);
      const slice = levelSlice(src, z);
      const where = sources.length === 1 && src.nz === 1 ? 'the slice' : level.name;
      const title = `${titles[k] ? `${titles[k]} · ` : ''}${where}: ${sliceAffectedPercent(slice).toFixed(1)}% of the slice's lung`;
      tiles.push(drawLevel(src, z, { title, mmPerPixel }, slice));
    });
  });
  // One scan: its levels in a row; several: a column per scan, a row per level.
  const sheet = grid(tiles, { columns: sources.length === 1 ? tiles.length : sources.length, gap: 6 });
  return stack([sheet, levelKey(sources.every((s) => s.isHu), sheet.width)], { gap: 0 });
}

/** % affected (right, left, both lungs) and consolidation share over time, and the scores over time. */
export function trendPicture(c: Comparison): RgbImage {
  const dated = c.scans.every((s) => s.date);
  const first = dated ? Date.parse(`${c.scans[0]!.date}T00:00:00Z`) : 0;
  const x = c.scans.map((s, k) => (dated ? Math.round((Date.parse(`${s.date}T00:00:00Z`) - first) / 86_400_000) : k + 1));
  const xLabel = dated ? `days since ${c.scans[0]!.date}` : 'scan (in the order given; no dates)';
  const val = (v: number | null) => (v === null ? NaN : v);
  const series: LineSeries[] = [
    { name: 'right lung', values: c.scans.map((s) => s.right) },
    { name: 'left lung', values: c.scans.map((s) => s.left) },
    { name: 'both lungs', values: c.scans.map((s) => s.percentAffected) },
    { name: 'consolidation, % of lesion', values: c.scans.map((s) => val(s.consolidationPercentOfLesion)), dashed: true },
  ].filter((s) => s.values.some(Number.isFinite));
  const affected = linePlot({ series, x, title: '% affected over time', xLabel, yLabel: '%', yRange: [0, 100], width: 800, height: 420 });
  const scoreSeries: LineSeries[] = [
    { name: 'zone score (0–24)', values: c.scans.map((s) => val(s.zoneScore)) },
    { name: 'lobar TSS (0–20)', values: c.scans.map((s) => val(s.lobarTss)) },
    { name: 'Pan score (0–25)', values: c.scans.map((s) => val(s.pan)) },
  ].filter((s) => s.values.some(Number.isFinite));
  const plots = [affected];
  if (scoreSeries.length) plots.push(linePlot({ series: scoreSeries, x, title: 'CT scores over time', xLabel, yLabel: 'score', yRange: [0, 25], width: 800, height: 360 }));
  // The figure font has no arrow.
  const name = (n: string) => c.scans.find((s) => s.name === n)?.date ?? n.slice(n.lastIndexOf('/') + 1);
  const verdicts = c.steps.map((s) => `${name(s.from)} to ${name(s.to)}: ${s.verdict}`).join(' · ');
  return panel(stack(plots, { gap: 6 }), verdicts, { scale: 2, align: 'left' });
}
