/**
 * Geometry: boxes in points (left, top, right, bottom; top-left origin) and the few numbers layout takes of lists.
 */

/** A box in points: left, top, right, bottom, with a top-left origin. */
export type BBox = readonly [x1: number, y1: number, x2: number, y2: number]

/** The box around boxes (a loop, not Math.min(...): a page can hold more items than a call has arguments). */
export const union = (boxes: ReadonlyArray<BBox>): BBox => {
  let [x1, y1, x2, y2] = [Infinity, Infinity, -Infinity, -Infinity]
  for (const b of boxes) {
    x1 = Math.min(x1, b[0])
    y1 = Math.min(y1, b[1])
    x2 = Math.max(x2, b[2])
    y2 = Math.max(y2, b[3])
  }
  return [x1, y1, x2, y2]
}

/** A box with each number rounded to a hundredth of a point. */
export const roundBox = (box: BBox): BBox => box.map((n) => Math.round(n * 100) / 100) as unknown as BBox

/** The middle value; of two middle values, the larger. 0 for none. */
export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length === 0 ? 0 : sorted[Math.floor(sorted.length / 2)]!
}

/** How much two boxes overlap horizontally, in points (negative: the gap between them). */
export const overlapX = (a: BBox, b: BBox): number => Math.min(a[2], b[2]) - Math.max(a[0], b[0])
