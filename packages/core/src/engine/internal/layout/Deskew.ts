/**
 * Deskew: a scanned page lies a few degrees askew (a receipt photographed by hand, a sheet fed crooked), and the
 * layout reads rows and columns from upright boxes. Tilted 3 degrees, the two ends of a 1000-pixel row are 52 pixels
 * apart vertically: a label on the left and its amount on the right sit at the height of different rows, and the
 * upright bounds of neighbouring long lines overlap, so the layout joins rows into one line. The page's skew is read
 * from the OCR lines' polygons; their boxes are laid out turned upright about the page's centre, and the blocks found
 * are turned back (the box around each turned box, so a block still holds its text on the page as it is).
 */
import type { Block } from "../../TextLayout.js"
import type { Point } from "../ocr/minAreaRect.js"
import { type BBox, roundBox, union } from "./Geometry.js"

export type { Point }

/** Skews smaller than this many degrees are left alone: they move a row's ends by under 1% of its length. */
const MIN_SKEW = 0.5

/** Larger skews are not taken for a page's tilt (the lines disagree, or the page is a collage): left alone too. */
const MAX_SKEW = 15

/** Only lines at least this many times longer than high say which way the page runs (a short box's angle is noise). */
const LONG_LINE = 3

/** Fewer long lines than this do not make a page's skew. */
const MIN_LINES = 3

/**
 * The page's skew in degrees (clockwise as displayed, y pointing down), 0 when under MIN_SKEW, above MAX_SKEW or not
 * evident: the length-weighted median, over the long lines, of the angle between a line's direction (its polygon's
 * top and bottom edges, corners in reading order) and the direction text runs on the page as OCR read it (`rotation`
 * degrees clockwise turns the page upright).
 */
export const pageSkew = (polygons: ReadonlyArray<ReadonlyArray<Point>>, rotation: number): number => {
  const expected = { 0: 0, 90: -90, 180: 180, 270: 90 }[rotation] ?? 0
  const angles: Array<{ readonly angle: number; readonly weight: number }> = []
  for (const polygon of polygons) {
    const size = quadSize(polygon)
    if (size === undefined) continue
    const { along, length, height } = size
    if (length < LONG_LINE * height) continue
    const angle = (Math.atan2(along[1], along[0]) * 180) / Math.PI - expected
    angles.push({ angle: ((angle + 540) % 360) - 180, weight: length })
  }
  if (angles.length < MIN_LINES) return 0
  angles.sort((x, y) => x.angle - y.angle)
  const half = angles.reduce((sum, a) => sum + a.weight, 0) / 2
  let seen = 0
  const skew = angles.find((a) => (seen += a.weight) >= half)!.angle
  return Math.abs(skew) < MIN_SKEW || Math.abs(skew) > MAX_SKEW ? 0 : skew
}

/**
 * A line's quad (corners in reading order: top-left, top-right, bottom-right, bottom-left as read): the sum of its
 * top and bottom edges (the way it runs), its length, and its height (the mean of its two sides). Undefined unless
 * it has four corners.
 */
export const quadSize = (
  quad: ReadonlyArray<Point>
): { readonly along: Point; readonly length: number; readonly height: number } | undefined => {
  if (quad.length !== 4) return undefined
  const [a, b, c, d] = [quad[0]!, quad[1]!, quad[2]!, quad[3]!]
  const along: Point = [b[0] - a[0] + c[0] - d[0], b[1] - a[1] + c[1] - d[1]]
  const height = (Math.hypot(d[0] - a[0], d[1] - a[1]) + Math.hypot(c[0] - b[0], c[1] - b[1])) / 2
  return { along, length: Math.hypot(along[0], along[1]) / 2, height }
}

/** `point` turned `degrees` clockwise (as displayed) about `centre`. */
export const turnPoint = (point: Point, degrees: number, centre: Point): Point => {
  const r = (degrees * Math.PI) / 180
  const [cos, sin] = [Math.cos(r), Math.sin(r)]
  const [x, y] = [point[0] - centre[0], point[1] - centre[1]]
  return [centre[0] + x * cos - y * sin, centre[1] + x * sin + y * cos]
}

/** The box around `box` turned `degrees` clockwise about `centre`. */
export const turnBox = (box: BBox, degrees: number, centre: Point): BBox => {
  if (degrees === 0) return box
  const corners: ReadonlyArray<Point> = [[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]]]
  return bounds(corners.map((p) => turnPoint(p, degrees, centre)))
}

/** The upright box around points. */
export const bounds = (points: ReadonlyArray<Point>): BBox => union(points.map(([x, y]) => [x, y, x, y] as const))

/**
 * A block found on the page turned upright, turned back by `degrees` about `centre`: its box, and its cells', each
 * kept within `page` (a box near an edge, turned, can reach past it).
 */
export const turnBlock = (block: Block, degrees: number, centre: Point, page: BBox): Block => {
  const turn = (box: BBox) => {
    const [x1, y1, x2, y2] = turnBox(box, degrees, centre)
    return roundBox([Math.max(page[0], x1), Math.max(page[1], y1), Math.min(page[2], x2), Math.min(page[3], y2)])
  }
  return block.rows === undefined
    ? { ...block, bbox: turn(block.bbox) }
    : {
      ...block,
      bbox: turn(block.bbox),
      rows: block.rows.map((row) => row.map((cell) => ({ ...cell, bbox: turn(cell.bbox) })))
    }
}
