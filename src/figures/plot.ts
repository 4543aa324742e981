/**
 * Plots as pictures: line plots (training loss and Dice per epoch, with the best
 * validation epoch marked) and bar plots with error bars (mean ± std Dice per
 * split). Axes get "nice" ticks (1, 2 or 5 × 10^k), grid lines and a legend.
 */
import { CovsegError } from '../util/errors.js';
import type { Rgb } from './colors.js';
import { AXIS, FIGURE_BACKGROUND, GRID_LINE, MARKER_LINE, TEXT, seriesColor } from './colors.js';
import { blit, createImage, drawLine, drawPolyline, fillRect, rotateCounterClockwise, strokeRect, type RgbImage } from './canvas.js';
import { drawText, fitText, measureText, renderText, GLYPH_HEIGHT } from './text.js';
import { legendStrip, type LegendItem } from './legend.js';

// ---------------------------------------------------------------- ticks

export interface NiceTicksOptions {
  /** About how many intervals to cut the range into; the step is the 1, 2 or 5 × 10^k nearest to range / intervals. Defaults to 5. */
  intervals?: number;
}

export interface NiceTicks {
  /** Distance between ticks: 1, 2 or 5 × 10^k. */
  step: number;
  /** Multiples of `step` inside the range (both ends included), ascending, rounded to `decimals`. */
  values: number[];
  /** Digits after the decimal point that show every tick exactly (0 for steps ≥ 1). */
  decimals: number;
}

/**
 * Tick positions for the axis range `range` = [lo, hi] (Heckbert's "nice numbers"):
 * e.g. [0, 1] → 0, 0.2, …, 1; [0.37, 0.91] → 0.4, 0.5, …, 0.9; [0, 2000] → 0, 500, …, 2000.
 */
export function niceTicks(range: readonly [number, number], options: NiceTicksOptions = {}): NiceTicks {
  const [lo, hi] = range;
  const intervals = options.intervals ?? 5;
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(hi > lo)) {
    throw new CovsegError(`niceTicks: range [${lo}, ${hi}] must be finite with hi > lo`);
  }
  if (!(intervals >= 1)) throw new CovsegError(`niceTicks: intervals must be ≥ 1, got ${intervals}`);
  const raw = (hi - lo) / intervals;
  const exponent = Math.floor(Math.log10(raw));
  const magnitude = 10 ** exponent;
  const fraction = raw / magnitude;
  const nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  // Dividing by a power of ten is exact where multiplying by 10^-k is not (2 × 1e-4 ≠ 0.0002).
  const step = exponent >= 0 ? nice * magnitude : nice / 10 ** -exponent;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  // Integer multiples, then rounding, so 3 × 0.1 prints as 0.3, not 0.30000000000000004.
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const values: number[] = [];
  for (let k = first; k <= last; k++) values.push(Number((k * step).toFixed(decimals)) + 0);
  return { step, values, decimals };
}

/** A tick label: fixed decimals, or exponent form for very large or small numbers. */
export function formatTick(value: number, decimals: number): string {
  if (value === 0) return '0';
  if (Math.abs(value) >= 1e6 || decimals > 5) return value.toExponential(1);
  return value.toFixed(decimals);
}

/** `range` widened outwards to whole steps, and its ticks. */
function niceAxis(range: readonly [number, number], intervals: number): { lo: number; hi: number; ticks: NiceTicks } {
  const first = niceTicks(range, { intervals });
  const lo = Math.floor(range[0] / first.step + 1e-9) * first.step;
  const hi = Math.ceil(range[1] / first.step - 1e-9) * first.step;
  return { lo, hi, ticks: niceTicks([lo, hi], { intervals }) };
}

/** [min, max] of the finite numbers in `arrays`, or undefined when there are none. */
function finiteExtent(arrays: ReadonlyArray<readonly number[]>): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const a of arrays) {
    for (const v of a) {
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  return lo <= hi ? [lo, hi] : undefined;
}

/** Widens a single-value range so it can be drawn. */
function openRange([lo, hi]: [number, number]): [number, number] {
  if (hi > lo) return [lo, hi];
  const half = lo === 0 ? 1 : Math.abs(lo) * 0.1;
  return [lo - half, hi + half];
}

// ---------------------------------------------------------------- frame

/** A figure with its plot area: axes, tick labels, titles around it. */
interface Frame {
  img: RgbImage;
  /** Plot area, in figure pixels: left, top, width, height. */
  x0: number;
  y0: number;
  w: number;
  h: number;
  scale: number;
}

interface FrameSpec {
  width: number;
  height: number;
  scale: number;
  title?: string | undefined;
  xLabel?: string | undefined;
  yLabel?: string | undefined;
  yTickLabels: string[];
  /** Extra room right of the plot area (half the last x tick label). */
  right: number;
  /** A legend to put between the title and the plot area ('above' placement). */
  legendAbove?: RgbImage | undefined;
}

const TICK_LEN = 4;
const GAP = 4;
const PAD = 8;

function checkSize(width: number, height: number, what: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 120 || height < 100) {
    throw new CovsegError(`${what}: figure size ${width}×${height} is too small for axes and labels; use at least 120×100 pixels`);
  }
}

function layoutFrame(spec: FrameSpec): Frame {
  const s = spec.scale;
  const textH = GLYPH_HEIGHT * s;
  const yTickW = Math.max(0, ...spec.yTickLabels.map((l) => measureText(l, { scale: s }).width));
  const left = PAD * s + (spec.yLabel ? textH + 2 * GAP * s : 0) + yTickW + (GAP + TICK_LEN) * s;
  const above = spec.legendAbove ? spec.legendAbove.height + GAP * s : 0;
  const top = (spec.title ? PAD * s + textH + 2 * GAP * s : PAD * s + textH / 2) + above;
  const bottom = (TICK_LEN + GAP) * s + textH + (spec.xLabel ? 2 * GAP * s + textH : 0) + PAD * s;
  const right = Math.max(PAD * s, spec.right + GAP * s);
  const w = spec.width - left - right;
  const h = spec.height - top - bottom;
  if (w < 20 || h < 20) {
    throw new CovsegError(`plot: ${spec.width}×${spec.height} leaves a ${w}×${h} plot area after labels; make the figure larger or the text scale smaller`);
  }
  const img = createImage(spec.width, spec.height, FIGURE_BACKGROUND);
  if (spec.title) {
    const title = fitText(spec.title, spec.width - 2 * PAD * s, { scale: s });
    const titleW = measureText(title, { scale: s }).width;
    // Centred over the plot area, as the legend and x label are, unless that pushes it off the figure.
    const x = Math.min(left + Math.floor((w - titleW) / 2), spec.width - PAD * s - titleW);
    drawText(img, Math.max(PAD * s, x), PAD * s, title, { scale: s, color: TEXT });
  }
  const frame = { img, x0: left, y0: top, w, h, scale: s };
  if (spec.legendAbove) blit(img, spec.legendAbove, left + Math.floor((w - spec.legendAbove.width) / 2), top - above - GAP * s);
  if (spec.xLabel) {
    const label = fitText(spec.xLabel, w, { scale: s });
    drawText(img, left + Math.floor((w - measureText(label, { scale: s }).width) / 2), spec.height - PAD * s - textH, label, { scale: s, color: TEXT });
  }
  if (spec.yLabel) {
    const label = fitText(spec.yLabel, h, { scale: s });
    const rotated = rotateCounterClockwise(renderText(label, { scale: s, color: TEXT, background: FIGURE_BACKGROUND }));
    blit(img, rotated, PAD * s, top + Math.floor((h - rotated.height) / 2));
  }
  return frame;
}

/** Y tick marks and labels left of the area; grid lines go into `area`. */
function drawYTicks(frame: Frame, area: RgbImage, ticks: { py: number; label: string }[]): void {
  const s = frame.scale;
  for (const { py, label } of ticks) {
    drawLine(area, 0, py, area.width - 1, py, GRID_LINE);
    const y = frame.y0 + py;
    drawLine(frame.img, frame.x0 - TICK_LEN * s, y, frame.x0 - 1, y, AXIS, { thickness: 1 });
    const size = measureText(label, { scale: s });
    drawText(frame.img, frame.x0 - (TICK_LEN + GAP) * s - size.width, y - Math.floor((7 * s) / 2), label, { scale: s, color: TEXT });
  }
}

/** X tick marks (optional) and labels under the area; grid lines (optional) go into `area`. */
function drawXTicks(frame: Frame, area: RgbImage, ticks: { px: number; label: string }[], options: { marks: boolean; grid: boolean; maxLabelWidth?: number }): void {
  const s = frame.scale;
  const yBase = frame.y0 + frame.h;
  for (const { px, label } of ticks) {
    if (options.grid) drawLine(area, px, 0, px, area.height - 1, GRID_LINE);
    const x = frame.x0 + px;
    if (options.marks) drawLine(frame.img, x, yBase, x, yBase + TICK_LEN * s - 1, AXIS);
    const text = options.maxLabelWidth === undefined ? label : fitText(label, options.maxLabelWidth, { scale: s });
    const size = measureText(text, { scale: s });
    drawText(frame.img, x - Math.floor(size.width / 2), yBase + (TICK_LEN + GAP) * s, text, { scale: s, color: TEXT });
  }
}

/**
 * Where a plot's legend goes:
 * - 'auto': the corner of the plot area covering the fewest drawn data pixels (top-right first on ties);
 * - 'top-right', 'top-left', 'bottom-right', 'bottom-left': that corner of the plot area;
 * - 'above': one row between the title and the plot area, never over data;
 * - 'none': no legend.
 */
export type LegendPlacement = 'auto' | 'top-right' | 'top-left' | 'bottom-right' | 'bottom-left' | 'above' | 'none';
type Corner = Exclude<LegendPlacement, 'auto' | 'above' | 'none'>;

/** Puts the legend into `area` at a corner, or the emptiest one for 'auto'. */
function placeLegend(area: RgbImage, legend: RgbImage, placement: Corner | 'auto', margin: number): void {
  const spots: Record<Corner, [number, number]> = {
    'top-right': [area.width - legend.width - margin, margin],
    'top-left': [margin, margin],
    'bottom-right': [area.width - legend.width - margin, area.height - legend.height - margin],
    'bottom-left': [margin, area.height - legend.height - margin],
  };
  let best = placement === 'auto' ? 'top-right' : placement;
  if (placement === 'auto') {
    let fewest = Infinity;
    for (const [name, [lx, ly]] of Object.entries(spots) as [keyof typeof spots, [number, number]][]) {
      const covered = countInk(area, lx, ly, legend.width, legend.height);
      if (covered < fewest) {
        fewest = covered;
        best = name;
      }
    }
  }
  const [x, y] = spots[best];
  blit(area, legend, x, y);
}

/** Pixels in a rectangle that are neither background nor grid line: drawn data. */
function countInk(img: RgbImage, x0: number, y0: number, w: number, h: number): number {
  let n = 0;
  const d = img.data;
  for (let y = Math.max(0, y0); y < Math.min(img.height, y0 + h); y++) {
    for (let x = Math.max(0, x0); x < Math.min(img.width, x0 + w); x++) {
      const i = (y * img.width + x) * 3;
      const r = d[i]!;
      const g = d[i + 1]!;
      const b = d[i + 2]!;
      const background = r === FIGURE_BACKGROUND[0] && g === FIGURE_BACKGROUND[1] && b === FIGURE_BACKGROUND[2];
      const gridLine = r === GRID_LINE[0] && g === GRID_LINE[1] && b === GRID_LINE[2];
      if (!background && !gridLine) n++;
    }
  }
  return n;
}

/** A one-row (wrapping) legend for the 'above' placement. */
function legendAbove(items: LegendItem[], width: number, scale: number): RgbImage {
  const natural = legendStrip(items, { scale });
  return natural.width <= width - 2 * PAD * scale ? natural : legendStrip(items, { scale, width: width - 2 * PAD * scale });
}

function finishFrame(frame: Frame, area: RgbImage): RgbImage {
  blit(frame.img, area, frame.x0, frame.y0);
  strokeRect(frame.img, frame.x0 - 1, frame.y0 - 1, frame.w + 2, frame.h + 2, AXIS);
  return frame.img;
}

function defaultScale(width: number): number {
  return width >= 600 ? 2 : 1;
}

// ---------------------------------------------------------------- line plot

/** One curve of a line plot. */
export interface LineSeries {
  /** Legend text, e.g. 'training loss'. */
  name: string;
  /** y values, one per x position; NaN (or a missing tail) leaves a gap. */
  values: readonly number[];
  /** Line colour. Defaults to the series' place in PLOT_PALETTE. */
  color?: Rgb;
  /** Draw dashed (e.g. validation beside a solid training curve). Defaults to false. */
  dashed?: boolean;
}

/** A vertical dashed line at `x`, e.g. the epoch with the best validation loss. */
export interface PlotMarker {
  x: number;
  /** Text written beside the line's top, e.g. 'best epoch 37'. Defaults to none. */
  label?: string;
  /** Defaults to mid grey. */
  color?: Rgb;
}

/** What every plot takes: titles, y range, legend place and size. */
export interface PlotOptions {
  /** Title over the plot. Defaults to none. */
  title?: string;
  /** x-axis title, e.g. 'epoch'. Defaults to none. */
  xLabel?: string;
  /** y-axis title, written vertically, e.g. 'loss (1 − Dice)'. Defaults to none. */
  yLabel?: string;
  /** Fixed y range [lo, hi] (e.g. [0, 1] for Dice); data outside is clipped. Defaults to the data's range widened to whole tick steps. */
  yRange?: readonly [number, number];
  /** Where the legend goes, see {@link LegendPlacement}. Defaults to 'auto' for line plots, 'above' for bar plots (value labels fill the top corners). */
  legend?: LegendPlacement;
  /** Figure width in pixels. Defaults to 800 for line plots, 640 for bar plots. */
  width?: number;
  /** Figure height in pixels. Defaults to 500 for line plots, 480 for bar plots. */
  height?: number;
  /** Text scale (1: 7-px capitals, 2: 14-px). Defaults to 2 for figures ≥ 600 px wide, else 1. */
  scale?: number;
}

export interface LinePlotOptions extends PlotOptions {
  /** The curves, drawn in order (later ones on top). At least one. */
  series: readonly LineSeries[];
  /** x of each value, ascending, length ≥ the longest series. Defaults to 1, 2, …, n (epochs counted from 1). */
  x?: readonly number[];
  /** Vertical dashed lines with labels. Defaults to none. */
  markers?: readonly PlotMarker[];
}

/** A line plot of `options.series` against `options.x`, as a new image. */
export function linePlot(options: LinePlotOptions): RgbImage {
  const width = options.width ?? 800;
  const height = options.height ?? 500;
  checkSize(width, height, 'linePlot');
  const s = options.scale ?? defaultScale(width);
  const { series } = options;
  if (series.length === 0) throw new CovsegError('linePlot: no series to draw; pass at least one { name, values }');
  const n = Math.max(...series.map((se) => se.values.length));
  const xs = options.x ?? Array.from({ length: n }, (_, i) => i + 1);
  if (xs.length < n) {
    throw new CovsegError(`linePlot: x has ${xs.length} values but series '${series.find((se) => se.values.length > xs.length)!.name}' has ${n}; give one x per value`);
  }
  if (!xs.every(Number.isFinite)) throw new CovsegError('linePlot: x values must be finite numbers; drop the missing points from x and every series, or set their y to NaN');
  if (options.yRange && !(options.yRange[1] > options.yRange[0])) {
    throw new CovsegError(`linePlot: yRange [${options.yRange.join(', ')}] must have hi > lo`);
  }

  const xExtent = openRange(finiteExtent([xs.length > 0 ? xs : [0, 1]])!);
  const xTicks = niceTicks(xExtent, { intervals: width >= 600 ? 8 : 5 });
  const yAxis = options.yRange
    ? { lo: options.yRange[0], hi: options.yRange[1], ticks: niceTicks(options.yRange, { intervals: 5 }) }
    : niceAxis(openRange(finiteExtent(series.map((se) => se.values)) ?? [0, 1]), 5);
  const yLabels = yAxis.ticks.values.map((v) => formatTick(v, yAxis.ticks.decimals));
  const xLabels = xTicks.values.map((v) => formatTick(v, xTicks.decimals));
  const placement = options.legend ?? 'auto';
  const legendItems: LegendItem[] = series.map((se, k) => ({ label: se.name, color: se.color ?? seriesColor(k), swatch: se.dashed ? 'dashed' : 'line' }));
  const showLegend = placement !== 'none' && series.some((se) => se.name);
  const frame = layoutFrame({
    width, height, scale: s, title: options.title, xLabel: options.xLabel, yLabel: options.yLabel, yTickLabels: yLabels,
    right: Math.ceil(measureText(xLabels[xLabels.length - 1] ?? '', { scale: s }).width / 2),
    legendAbove: showLegend && placement === 'above' ? legendAbove(legendItems, width, s) : undefined,
  });
  const area = createImage(frame.w, frame.h, FIGURE_BACKGROUND);
  const X = (v: number): number => ((v - xExtent[0]) / (xExtent[1] - xExtent[0])) * (frame.w - 1);
  const Y = (v: number): number => frame.h - 1 - ((v - yAxis.lo) / (yAxis.hi - yAxis.lo)) * (frame.h - 1);

  drawYTicks(frame, area, yAxis.ticks.values.map((v, i) => ({ py: Math.round(Y(v)), label: yLabels[i]! })));
  drawXTicks(frame, area, xTicks.values.map((v, i) => ({ px: Math.round(X(v)), label: xLabels[i]! })), { marks: true, grid: true });

  const thickness = 2;
  series.forEach((se, k) => {
    const points = se.values.map((v, i): [number, number] => (Number.isFinite(v) ? [X(xs[i]!), Y(v)] : [NaN, NaN]));
    drawPolyline(area, points, se.color ?? seriesColor(k), { thickness, ...(se.dashed ? { dash: [8 * s, 5 * s] as const } : {}) });
  });

  // Markers before the legend, so that 'auto' placement sees their labels as taken space.
  for (const m of options.markers ?? []) {
    if (!Number.isFinite(m.x) || m.x < xExtent[0] || m.x > xExtent[1]) continue;
    const px = Math.round(X(m.x));
    const color = m.color ?? MARKER_LINE;
    drawLine(area, px, 0, px, area.height - 1, color, { thickness: s, dash: [6 * s, 4 * s] });
    if (m.label) {
      const size = measureText(m.label, { scale: s });
      const onRight = px + GAP * s + size.width + 2 * s <= area.width;
      const tx = onRight ? px + GAP * s + s : px - GAP * s - s - size.width;
      drawText(area, tx, (GAP + 2) * s, m.label, { scale: s, color: TEXT, background: FIGURE_BACKGROUND, padding: s });
    }
  }
  if (showLegend && placement !== 'above') {
    placeLegend(area, legendStrip(legendItems, { vertical: true, scale: s, frame: GRID_LINE }), placement, GAP * s);
  }
  return finishFrame(frame, area);
}

// ---------------------------------------------------------------- bar plot

/** One set of bars, one bar per category (e.g. the 3D model's Dice per split). */
export interface BarSeries {
  /** Legend text, e.g. '3D U-Net'. */
  name: string;
  /** Bar heights, one per category; NaN draws no bar and the label 'n/a'. */
  values: readonly number[];
  /** Half-lengths of the error bars (e.g. standard deviations), one per category. Defaults to no error bars. */
  errors?: readonly number[];
  /** Bar colour. Defaults to the series' place in PLOT_PALETTE. */
  color?: Rgb;
}

export interface BarPlotOptions extends PlotOptions {
  /** Category names under the bar groups, e.g. ['train', 'validation', 'test']. */
  categories: readonly string[];
  /** One or more series; with several, bars stand side by side in each category and a legend names them. */
  series: readonly BarSeries[];
  /** Write each value (and ± error) over its bar. Defaults to true. */
  valueLabels?: boolean;
  /** Decimals of value labels. Defaults to 2. */
  decimals?: number;
}

/** A grouped bar plot with optional error bars (mean ± std per split), as a new image. */
export function barPlot(options: BarPlotOptions): RgbImage {
  const width = options.width ?? 640;
  const height = options.height ?? 480;
  checkSize(width, height, 'barPlot');
  const s = options.scale ?? defaultScale(width);
  const { categories, series } = options;
  if (categories.length === 0 || series.length === 0) throw new CovsegError('barPlot: needs at least one category and one series');
  for (const se of series) {
    if (se.values.length !== categories.length || (se.errors && se.errors.length !== categories.length)) {
      throw new CovsegError(`barPlot: series '${se.name}' has ${se.values.length} values${se.errors ? ` and ${se.errors.length} errors` : ''} for ${categories.length} categories; give one per category`);
    }
  }
  if (options.yRange && !(options.yRange[1] > options.yRange[0])) throw new CovsegError(`barPlot: yRange [${options.yRange.join(', ')}] must have hi > lo`);
  const decimals = options.decimals ?? 2;
  const showValues = options.valueLabels ?? true;
  const errorOf = (se: BarSeries, i: number): number => (se.errors && Number.isFinite(se.errors[i]) ? Math.abs(se.errors[i]!) : 0);
  const valueText = (se: BarSeries, i: number): string => {
    const v = se.values[i]!;
    if (!Number.isFinite(v)) return 'n/a';
    return se.errors && Number.isFinite(se.errors[i]) ? `${v.toFixed(decimals)}\n±${Math.abs(se.errors[i]!).toFixed(decimals)}` : v.toFixed(decimals);
  };

  const tops = series.map((se) => se.values.map((v, i) => v + errorOf(se, i)));
  const bottoms = series.map((se) => se.values.map((v, i) => v - errorOf(se, i)));
  const extent = finiteExtent([...tops, ...bottoms, [0]])!;
  let yAxis = options.yRange
    ? { lo: options.yRange[0], hi: options.yRange[1], ticks: niceTicks(options.yRange, { intervals: 5 }) }
    : niceAxis(openRange(extent), 5);

  const placement = options.legend ?? 'above';
  const legendItems: LegendItem[] = series.map((se, k) => ({ label: se.name, color: se.color ?? seriesColor(k) }));
  const showLegend = placement !== 'none' && series.length > 1;
  const aboveStrip = showLegend && placement === 'above' ? legendAbove(legendItems, width, s) : undefined;
  const slot = (w: number): number => w / categories.length;
  const scaffold = (): Frame => layoutFrame({
    width, height, scale: s, title: options.title, xLabel: options.xLabel, yLabel: options.yLabel,
    yTickLabels: yAxis.ticks.values.map((v) => formatTick(v, yAxis.ticks.decimals)), right: 0, legendAbove: aboveStrip,
  });
  let frame = scaffold();
  const barW = Math.max(1, Math.floor((slot(frame.w) * 0.7) / series.length));
  const labelScale = series.every((se) => se.values.every((_, i) => measureText(valueText(se, i), { scale: s }).width <= barW + 2 * GAP * s)) ? s : 1;
  const labelH = measureText('0\n0', { scale: labelScale }).height + GAP * s;
  if (showValues && !options.yRange) {
    // Grow the axis by whole steps until the tallest value label fits under the frame top.
    const highest = finiteExtent(tops)?.[1] ?? 0;
    for (let grow = 0; grow < 10 && (1 - (Math.max(highest, 0) - yAxis.lo) / (yAxis.hi - yAxis.lo)) * (frame.h - 1) < labelH; grow++) {
      const hi = yAxis.hi + yAxis.ticks.step;
      yAxis = { lo: yAxis.lo, hi, ticks: niceTicks([yAxis.lo, hi], { intervals: 5 }) };
      frame = scaffold();
    }
  }
  const area = createImage(frame.w, frame.h, FIGURE_BACKGROUND);
  const Y = (v: number): number => frame.h - 1 - ((v - yAxis.lo) / (yAxis.hi - yAxis.lo)) * (frame.h - 1);
  const yLabels = yAxis.ticks.values.map((v) => formatTick(v, yAxis.ticks.decimals));
  drawYTicks(frame, area, yAxis.ticks.values.map((v, i) => ({ py: Math.round(Y(v)), label: yLabels[i]! })));
  const slotW = slot(frame.w);
  drawXTicks(frame, area, categories.map((c, i) => ({ px: Math.round((i + 0.5) * slotW), label: c })), { marks: false, grid: false, maxLabelWidth: Math.floor(slotW) - 2 * s });

  const zero = Math.round(Y(Math.min(Math.max(0, yAxis.lo), yAxis.hi)));
  const capW = Math.max(3, Math.floor(barW / 3));
  series.forEach((se, k) => {
    const color = se.color ?? seriesColor(k);
    se.values.forEach((v, i) => {
      const left = Math.round((i + 0.5) * slotW - (series.length * barW) / 2 + k * barW) + 1;
      const centre = left + Math.floor((barW - 2) / 2);
      let labelY = zero;
      if (Number.isFinite(v)) {
        const top = Math.round(Y(v));
        fillRect(area, left, Math.min(top, zero), barW - 2, Math.abs(zero - top) + 1, color);
        labelY = Math.min(top, zero);
        const e = errorOf(se, i);
        if (e > 0) {
          const eTop = Math.round(Y(v + e));
          const eBottom = Math.round(Y(v - e));
          drawLine(area, centre, eTop, centre, eBottom, AXIS, { thickness: s });
          drawLine(area, centre - capW, eTop, centre + capW, eTop, AXIS, { thickness: s });
          drawLine(area, centre - capW, eBottom, centre + capW, eBottom, AXIS, { thickness: s });
          labelY = Math.min(labelY, eTop);
        }
      }
      if (showValues) {
        const text = valueText(se, i);
        const lines = text.split('\n');
        let y = labelY - GAP * s - measureText(text, { scale: labelScale }).height;
        for (const line of lines) {
          const lw = measureText(line, { scale: labelScale }).width;
          drawText(area, centre - Math.floor(lw / 2), y, line, { scale: labelScale, color: TEXT });
          y += 10 * labelScale;
        }
      }
    });
  });
  if (zero > 0 && zero < area.height - 1) drawLine(area, 0, zero, area.width - 1, zero, AXIS);
  if (showLegend && placement !== 'above') {
    placeLegend(area, legendStrip(legendItems, { vertical: true, scale: s, frame: GRID_LINE }), placement, GAP * s);
  }
  return finishFrame(frame, area);
}
