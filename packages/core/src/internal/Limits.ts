/**
 * The engine's size limits in one place: how many pixels a page may have once decoded or rendered, and how many an
 * input may claim before it is refused unread. PDF pages, image pages and OCR share them.
 */

/** The most pixels a page raster has (40 megapixels: 160 MB as RGBA); larger pages render or decode smaller. */
export const MAX_RASTER_PIXELS = 40_000_000

/** The most pixels an input image may have before it is refused (a 10,000 x 10,000 image). */
export const MAX_INPUT_PIXELS = 100_000_000

/** `value` when it is a finite number above 0, else `fallback`: how configured limits fall back to defaults. */
export const positiveOr = (value: number | undefined, fallback: number): number =>
  value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback
