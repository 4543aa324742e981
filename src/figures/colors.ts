/**
 * Every colour a covseg figure uses, with what it means, in one place, so that the
 * database mosaics, training curves, evaluation overlays and segmentation reports
 * all speak the same colour language.
 */

/** An 8-bit sRGB colour [red, green, blue], each 0–255. */
export type Rgb = readonly [number, number, number];

export const BLACK: Rgb = [0, 0, 0];
export const WHITE: Rgb = [255, 255, 255];

/** Right lung: red, as in the method's Figure 1 (lungmask R231 label 1). */
export const RIGHT_LUNG: Rgb = [230, 40, 40];
/** Left lung: green, as in the method's Figure 1 (lungmask R231 label 2). */
export const LEFT_LUNG: Rgb = [40, 200, 60];
/** COVID-19 lesion (ground-glass opacity ∪ consolidation): orange-yellow, visible on both lungs' colours and on grey CT. */
export const LESION: Rgb = [255, 170, 0];
/**
 * The lesion split by density (src/clinical): ground glass yellow, consolidation purple.
 * Apart for colour-blind readers (tested, as TP/FP/FN), and neither is the lungs' red or green.
 */
export const GROUND_GLASS: Rgb = [255, 210, 0];
export const CONSOLIDATION: Rgb = [150, 40, 210];

/**
 * Comparison of a prediction with a reference mask. Chosen so that every pair stays
 * far apart (> 150 in sRGB units) under simulated deuteranopia, protanopia and
 * tritanopia (Machado et al. 2009), and none is the lungs' red or green:
 * - TRUE_POSITIVE yellow: in both prediction and reference;
 * - FALSE_POSITIVE magenta-red: predicted, not in the reference (over-segmentation);
 * - FALSE_NEGATIVE blue: in the reference, missed by the prediction.
 * (Magenta with cyan, a common choice, is only ~40 apart for deuteranopes.)
 */
export const TRUE_POSITIVE: Rgb = [255, 230, 0];
export const FALSE_POSITIVE: Rgb = [220, 0, 120];
export const FALSE_NEGATIVE: Rgb = [30, 120, 255];

/** Figure furniture: page background, text, axes, grid lines, title bars. */
export const FIGURE_BACKGROUND: Rgb = WHITE;
export const TEXT: Rgb = [20, 20, 20];
export const AXIS: Rgb = [60, 60, 60];
export const GRID_LINE: Rgb = [225, 225, 225];
export const MARKER_LINE: Rgb = [110, 110, 110];
/** Behind CT images in mosaics and title bars over them: dark, so the CT's own black air blends in. */
export const IMAGE_BACKGROUND: Rgb = [16, 16, 16];
export const IMAGE_TEXT: Rgb = [240, 240, 240];

/**
 * Plot series, in order: Okabe & Ito's colour-blind-safe palette (blue, vermillion,
 * bluish green, reddish purple, orange, sky blue, yellow, black), the usual choice
 * for scientific figures. Series i takes `PLOT_PALETTE[i % 8]`.
 */
export const PLOT_PALETTE: readonly Rgb[] = [
  [0, 114, 178],
  [213, 94, 0],
  [0, 158, 115],
  [204, 121, 167],
  [230, 159, 0],
  [86, 180, 233],
  [240, 228, 66],
  [0, 0, 0],
];

/** The colour of plot series `index` (0-based), cycling through {@link PLOT_PALETTE}. */
export function seriesColor(index: number): Rgb {
  return PLOT_PALETTE[((index % PLOT_PALETTE.length) + PLOT_PALETTE.length) % PLOT_PALETTE.length]!;
}

/** Colours of lungmask's R231 label map (1 right lung, 2 left lung), for `overlayLabels`. */
export const LUNG_LABEL_COLORS: Readonly<Record<number, Rgb>> = { 1: RIGHT_LUNG, 2: LEFT_LUNG };
