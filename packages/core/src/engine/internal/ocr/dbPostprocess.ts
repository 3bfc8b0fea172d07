/**
 * DB (differentiable binarization) post-processing, after PaddleOCR's `DBPostProcess`: threshold the probability
 * map, take each connected region of text pixels, fit its minimum-area rectangle, drop regions that are too small or
 * whose mean probability inside the rectangle is below the box threshold, grow ("unclip") the rectangle to the text's
 * extent, and scale it back from the map to the source image. Connected regions stand in for OpenCV's contours: the
 * hull of a region's pixels is the hull of its outer contour.
 */
import { minAreaRect, type Point, type Quad, type RotatedRect } from "./minAreaRect.js"
import { unclip } from "./unclip.js"

/** DB post-processing settings (PaddleOCR's defaults for PP-OCRv4). */
export interface DbOptions {
  /** A map pixel is text when its probability exceeds this (`det_db_thresh`, 0.3). */
  readonly threshold: number
  /** A region is kept when its mean probability inside its rectangle reaches this (`det_db_box_thresh`, 0.6). */
  readonly boxThreshold: number
  /** How far the kernel is grown (`det_db_unclip_ratio`, 1.5). */
  readonly unclipRatio: number
  /** At most this many regions are considered, largest first (`max_candidates`, 1000). */
  readonly maxCandidates: number
  /** Rectangles whose short side is below this are dropped (before unclip; after unclip the bound is +2). */
  readonly minSize: number
}

/** PaddleOCR's defaults. */
export const defaultDbOptions: DbOptions = {
  threshold: 0.3,
  boxThreshold: 0.6,
  unclipRatio: 1.5,
  maxCandidates: 1000,
  minSize: 3
}

/** A detected text box in source-image coordinates, with its DB score. */
export interface DetectedBox {
  readonly quad: Quad
  readonly score: number
}

interface Region {
  readonly size: number
  /** For each row the region touches: the row, its leftmost and rightmost pixel. */
  readonly rows: Array<[number, number, number]>
}

/** The 8-connected regions of `mask` (1 = text), with per-row extents (enough for the convex hull). */
const regions = (mask: Uint8Array, width: number, height: number): Array<Region> => {
  const labels = new Int32Array(width * height)
  const out: Array<Region> = []
  const stack: Array<number> = []
  let next = 0
  for (let start = 0; start < mask.length; start++) {
    if (mask[start] === 0 || labels[start] !== 0) continue
    next++
    labels[start] = next
    stack.push(start)
    const extents = new Map<number, [number, number, number]>()
    let size = 0
    while (stack.length > 0) {
      const p = stack.pop()!
      size++
      const y = (p / width) | 0
      const x = p - y * width
      const e = extents.get(y)
      if (e === undefined) extents.set(y, [y, x, x])
      else {
        if (x < e[1]) e[1] = x
        if (x > e[2]) e[2] = x
      }
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy
        if (ny < 0 || ny >= height) continue
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx
          if (nx < 0 || nx >= width || (dx === 0 && dy === 0)) continue
          const q = ny * width + nx
          if (mask[q] !== 0 && labels[q] === 0) {
            labels[q] = next
            stack.push(q)
          }
        }
      }
    }
    out.push({ size, rows: [...extents.values()] })
  }
  return out
}

/** The mean of `prob` over the map pixels inside the convex quad (PaddleOCR's `box_score_fast`). */
export const boxScore = (prob: Float32Array, width: number, height: number, quad: Quad): number => {
  const xs = quad.map((p) => p[0])
  const ys = quad.map((p) => p[1])
  const x0 = Math.max(0, Math.min(width - 1, Math.floor(Math.min(...xs))))
  const x1 = Math.max(0, Math.min(width - 1, Math.ceil(Math.max(...xs))))
  const y0 = Math.max(0, Math.min(height - 1, Math.floor(Math.min(...ys))))
  const y1 = Math.max(0, Math.min(height - 1, Math.ceil(Math.max(...ys))))
  let sum = 0
  let n = 0
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (!insideQuad(quad, x, y)) continue
      sum += prob[y * width + x]!
      n++
    }
  }
  return n === 0 ? 0 : sum / n
}

/** Whether (x, y) is inside (or on) the convex quad, with half a pixel of slack (as a filled polygon would be). */
const insideQuad = (quad: Quad, x: number, y: number): boolean => {
  let sign = 0
  for (let i = 0; i < 4; i++) {
    const a = quad[i]!
    const b = quad[(i + 1) % 4]!
    const len = Math.hypot(b[0] - a[0], b[1] - a[1])
    if (len === 0) continue
    const c = ((b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0])) / len
    if (Math.abs(c) <= 0.5) continue
    const s = Math.sign(c)
    if (sign === 0) sign = s
    else if (s !== sign) return false
  }
  return true
}

/**
 * The text boxes of a DB probability map (`width` x `height`), scaled to a `srcWidth` x `srcHeight` image.
 */
export const dbPostprocess = (
  prob: Float32Array,
  width: number,
  height: number,
  srcWidth: number,
  srcHeight: number,
  options: DbOptions = defaultDbOptions
): Array<DetectedBox> => {
  const mask = new Uint8Array(width * height)
  for (let i = 0; i < mask.length; i++) mask[i] = prob[i]! > options.threshold ? 1 : 0
  const found = regions(mask, width, height)
    .sort((a, b) => b.size - a.size)
    .slice(0, options.maxCandidates)
  const sx = srcWidth / width
  const sy = srcHeight / height
  const boxes: Array<DetectedBox> = []
  for (const region of found) {
    const points: Array<Point> = []
    for (const [y, x0, x1] of region.rows) {
      points.push([x0, y])
      if (x1 !== x0) points.push([x1, y])
    }
    const rect: RotatedRect = minAreaRect(points)
    if (rect.short < options.minSize) continue
    const score = boxScore(prob, width, height, rect.corners)
    if (score < options.boxThreshold) continue
    const grown = unclip(rect, options.unclipRatio)
    if (grown.short < options.minSize + 2) continue
    const quad = grown.corners.map(([x, y]): Point => [
      clamp(Math.round(x * sx), 0, srcWidth),
      clamp(Math.round(y * sy), 0, srcHeight)
    ]) as unknown as Quad
    boxes.push({ quad, score })
  }
  return boxes
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v)
