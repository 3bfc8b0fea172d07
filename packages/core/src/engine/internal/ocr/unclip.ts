/**
 * Unclip: DB detection predicts a shrunk text kernel; the text's box is the kernel grown by
 * `distance = area * ratio / perimeter` (PaddleOCR's `unclip_ratio`, 1.5 by default). PaddleOCR offsets the
 * polygon with round joins (pyclipper) and takes the minimum-area rectangle of the result; for a rectangle that is
 * exactly the rectangle with each side pushed out by `distance`, which is what this computes.
 */
import { expandRect, type RotatedRect } from "./minAreaRect.js"

/** The offset distance DB uses for a rectangle of sides `w` and `h`. */
export const unclipDistance = (w: number, h: number, ratio: number): number => {
  const perimeter = 2 * (w + h)
  return perimeter > 0 ? (w * h * ratio) / perimeter : 0
}

/** The text box for a kernel rectangle. */
export const unclip = (rect: RotatedRect, ratio: number): RotatedRect =>
  expandRect(rect, unclipDistance(rect.long, rect.short, ratio))
