/**
 * Figure: the regions of a born-digital page drawn with vector graphics (charts, diagrams) that are pictures, found
 * from the paths the page paints (pdfThread's walk of pdf.js's operator list) and its text items. Such a region has
 * no image to extract, so it is cropped from a render of the page like a stencil mask, and its text (axis labels,
 * node names) belongs to the picture rather than to the paragraphs around it.
 *
 * Conservative by design, since a region wrongly taken swallows paragraphs: only paths with curves or slanted
 * segments seed a figure (tables, rules, underlines, highlights, page borders and backgrounds are upright lines and
 * rectangles), the seeds must be many and cover a real area, and a region holding running text is no figure.
 */
import { area, type BBox, intersection, mergeOverlapping, touches, unite } from "./Geometry.js"

/** One painted path, as the walk records it: its box in displayed points and how its segments run. */
export interface PathMark {
  readonly bbox: BBox
  /** Curves and slanted line segments: what charts and diagrams are drawn with, rules and tables are not. */
  readonly complex: number
}

/** A text item as far as figures care: its box and its text. */
export interface FigureText {
  readonly text: string
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

/** Paths this close (points) are parts of one drawing. */
const GAP = 4

/** A figure has at least this many curves and slanted segments. */
const MIN_COMPLEX = 24

/** A figure is at least this wide and tall (points) and covers at least this fraction of the page. */
const MIN_SIDE = 40
const MIN_AREA = 0.02

/** A region over this fraction of the page is the page's own decoration (a background, a frame), not a figure. */
const MAX_AREA = 0.7

/** A path over this fraction of the page is a background or a frame: it joins no figure. */
const BACKGROUND = 0.3

/** More text than this (characters per square point) inside a region is running text, not labels. */
const MAX_TEXT_DENSITY = 0.005

/** An item this long (characters) and this wide (a fraction of the region) is a line of running text. */
const RUNNING_CHARS = 30
const RUNNING_WIDTH = 0.45

/** How far (points) outside a figure's drawing its labels (axis titles, tick labels) may sit. */
const LABEL_REACH = 14

/** A label is short: longer items near a figure are its caption or the text around it. */
const LABEL_CHARS = 24

/** A caption's opening: it goes with the figure, but as its own block. */
export const CAPTION = /^\s*(fig(ure)?|table|tab|chart|diagram|scheme|plate)\.?\s*[\dIVXivx]/i

/** The most paths looked at on a page (a map or a plot of a million points gives its first ones). */
export const MAX_MARKS = 20_000

/**
 * The page's vector figures, boxes in displayed points: clusters of paths (within GAP of one another) seeded by
 * curved or slanted ones, with the upright lines and rectangles touching them (axes, bars, frames), that have
 * MIN_COMPLEX such segments, at least MIN_SIDE a side and MIN_AREA of the page, no more than MAX_AREA of it, no
 * running text inside, and that are not an image's place (`images`, which are figures of their own). Each region
 * takes in the short labels just outside its drawing.
 */
export const vectorFigures = (
  marks: ReadonlyArray<PathMark>,
  items: ReadonlyArray<FigureText>,
  width: number,
  height: number,
  images: ReadonlyArray<BBox> = []
): Array<BBox> => {
  const page = width * height
  if (!(page > 0)) return []
  const usable = marks.filter((m) => area(m.bbox) <= BACKGROUND * page)
  const seeds = cluster(usable.filter((m) => m.complex > 0))
  const grown = seeds
    .filter((c) => c.complex >= MIN_COMPLEX)
    .map((c) => withTouching(c.bbox, usable))
  const figures: Array<BBox> = []
  for (const drawn of mergeOverlapping(grown)) {
    const w = drawn[2] - drawn[0]
    const h = drawn[3] - drawn[1]
    if (w < MIN_SIDE || h < MIN_SIDE || area(drawn) < MIN_AREA * page || area(drawn) > MAX_AREA * page) continue
    if (images.some((image) => intersection(image, drawn) > 0.3 * Math.min(area(image), area(drawn)))) continue
    if (hasRunningText(drawn, items)) continue
    const labelled = withLabels(drawn, items)
    if (area(labelled) > MAX_AREA * page || hasRunningText(labelled, items)) continue
    figures.push(labelled)
  }
  return mergeOverlapping(figures)
}

/** Whether a text item's centre is inside a box. */
export const centreInside = (item: FigureText, box: BBox): boolean => {
  const cx = item.x + item.width / 2
  const cy = item.y + item.height / 2
  return cx >= box[0] && cx <= box[2] && cy >= box[1] && cy <= box[3]
}

/** Clusters of marks within GAP of one another, each with its box and its complex segments. */
const cluster = (marks: ReadonlyArray<PathMark>): Array<{ bbox: BBox; complex: number }> => {
  let clusters: Array<{ bbox: BBox; complex: number }> = []
  // sorted by left edge, a mark need only be tried against the clusters still reaching it
  for (const mark of [...marks].sort((a, b) => a.bbox[0] - b.bbox[0])) {
    const near = clusters.filter((c) => touches(c.bbox, mark.bbox, GAP))
    if (near.length === 0) {
      clusters.push({ bbox: mark.bbox, complex: mark.complex })
      continue
    }
    const merged = near.reduce(
      (acc, c) => ({ bbox: unite(acc.bbox, c.bbox), complex: acc.complex + c.complex }),
      { bbox: mark.bbox, complex: mark.complex }
    )
    clusters = clusters.filter((c) => !near.includes(c))
    clusters.push(merged)
  }
  // growing boxes can come to touch clusters made before them
  let changed = true
  while (changed) {
    changed = false
    outer: for (let i = 0; i < clusters.length; i++) {
      for (let j = i + 1; j < clusters.length; j++) {
        if (!touches(clusters[i]!.bbox, clusters[j]!.bbox, GAP)) continue
        clusters[i] = {
          bbox: unite(clusters[i]!.bbox, clusters[j]!.bbox),
          complex: clusters[i]!.complex + clusters[j]!.complex
        }
        clusters.splice(j, 1)
        changed = true
        break outer
      }
    }
  }
  return clusters
}

/** A drawing's box grown by the paths that cross into it (axes, bars, a frame drawn round it). */
const withTouching = (box: BBox, marks: ReadonlyArray<PathMark>): BBox => {
  let grown = box
  for (const mark of marks) {
    if (mark.complex === 0 && intersection(mark.bbox, box) > 0 || touchesLine(mark.bbox, box)) {
      grown = unite(grown, mark.bbox)
    }
  }
  return grown
}

/** A line (a box with no area) crossing or ending on a box. */
const touchesLine = (line: BBox, box: BBox): boolean =>
  (line[2] - line[0] < 0.5 || line[3] - line[1] < 0.5) && touches(line, box, 0.5)

/** Whether a region holds running text: a long line across much of it, or text packed densely. */
const hasRunningText = (box: BBox, items: ReadonlyArray<FigureText>): boolean => {
  const inside = items.filter((item) => centreInside(item, box))
  const running = inside.some((item) =>
    item.text.trim().length >= RUNNING_CHARS && item.width >= RUNNING_WIDTH * (box[2] - box[0])
  )
  const characters = inside.reduce((n, item) => n + item.text.replace(/\s/g, "").length, 0)
  return running || characters > MAX_TEXT_DENSITY * area(box)
}

/** The region grown by the short labels within LABEL_REACH of it (not captions), once. */
const withLabels = (box: BBox, items: ReadonlyArray<FigureText>): BBox => {
  let grown = box
  for (const item of items) {
    const text = item.text.trim()
    if (text.length === 0 || text.length > LABEL_CHARS || CAPTION.test(text)) continue
    const itemBox: BBox = [item.x, item.y, item.x + item.width, item.y + item.height]
    if (centreInside(item, box) || !touches(itemBox, box, LABEL_REACH)) continue
    if (endsParagraph(item, items)) continue
    grown = unite(grown, itemBox)
  }
  return grown
}

/** Whether an item is the short last line of a paragraph: a line of running text right above it, overlapping it. */
const endsParagraph = (item: FigureText, items: ReadonlyArray<FigureText>): boolean =>
  items.some((other) =>
    other !== item && other.text.trim().length >= RUNNING_CHARS &&
    other.x < item.x + item.width && item.x < other.x + other.width &&
    item.y - other.y > 0 && item.y - other.y <= 1.6 * Math.max(item.height, other.height)
  )
