/**
 * Putting pictures together: a title bar over an image, grids, side-by-side pairs
 * (the method's Figure 2: original beside preprocessed) and labelled mosaics (one
 * tile per case, its case id written on it).
 */
import { CovsegError } from '../util/errors.js';
import type { Rgb } from './colors.js';
import { FIGURE_BACKGROUND, IMAGE_BACKGROUND, IMAGE_TEXT, TEXT } from './colors.js';
import { blit, cloneImage, createImage, type RgbImage } from './canvas.js';
import { drawText, fitText, measureText } from './text.js';

export interface PanelOptions {
  /** Text scale of the title. Defaults to 1 for images under 400 px wide, else 2. */
  scale?: number;
  /** Title bar colour. Defaults to white. */
  background?: Rgb;
  /** Title colour. Defaults to near-black. */
  color?: Rgb;
  /** Where the title sits in its bar: 'left', 'center'. Defaults to 'center'. */
  align?: 'left' | 'center';
}

/**
 * A new image: `img` under a title bar. A title wider than the image is shortened
 * with '…' rather than widening the panel, so panels of one grid keep one width.
 */
export function panel(img: RgbImage, title: string, options: PanelOptions = {}): RgbImage {
  const scale = options.scale ?? (img.width < 400 ? 1 : 2);
  const pad = 4 * scale;
  const text = fitText(title, img.width - 2 * pad, { scale });
  const size = measureText(text || ' ', { scale });
  const barH = size.height + 2 * pad;
  const out = createImage(img.width, img.height + barH, options.background ?? FIGURE_BACKGROUND);
  const x = (options.align ?? 'center') === 'center' ? Math.floor((img.width - size.width) / 2) : pad;
  drawText(out, x, pad, text, { scale, color: options.color ?? TEXT });
  blit(out, img, 0, barH);
  return out;
}

export interface GridOptions {
  /** Images per row. Defaults to ceil(sqrt(n)), a near-square grid. */
  columns?: number;
  /** Pixels between cells and around the grid. Defaults to 4. */
  gap?: number;
  /** Colour between and behind cells. Defaults to white. */
  background?: Rgb;
}

/**
 * A new image with `images` in rows of `columns`, left to right, top to bottom.
 * Every cell is as large as the largest image; smaller images are centred in theirs.
 */
export function grid(images: readonly RgbImage[], options: GridOptions = {}): RgbImage {
  if (images.length === 0) throw new CovsegError('grid: no images to lay out; pass at least one image');
  const columns = options.columns ?? Math.ceil(Math.sqrt(images.length));
  if (!Number.isInteger(columns) || columns < 1) throw new CovsegError(`grid: columns must be a positive integer, got ${columns}`);
  const gap = options.gap ?? 4;
  const cols = Math.min(columns, images.length);
  const rows = Math.ceil(images.length / cols);
  const cellW = Math.max(...images.map((i) => i.width));
  const cellH = Math.max(...images.map((i) => i.height));
  const out = createImage(cols * cellW + (cols + 1) * gap, rows * cellH + (rows + 1) * gap, options.background ?? FIGURE_BACKGROUND);
  images.forEach((img, k) => {
    const c = k % cols;
    const r = Math.floor(k / cols);
    blit(out, img, gap + c * (cellW + gap) + Math.floor((cellW - img.width) / 2), gap + r * (cellH + gap) + Math.floor((cellH - img.height) / 2));
  });
  return out;
}

/**
 * A new image with `images` top to bottom, each at its own height, left-aligned (a
 * picture with its colour key under it, plots of different heights), unlike `grid`,
 * which gives every cell the largest image's size.
 */
export function stack(images: readonly RgbImage[], options: Omit<GridOptions, 'columns'> = {}): RgbImage {
  if (images.length === 0) throw new CovsegError('stack: no images to lay out; pass at least one image');
  const gap = options.gap ?? 4;
  const width = Math.max(...images.map((i) => i.width)) + 2 * gap;
  const height = images.reduce((h, i) => h + i.height, 0) + (images.length + 1) * gap;
  const out = createImage(width, height, options.background ?? FIGURE_BACKGROUND);
  let y = gap;
  for (const img of images) {
    blit(out, img, gap, y);
    y += img.height + gap;
  }
  return out;
}

export interface SideBySideOptions extends Omit<GridOptions, 'columns'> {
  /** Titles over the left and right image, e.g. ['original', 'preprocessed']. Defaults to no titles. */
  titles?: readonly [string, string];
  /** Title text scale (see panel). Defaults to panel's choice. */
  scale?: number;
}

/** A new image: `a` left of `b`, each under its title when `titles` is given (the method's Figure 2). */
export function sideBySide(a: RgbImage, b: RgbImage, options: SideBySideOptions = {}): RgbImage {
  const { titles, scale, ...gridOptions } = options;
  const scaleOption = scale === undefined ? {} : { scale };
  const cells = titles ? [panel(a, titles[0], scaleOption), panel(b, titles[1], scaleOption)] : [a, b];
  return grid(cells, { ...gridOptions, columns: 2 });
}

/** One mosaic tile: a picture and the text written on it (e.g. its case id). */
export interface MosaicTile {
  image: RgbImage;
  label: string;
}

export interface MosaicOptions extends GridOptions {
  /** Label text scale. Defaults to 1 for tiles under 400 px wide, else 2. */
  scale?: number;
}

/**
 * A new image: the tiles in a grid, each with its label written in its top-left
 * corner on a dark box (readable over CT without covering much of it). Background
 * defaults to near-black, so tiles of CT read as one picture.
 */
export function mosaic(tiles: readonly MosaicTile[], options: MosaicOptions = {}): RgbImage {
  const labelled = tiles.map(({ image, label }) => {
    const scale = options.scale ?? (image.width < 400 ? 1 : 2);
    const pad = 2 * scale;
    const copy = cloneImage(image);
    drawText(copy, pad, pad, fitText(label, image.width - 2 * pad, { scale }), { scale, color: IMAGE_TEXT, background: IMAGE_BACKGROUND, padding: pad });
    return copy;
  });
  return grid(labelled, { ...options, background: options.background ?? IMAGE_BACKGROUND });
}
