/**
 * Text in figures from a built-in 5×7 bitmap font (a 6×10 cell: one column of
 * spacing, one descender row, one row between lines), so that titles, tick labels
 * and case ids need no font file or native package.
 *
 * The glyphs are the classic 5×7 dot-matrix character set that has circulated in
 * public-domain microcontroller code for decades, re-drawn for this project with
 * real descenders (g j p q y ,) and a few extra symbols figures need: ± × ° µ μ ² ³ · … Δ
 * and the dashes – — and minus sign −. Characters outside the table are drawn as '?'.
 */
import { CovsegError } from '../util/errors.js';
import type { Rgb } from './colors.js';
import { fillRect, createImage, type RgbImage } from './canvas.js';

/** Glyph size in font pixels; a glyph's row r is drawn at y + r * scale. */
export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 8;
/** Horizontal distance between the left edges of successive characters. */
export const CHAR_ADVANCE = 6;
/** Vertical distance between the tops of successive lines. */
export const LINE_ADVANCE = 10;

/**
 * Printable ASCII 32 (space) … 126 (~), in order, 6 glyphs per string, 16 hex digits
 * per glyph: 8 rows top to bottom, one byte per row, bit 4 = leftmost column.
 * Row 6 is the baseline row; row 7 holds descenders only.
 */
const ASCII_GLYPHS = [
  '000000000000000004040404040004000a0a0a00000000000a0a1f0a1f0a0a00040f140e051e04001819020408130300',
  '0c12140815120d000c04080000000000020408080804020008040202020408000004150e150400000004041f04040000',
  '00000000000c04080000001f0000000000000000000c0c0000010204081000000e11131519110e00040c040404040e00',
  '0e11010204081f001f02040201110e0002060a121f0202001f101e0101110e000608101e11110e001f01020408080800',
  '0e11110e11110e000e11110f01020c00000c0c000c0c0000000c0c000c040800020408100804020000001f001f000000',
  '08040201020408000e110102040004000e11010d15150e000e1111111f1111001e11111e11111e000e11101010110e00',
  '1c12111111121c001f10101e10101f001f10101e101010000e11101711110f001111111f111111000e04040404040e00',
  '0702020202120c0011121418141211001010101010101f00111b15151111110011111915131111000e11111111110e00',
  '1e11111e101010000e11111115120d001e11111e141211000f10100e01011e001f040404040404001111111111110e00',
  '11111111110a04001111111515150a0011110a040a1111001111110a040404001f01020408101f000e08080808080e00',
  '00100804020100000e02020202020e00040a1100000000000000000000001f00080402000000000000000e010f110f00',
  '1010161911111e0000000e1010110e0001010d1311110f0000000e111f100e000609081c0808080000000f11110f010e',
  '101016191111110004000c0404040e00020006020202120c10101214181412000c04040404040e0000001a1515111100',
  '000016191111110000000e1111110e0000001e11111e101000000f11110f0101000016191010100000000e100e011e00',
  '08081c08080906000000111111130d0000001111110a04000000111115150a000000110a040a110000001111110f010e',
  '00001f0204081f000204040804040200040404040404040008040402040408000000081502000000',
];

/** Non-ASCII symbols, same encoding. */
const EXTRA_GLYPHS: Record<string, string> = {
  '±': '04041f0404001f00',
  '×': '00110a040a110000',
  '°': '0c12120c00000000',
  'µ': '0000111111131a10',
  'μ': '0000111111131a10',
  '²': '180408101c000000',
  '³': '1804080418000000',
  '·': '0000000400000000',
  '…': '0000000000001500',
  'Δ': '04040a0a11111f00',
  '–': '0000001f00000000',
  '—': '0000001f00000000',
  '−': '0000001f00000000',
};

function parseGlyph(hex: string): Uint8Array {
  const rows = new Uint8Array(GLYPH_HEIGHT);
  for (let r = 0; r < GLYPH_HEIGHT; r++) rows[r] = parseInt(hex.slice(2 * r, 2 * r + 2), 16);
  return rows;
}

/** Glyph rows by code point, built once. */
const GLYPHS: Map<number, Uint8Array> = (() => {
  const map = new Map<number, Uint8Array>();
  const all = ASCII_GLYPHS.join('');
  for (let c = 32; c <= 126; c++) map.set(c, parseGlyph(all.slice((c - 32) * 16, (c - 31) * 16)));
  for (const [ch, hex] of Object.entries(EXTRA_GLYPHS)) map.set(ch.codePointAt(0)!, parseGlyph(hex));
  return map;
})();
const FALLBACK = GLYPHS.get('?'.codePointAt(0)!)!;
const SPACE = GLYPHS.get(32)!;

/** The 8 glyph rows (bit 4 = leftmost column) drawn for character `ch`: '?' for unknown characters, a blank for tabs. */
export function glyphRows(ch: string): Uint8Array {
  const code = ch.codePointAt(0) ?? 63;
  if (code === 9) return SPACE;
  return GLYPHS.get(code) ?? FALLBACK;
}

export interface TextOptions {
  /** Text colour. Defaults to near-black [20, 20, 20]. */
  color?: Rgb;
  /** Integer magnification: each font pixel becomes scale×scale pixels. 1 gives 6 px per character, 10 px per line; 2 doubles that. Defaults to 1. */
  scale?: number;
  /** Fill the text's box (see {@link measureText}, grown by `padding`) with this colour first, for text over images. Defaults to no fill (the image shows between strokes). */
  background?: Rgb;
  /** Pixels added on every side of the box filled with `background`. Defaults to 0. */
  padding?: number;
}

export interface TextSize {
  /** Pixels from the left edge of the first glyph to the right edge of the widest line's last glyph. */
  width: number;
  /** Pixels from the top of the first line to the bottom of the last line's descender row. */
  height: number;
}

function checkScale(scale: number): number {
  if (!Number.isInteger(scale) || scale < 1) throw new CovsegError(`text scale must be a positive integer, got ${scale}; bitmap glyphs only scale by whole pixels`);
  return scale;
}

/**
 * The box `text` covers when drawn at `scale`. Lines split at '\n'; each character
 * advances 6 font pixels, the last one only its 5-pixel glyph.
 */
export function measureText(text: string, options: { scale?: number } = {}): TextSize {
  const scale = checkScale(options.scale ?? 1);
  const lines = text.split('\n');
  const longest = Math.max(...lines.map((l) => [...l].length));
  return {
    width: longest === 0 ? 0 : (longest * CHAR_ADVANCE - (CHAR_ADVANCE - GLYPH_WIDTH)) * scale,
    height: ((lines.length - 1) * LINE_ADVANCE + GLYPH_HEIGHT) * scale,
  };
}

/**
 * Draws `text` with the top-left corner of its first glyph cell at (x, y), clipped to
 * the image, and returns the box it covers (as {@link measureText}).
 */
export function drawText(img: RgbImage, x: number, y: number, text: string, options: TextOptions = {}): TextSize {
  const scale = checkScale(options.scale ?? 1);
  const color = options.color ?? [20, 20, 20];
  const size = measureText(text, { scale });
  x = Math.round(x);
  y = Math.round(y);
  if (options.background) {
    const pad = options.padding ?? 0;
    fillRect(img, x - pad, y - pad, size.width + 2 * pad, size.height + 2 * pad, options.background);
  }
  const lines = text.split('\n');
  for (let l = 0; l < lines.length; l++) {
    let cx = x;
    const cy = y + l * LINE_ADVANCE * scale;
    for (const ch of lines[l]!) {
      const rows = glyphRows(ch);
      for (let r = 0; r < GLYPH_HEIGHT; r++) {
        const bits = rows[r]!;
        if (bits === 0) continue;
        for (let c = 0; c < GLYPH_WIDTH; c++) {
          if ((bits >> (GLYPH_WIDTH - 1 - c)) & 1) fillRect(img, cx + c * scale, cy + r * scale, scale, scale, color);
        }
      }
      cx += CHAR_ADVANCE * scale;
    }
  }
  return size;
}

/** A new image just large enough for `text` (plus `padding`), on `background` (white unless given). */
export function renderText(text: string, options: TextOptions = {}): RgbImage {
  const pad = options.padding ?? 0;
  const size = measureText(text, options);
  const img = createImage(Math.max(1, size.width + 2 * pad), size.height + 2 * pad, options.background ?? [255, 255, 255]);
  drawText(img, pad, pad, text, { ...options, background: undefined });
  return img;
}

/**
 * `text` shortened with '…' so that it fits in `maxWidth` pixels at `scale`
 * (whole text if it fits; '' if not even '…' fits). For titles over narrow tiles.
 */
export function fitText(text: string, maxWidth: number, options: { scale?: number } = {}): string {
  if (measureText(text, options).width <= maxWidth) return text;
  const chars = [...text];
  for (let n = chars.length - 1; n >= 0; n--) {
    const candidate = chars.slice(0, n).join('').trimEnd() + '…';
    if (measureText(candidate, options).width <= maxWidth) return candidate;
  }
  return '';
}
