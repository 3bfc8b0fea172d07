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

/** The box around two boxes. */
export const unite = (a: BBox, b: BBox): BBox =>
  [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])]

/** A box's area (0 for an empty or inverted box). */
export const area = (box: BBox): number => Math.max(0, box[2] - box[0]) * Math.max(0, box[3] - box[1])

/** The area two boxes share. */
export const intersection = (a: BBox, b: BBox): number =>
  area([Math.max(a[0], b[0]), Math.max(a[1], b[1]), Math.min(a[2], b[2]), Math.min(a[3], b[3])])

/** Whether two boxes touch or lie within `gap` of each other, both ways. */
export const touches = (a: BBox, b: BBox, gap: number): boolean =>
  a[0] <= b[2] + gap && b[0] <= a[2] + gap && a[1] <= b[3] + gap && b[1] <= a[3] + gap

/** Boxes that overlap replaced by the box around them, until none overlap. */
export const mergeOverlapping = (boxes: ReadonlyArray<BBox>): Array<BBox> => {
  const out: Array<BBox> = []
  for (const box of boxes) {
    let merged = box
    for (let i = out.length - 1; i >= 0; i--) {
      if (intersection(out[i]!, merged) > 0) {
        merged = unite(out[i]!, merged)
        out.splice(i, 1)
      }
    }
    out.push(merged)
  }
  return out.length === boxes.length ? out : mergeOverlapping(out)
}
