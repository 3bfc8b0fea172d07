/**
 * The minimum-area enclosing rectangle of a point set (convex hull, then rotating calipers), the replacement for
 * OpenCV's `minAreaRect` in DB post-processing. Corners come back in PaddleOCR's order: the two leftmost points,
 * upper one first (top-left), then top-right, bottom-right, bottom-left.
 */

/** A point (x, y). */
export type Point = readonly [number, number]

/** A quadrilateral: top-left, top-right, bottom-right, bottom-left. */
export type Quad = readonly [Point, Point, Point, Point]

/** A rotated rectangle: its four corners and its side lengths (`short <= long`). */
export interface RotatedRect {
  readonly corners: Quad
  readonly short: number
  readonly long: number
}

const cross = (o: Point, a: Point, b: Point) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

/** The convex hull of `points` (Andrew's monotone chain), counter-clockwise in a y-down frame's terms, no repeats. */
export const convexHull = (points: ReadonlyArray<Point>): Array<Point> => {
  const sorted = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1])
  if (sorted.length <= 2) return sorted
  const lower: Array<Point> = []
  for (const p of sorted) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0) lower.pop()
    lower.push(p)
  }
  const upper: Array<Point> = []
  for (let i = sorted.length - 1; i >= 0; i--) {
    const p = sorted[i]!
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0) upper.pop()
    upper.push(p)
  }
  lower.pop()
  upper.pop()
  return lower.concat(upper)
}

/** Orders four corners as PaddleOCR's `get_mini_boxes` does: top-left, top-right, bottom-right, bottom-left. */
export const orderCorners = (pts: ReadonlyArray<Point>): Quad => {
  const s = [...pts].sort((a, b) => a[0] - b[0])
  const [l1, l2, r1, r2] = s as [Point, Point, Point, Point]
  const [tl, bl] = l1[1] <= l2[1] ? [l1, l2] : [l2, l1]
  const [tr, br] = r1[1] <= r2[1] ? [r1, r2] : [r2, r1]
  return [tl, tr, br, bl]
}

/** The minimum-area rectangle enclosing `points` (at least one point). */
export const minAreaRect = (points: ReadonlyArray<Point>): RotatedRect => {
  const hull = convexHull(points)
  if (hull.length === 0) throw new Error("minAreaRect: no points")
  if (hull.length === 1) {
    const p = hull[0]!
    return { corners: [p, p, p, p], short: 0, long: 0 }
  }
  let best: { area: number; ux: number; uy: number; min0: number; max0: number; min1: number; max1: number } | undefined
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i]!
    const b = hull[(i + 1) % hull.length]!
    const len = Math.hypot(b[0] - a[0], b[1] - a[1])
    if (len === 0) continue
    const ux = (b[0] - a[0]) / len
    const uy = (b[1] - a[1]) / len
    let min0 = Infinity, max0 = -Infinity, min1 = Infinity, max1 = -Infinity
    for (const p of hull) {
      const d0 = p[0] * ux + p[1] * uy
      const d1 = -p[0] * uy + p[1] * ux
      if (d0 < min0) min0 = d0
      if (d0 > max0) max0 = d0
      if (d1 < min1) min1 = d1
      if (d1 > max1) max1 = d1
    }
    const area = (max0 - min0) * (max1 - min1)
    if (best === undefined || area < best.area - 1e-9) best = { area, ux, uy, min0, max0, min1, max1 }
  }
  const { ux, uy, min0, max0, min1, max1 } = best!
  const at = (d0: number, d1: number): Point => [d0 * ux - d1 * uy, d0 * uy + d1 * ux]
  const w = max0 - min0
  const h = max1 - min1
  return {
    corners: orderCorners([at(min0, min1), at(max0, min1), at(max0, max1), at(min0, max1)]),
    short: Math.min(w, h),
    long: Math.max(w, h)
  }
}

/** A rectangle with the same centre and orientation as `rect`, each side longer by `2 * distance`. */
export const expandRect = (rect: RotatedRect, distance: number): RotatedRect => {
  const [tl, tr, , bl] = rect.corners
  const wx = tr[0] - tl[0], wy = tr[1] - tl[1]
  const hx = bl[0] - tl[0], hy = bl[1] - tl[1]
  const w = Math.hypot(wx, wy)
  const h = Math.hypot(hx, hy)
  // unit vectors along the sides; a degenerate side takes the perpendicular of the other
  let ax = w > 0 ? wx / w : 1, ay = w > 0 ? wy / w : 0
  let bx = h > 0 ? hx / h : -ay, by = h > 0 ? hy / h : ax
  if (w === 0 && h > 0) { ax = by; ay = -bx }
  const cx = tl[0] + (wx + hx) / 2
  const cy = tl[1] + (wy + hy) / 2
  const hw = w / 2 + distance
  const hh = h / 2 + distance
  const corner = (s: number, t: number): Point => [cx + s * hw * ax + t * hh * bx, cy + s * hw * ay + t * hh * by]
  return {
    corners: orderCorners([corner(-1, -1), corner(1, -1), corner(1, 1), corner(-1, 1)]),
    short: Math.min(2 * hw, 2 * hh),
    long: Math.max(2 * hw, 2 * hh)
  }
}
