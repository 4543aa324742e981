/**
 * Colour keys: a row of "■ name" items that wraps to fit a width, drawn under
 * overlays (TP/FP/FN, lung sides) and inside plots.
 */
import type { Rgb } from './colors.js';
import { TEXT, WHITE } from './colors.js';
import { createImage, fillRect, strokeRect, drawLine, type RgbImage } from './canvas.js';
import { drawText, measureText, GLYPH_HEIGHT } from './text.js';

/** One entry of a colour key. */
export interface LegendItem {
  label: string;
  color: Rgb;
  /** How the colour is shown: 'box' a filled square (for areas), 'line' a short thick line (for plot series), 'dashed' a dashed line (for markers). Defaults to 'box'. */
  swatch?: 'box' | 'line' | 'dashed';
}

export interface LegendOptions {
  /** Width the strip must fit in; items wrap to new rows. Defaults to the width of one row holding every item. */
  width?: number;
  /** Strip background. Defaults to white. */
  background?: Rgb;
  /** Label colour. Defaults to near-black. */
  textColor?: Rgb;
  /** Text scale (see drawText). Defaults to 1. */
  scale?: number;
  /** Items in one column instead of rows (plot legends). Defaults to false. */
  vertical?: boolean;
  /** Draw a 1-px frame in this colour around the strip. Defaults to no frame. */
  frame?: Rgb;
}

/** Swatch width, gap after a swatch and between items, in font pixels. */
const SWATCH = 8;
const LINE_SWATCH = 16;
const SWATCH_GAP = 3;
const ITEM_GAP = 10;
const PAD = 4;

function itemWidth(item: LegendItem, scale: number): number {
  const swatch = (item.swatch ?? 'box') === 'box' ? SWATCH : LINE_SWATCH;
  return (swatch + SWATCH_GAP) * scale + measureText(item.label, { scale }).width;
}

/** A new image holding the colour key for `items`, wrapped to `options.width`. */
export function legendStrip(items: readonly LegendItem[], options: LegendOptions = {}): RgbImage {
  const scale = options.scale ?? 1;
  const pad = PAD * scale;
  const rowH = (GLYPH_HEIGHT + 4) * scale;
  const widths = items.map((it) => itemWidth(it, scale));
  // Lay items out in rows first, so the strip is exactly as tall as needed.
  const rows: number[][] = [];
  let rowWidth = 0;
  const natural = widths.reduce((s, w) => s + w, 0) + Math.max(0, items.length - 1) * ITEM_GAP * scale + 2 * pad;
  const maxWidth = options.vertical ? Infinity : (options.width ?? natural);
  for (let i = 0; i < items.length; i++) {
    const w = widths[i]!;
    const last = rows[rows.length - 1];
    if (!last || options.vertical || rowWidth + ITEM_GAP * scale + w > maxWidth - 2 * pad) {
      rows.push([i]);
      rowWidth = w;
    } else {
      last.push(i);
      rowWidth += ITEM_GAP * scale + w;
    }
  }
  const width = options.vertical ? Math.max(0, ...widths) + 2 * pad : (options.width ?? natural);
  const img = createImage(Math.max(1, width), Math.max(1, rows.length * rowH + 2 * pad - 4 * scale), options.background ?? WHITE);
  for (let r = 0; r < rows.length; r++) {
    let x = pad;
    const y = pad + r * rowH;
    for (const i of rows[r]!) {
      const item = items[i]!;
      const swatch = item.swatch ?? 'box';
      const mid = y + Math.floor((GLYPH_HEIGHT - 1) * scale / 2);
      if (swatch === 'box') {
        fillRect(img, x, y, SWATCH * scale - scale, GLYPH_HEIGHT * scale - scale, item.color);
        x += SWATCH * scale;
      } else {
        drawLine(img, x, mid, x + LINE_SWATCH * scale - 2 * scale, mid, item.color, {
          thickness: 2 * scale,
          ...(swatch === 'dashed' ? { dash: [3 * scale, 2 * scale] as const } : {}),
        });
        x += LINE_SWATCH * scale;
      }
      x += SWATCH_GAP * scale;
      drawText(img, x, y, item.label, { color: options.textColor ?? TEXT, scale });
      x += measureText(item.label, { scale }).width + ITEM_GAP * scale;
    }
  }
  if (options.frame) strokeRect(img, 0, 0, img.width, img.height, options.frame);
  return img;
}

