/** Raster figures: overlays, mosaics, plots, PNG out. No native or canvas package. */
export { type Rgb, BLACK, WHITE, RIGHT_LUNG, LEFT_LUNG, LESION, GROUND_GLASS, CONSOLIDATION, TRUE_POSITIVE, FALSE_POSITIVE, FALSE_NEGATIVE, FIGURE_BACKGROUND, TEXT, AXIS, GRID_LINE, MARKER_LINE, IMAGE_BACKGROUND, IMAGE_TEXT, PLOT_PALETTE, seriesColor, LUNG_LABEL_COLORS } from './colors.js';
export { type RgbImage, type LineOptions, type ResizeImageOptions, createImage, cloneImage, getPixel, setPixel, fillRect, strokeRect, drawLine, drawPolyline, blit, cropImage, scaleNearest, resizeImage, rotateCounterClockwise, blendChannel } from './canvas.js';
export { type TextOptions, type TextSize, GLYPH_WIDTH, GLYPH_HEIGHT, CHAR_ADVANCE, LINE_ADVANCE, glyphRows, measureText, drawText, renderText, fitText } from './text.js';
export { type LegendItem, type LegendOptions, legendStrip } from './legend.js';
export { type CtSliceToRgbOptions, type OverlayOptions, type OverlayLabelsOptions, type ComparisonOverlayOptions, LUNG_WINDOW_HU, COMPARISON_TP, COMPARISON_FP, COMPARISON_FN, ctSliceToRgb, overlayMask, overlayLabels, comparisonLabels, comparisonOverlay } from './overlay.js';
export { type PanelOptions, type GridOptions, type SideBySideOptions, type MosaicTile, type MosaicOptions, panel, grid, stack, sideBySide, mosaic } from './layout.js';
export { type NiceTicksOptions, type NiceTicks, type LegendPlacement, type PlotOptions, type LineSeries, type PlotMarker, type LinePlotOptions, type BarSeries, type BarPlotOptions, niceTicks, formatTick, linePlot, barPlot } from './plot.js';
export { toPngImage, figureToPng, saveFigure } from './save.js';
