/**
 * RasterFigures: the pictures (photos, charts, diagrams, logos) a page image shows, found from its pixels and the
 * lines OCR read on it, so a scanned page gets picture blocks as a born-digital one does from its images and vector
 * drawings (layout/Figure). The page is looked at as a grid of cells (GRID_CELLS on its long side): a cell is ink
 * when enough of its pixels are not paper (darker than the page's paper, or coloured), and ink under an OCR line is
 * text, not picture. What is left is split into pieces (connected cells); straight thin runs (rules, underlines,
 * table borders, frames) are not pieces themselves but tell which pieces one frame holds.
 *
 * A figure is seeded by a piece that is large (several text lines high and wide) and solid enough (a thin one, a
 * pen's stroke, only with company), and grows over the pieces near it and what its frame holds, then takes in its
 * labels (short OCR lines near it that stand apart from other text), as long as it takes in no running text.
 * Fragments then join when the band between them holds no running text: the white or labels around a figure hold it
 * together (a bar chart's bars, a panel's photos), while paragraphs and captions ("Figure 2.") bound it. A region is
 * refused when it is not a picture: thin or elongated (a rule, a dark table header), at the image's edge (a
 * scanner's border, the table a receipt lies on), too small (a speck, a bullet), mostly text, a ruled table (rules
 * across it with text between), or most of the page. A page read turned is looked at as read.
 *
 * Conservative by design: a region wrongly taken hides its text from the markdown.
 */
import { inverse, type Rotation, rotatePoint } from "../ocr/orientation.js"
// a caption (Figure.ts's rule) goes with the figure as its own block, so it bounds the figure like running text
import { CAPTION } from "./Figure.js"
import type { RawImage } from "../ocr/rgbImage.js"
import { area, type BBox, intersection, mergeOverlapping, touches, unite } from "./Geometry.js"

/** A line OCR read, as far as figures care: its text and its box in the image's pixels. */
export interface RasterLine {
  readonly text: string
  readonly box: readonly [number, number, number, number]
}

/** Cells along the image's long side: a cell is about 2.5 points square on a page rendered at 150 DPI. */
const GRID_CELLS = 330

/** The most pixels of a cell looked at, each way (a larger cell is sampled). */
const CELL_SAMPLES = 5

/** A pixel this much darker (0..255 luminance) than the paper, or this coloured (max - min channel), is not paper. */
const DARKER = 48
const COLOURED = 60

/** A cell is ink when this fraction of its pixels are not paper. */
const INK_CELL = 0.12

/** How far around an OCR line's box (fractions of its height, along and across it) its ink reaches. */
const TEXT_MARGIN_X = 0.3
const TEXT_MARGIN_Y = 0.1

/** A straight run of ink at least this many cells long, and at most RULE_THICKNESS thick, is a rule. */
const RULE_CELLS = 10
const RULE_THICKNESS = 2

/** How many thick cells (where another rule crosses, running on CROSSED cells both ways) a rule runs through. */
const CROSSING = 2
const CROSSED = 2

/** A piece of fewer cells is a speck. */
const MIN_PIECE = 6

/** How far (cells) a frame's corners may reach beyond its straight sides. */
const FRAME_SLACK = 3

/** A seed is at least this many text lines (the page's median line height) high and wide, and this solid. */
const SEED_LINES = 2.5
const SEED_FILL = 0.15

/** A seed less solid than this (strokes, not areas) makes a figure only with MIN_PARTS pieces or more in it. */
const SOLID_FILL = 0.3
const MIN_PARTS = 3

/** How far (text lines) a figure reaches for its pieces and labels. */
const REACH_LINES = 2

/** A label this close (text lines) to other text is part of that text. */
const ISOLATION_LINES = 0.6

/** How far apart (text lines) fragments of one figure may stand in a band free of running text. */
const BAND_LINES = 6

/** A line of running text: this long (characters), or this wide (a fraction of the image). */
const RUNNING_CHARS = 36
const RUNNING_WIDTH = 0.3


/** A region is refused when OCR lines cover more than this fraction of it (a table, a box of text). */
const MAX_TEXT_COVER = 0.3

/** At least this share of a region is picture ink (not text, not rules). */
const MIN_INK = 0.08

/** A region holds at least this much picture ink for its OCR text (a flowchart's boxes hold words). */
const INK_PER_TEXT = 0.5

/** A rule across this share of a region's width is one of a table's row rules (or a chart's grid line). */
const ROW_RULE = 0.7

/** A region with text between its row rules this many times over is a table. */
const TABLE_ROWS = 2

/** A region is at least this fraction of the image, at most MAX_AREA of it, and no more elongated than MAX_ASPECT. */
const MIN_AREA = 0.004
const MAX_AREA = 0.7
const MAX_ASPECT = 7

/** The text line height assumed when OCR read no line (a fraction of the image's long side). */
const DEFAULT_LINE = 0.012

/**
 * The figures of a page image, boxes in the image's pixels, top to bottom as read. `lines` are what OCR read on it
 * (boxes in the same pixels); lines whose centre is inside a figure are its labels. On an image OCR read turned
 * (`rotation`), the figures are found on the page as read (its ink grid and lines turned upright), and given back
 * on the image as it is.
 */
export const rasterFigures = (
  image: RawImage,
  lines: ReadonlyArray<RasterLine>,
  rotation: Rotation = 0
): Array<BBox> => {
  if (image.width < 16 || image.height < 16) return []
  const grid = inkGrid(image)
  if (rotation === 0) return find(grid, lines, image.width, image.height)
  // turned as a whole grid of cells (the image is padded to whole cells, so cells stay cells)
  const [w, h] = [grid.cols * grid.cell, grid.rows * grid.cell]
  const upright = turnedGrid(grid, rotation)
  const [uw, uh] = rotation === 180 ? [w, h] : [h, w]
  const found = find(
    upright,
    lines.map((line) => ({ text: line.text, box: turnBox(line.box, rotation, w, h) })),
    uw,
    uh
  )
  return found.map((box): BBox => {
    const [x1, y1, x2, y2] = turnBox(box, inverse(rotation), uw, uh)
    return [Math.max(0, x1), Math.max(0, y1), Math.min(image.width, x2), Math.min(image.height, y2)]
  })
}

/** The figures on an upright ink grid of a `width` x `height` image read as `lines`. */
const find = (grid: Grid, lines: ReadonlyArray<RasterLine>, width: number, height: number): Array<BBox> => {
  const lineHeight = medianLineHeight(lines, Math.max(width, height))
  maskText(grid, lines)
  const rules = ruleCells(grid)
  const pieces = components(grid, rules)
  const evidence = summedArea(grid, (i) => grid.state[i] === 1 && rules[i] === 0)
  const running = lines.filter((line) => isRunning(line, width)).map((line) => line.box as BBox)
  const boxes = lines.map((line) => line.box as BBox)
  const labels = boxes.filter((_, i) => !isRunning(lines[i]!, width))
  const frames = frameBoxes(grid, rules)
  const reach = REACH_LINES * lineHeight
  const seedSide = SEED_LINES * lineHeight
  const seeds = pieces.filter((p) => side(p.box) >= seedSide && p.cells * grid.cell * grid.cell >= SEED_FILL * area(p.box))
  // specks (a full stop OCR left out, dust) join nothing
  const parts = pieces.filter((p) => p.cells >= MIN_PIECE).map((p) => p.box)
  const regions: Array<BBox> = []
  for (const seed of seeds) {
    if (regions.some((r) => containsCentre(r, seed.box))) continue
    const drawn = grow(seed.box, parts, frames, running, reach, FRAME_SLACK * grid.cell)
    if (drawn === undefined) continue
    const region = withLabels(drawn, labels, boxes, running, reach, ISOLATION_LINES * lineHeight)
    // a lone stroke (a pen's circle round a total, a signature) is no drawing: thin seeds need company
    const solid = seed.cells * grid.cell * grid.cell >= SOLID_FILL * area(seed.box)
    if (!solid && parts.filter((p) => containsCentre(region, p)).length < MIN_PARTS) continue
    regions.push(region)
  }
  const accept = (box: BBox) =>
    accepted(box, lines, evidence, grid, width, height, lineHeight) && !ruledTable(box, grid, rules, lines)
  return banded(mergeOverlapping(regions), running, BAND_LINES * lineHeight, accept)
    .filter(accept)
    .sort((a, b) => a[1] - b[1] || a[0] - b[0])
}

/** A grid turned clockwise by `rotation`. */
const turnedGrid = (grid: Grid, rotation: Rotation): Grid => {
  const { cell, cols, rows, state } = grid
  const [tc, tr] = rotation === 180 ? [cols, rows] : [rows, cols]
  const out = new Uint8Array(state.length)
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const [x, y] = rotation === 90 ? [rows - 1 - r, c] : rotation === 180 ? [cols - 1 - c, rows - 1 - r] : [r, cols - 1 - c]
      out[y * tc + x] = state[r * cols + c]!
    }
  }
  return { cell, cols: tc, rows: tr, state: out }
}

/** A box on a `width` x `height` image, on that image turned clockwise by `rotation` (OCR's `rotatePoint`). */
export const turnBox = (box: BBox, rotation: Rotation, width: number, height: number): BBox => {
  const [ax, ay] = rotatePoint([box[0], box[1]], rotation, width, height)
  const [bx, by] = rotatePoint([box[2], box[3]], rotation, width, height)
  return [Math.min(ax, bx), Math.min(ay, by), Math.max(ax, bx), Math.max(ay, by)]
}

/**
 * Regions side by side or one above the other, within `band` of each other, as one when the box around them takes in
 * no running text and is still a picture: the fragments of one figure (a bar chart's groups of bars, the photos of a
 * panel) stand in one band of white and labels, which paragraphs and captions bound.
 */
const banded = (
  regions: ReadonlyArray<BBox>,
  running: ReadonlyArray<BBox>,
  band: number,
  accept: (box: BBox) => boolean
): Array<BBox> => {
  const out = [...regions]
  for (let i = 0; i < out.length; i++) {
    for (let j = i + 1; j < out.length; j++) {
      const [a, b] = [out[i]!, out[j]!]
      const aligned = Math.min(a[2], b[2]) > Math.max(a[0], b[0]) || Math.min(a[3], b[3]) > Math.max(a[1], b[1])
      if (!aligned || !touches(a, b, band)) continue
      const union = unite(a, b)
      if (!freeOf(running, union) || !accept(union)) continue
      out[i] = union
      out.splice(j, 1)
      // the larger region may now reach regions looked at before
      j = i
    }
  }
  return mergeOverlapping(out)
}

/** The ink grid: per cell, whether it is ink, and whether that ink is text (under an OCR line). */
interface Grid {
  readonly cell: number
  readonly cols: number
  readonly rows: number
  /** 0 paper, 1 ink, 2 text. */
  readonly state: Uint8Array
}

/** The image as ink cells (INK_CELL of their pixels not paper), paper being the image's common light tone. */
const inkGrid = (image: RawImage): Grid => {
  const { data, width, height, channels } = image
  const cell = Math.max(1, Math.ceil(Math.max(width, height) / GRID_CELLS))
  const step = Math.max(1, Math.floor(cell / CELL_SAMPLES))
  const cols = Math.ceil(width / cell)
  const rows = Math.ceil(height / cell)
  const paper = paperTone(image, step)
  const counts = new Uint16Array(cols * rows)
  const samples = new Uint16Array(cols * rows)
  const dark = paper - DARKER
  const alpha = channels === 4
  // across a row, every second sample is skipped, alternately: a one-pixel line is still met every other row
  const across = 2 * step
  for (let y = 0; y < height; y += step) {
    const shift = (y / step) & 1 ? step : 0
    const rowCell = Math.floor(y / cell) * cols
    const rowStart = y * width
    for (let c = 0; c < cols; c++) {
      const end = Math.min(width, (c + 1) * cell)
      let [seen, ink] = [0, 0]
      for (let x = c * cell + shift; x < end; x += across) {
        const p = (rowStart + x) * channels
        seen++
        if (alpha && data[p + 3]! < 128) continue
        const r = data[p]!
        const g = data[p + 1]!
        const b = data[p + 2]!
        const chroma = (r > g ? (r > b ? r : b) : g > b ? g : b) - (r < g ? (r < b ? r : b) : g < b ? g : b)
        if (chroma > COLOURED || (r * 77 + g * 150 + b * 29) >> 8 < dark) ink++
      }
      samples[rowCell + c] += seen
      counts[rowCell + c] += ink
    }
  }
  const state = new Uint8Array(cols * rows)
  for (let i = 0; i < state.length; i++) if (counts[i]! > 0 && counts[i]! >= INK_CELL * samples[i]!) state[i] = 1
  return { cell, cols, rows, state }
}

/** The paper's luminance: the tone three quarters of the sampled pixels are at least as dark as. */
const paperTone = (image: RawImage, step: number): number => {
  const { data, width, height, channels } = image
  const histogram = new Uint32Array(256)
  let n = 0
  const stride = step * 3
  for (let y = 0; y < height; y += stride) {
    for (let x = 0; x < width; x += stride) {
      const p = (y * width + x) * channels
      const lum = channels === 4 && data[p + 3]! < 128 ? 255 : (data[p]! * 77 + data[p + 1]! * 150 + data[p + 2]! * 29) >> 8
      histogram[lum]!++
      n++
    }
  }
  let seen = 0
  for (let tone = 0; tone < 256; tone++) {
    seen += histogram[tone]!
    if (seen >= 0.75 * n) return tone
  }
  return 255
}

/** The median height of the OCR lines (a default share of the image when there are none). */
const medianLineHeight = (lines: ReadonlyArray<RasterLine>, longSide: number): number => {
  const heights = lines.map(({ box }) => box[3] - box[1]).filter((h) => h > 0).sort((a, b) => a - b)
  return heights.length === 0 ? DEFAULT_LINE * longSide : heights[Math.floor(heights.length / 2)]!
}

/** Marks the ink cells under an OCR line (with a margin of TEXT_MARGIN_X and TEXT_MARGIN_Y of its height) as text. */
const maskText = (grid: Grid, lines: ReadonlyArray<RasterLine>): void => {
  const { cell, cols, rows, state } = grid
  for (const { box } of lines) {
    // a detected box can leave a glyph's tail, a stray accent or a word OCR dropped just outside it
    const [dx, dy] = [TEXT_MARGIN_X * (box[3] - box[1]), TEXT_MARGIN_Y * (box[3] - box[1])]
    const [c1, c2] = [Math.max(0, Math.floor((box[0] - dx) / cell)), Math.min(cols, Math.ceil((box[2] + dx) / cell))]
    const [r1, r2] = [Math.max(0, Math.floor((box[1] - dy) / cell)), Math.min(rows, Math.ceil((box[3] + dy) / cell))]
    for (let r = r1; r < r2; r++) {
      for (let c = c1; c < c2; c++) if (state[r * cols + c] === 1) state[r * cols + c] = 2
    }
  }
}

/**
 * The ink cells that are rules: on a straight run (row or column) of RULE_CELLS or more, across which the ink is no
 * more than RULE_THICKNESS cells thick but where another rule crosses it (CROSSING cells).
 */
const ruleCells = (grid: Grid): Uint8Array => {
  const { cols, rows, state } = grid
  const ink = (r: number, c: number) => state[r * cols + c] === 1
  const across = (r: number, c: number, dr: number, dc: number) => {
    let n = 1
    for (let k = 1; k <= RULE_THICKNESS; k++) {
      const [rr, cc] = [r + dr * k, c + dc * k]
      if (rr < 0 || cc < 0 || rr >= rows || cc >= cols || !ink(rr, cc)) break
      n++
    }
    for (let k = 1; k <= RULE_THICKNESS; k++) {
      const [rr, cc] = [r - dr * k, c - dc * k]
      if (rr < 0 || cc < 0 || rr >= rows || cc >= cols || !ink(rr, cc)) break
      n++
    }
    return n
  }
  /** Whether ink runs on for CROSSED cells or more both ways across a line at a cell: a crossing rule (or an area). */
  const crossed = (r: number, c: number, horizontal: boolean) => {
    const [dr, dc] = horizontal ? [1, 0] : [0, 1]
    for (const sign of [1, -1]) {
      for (let k = 1; k <= CROSSED; k++) {
        const [rr, cc] = [r + sign * dr * k, c + sign * dc * k]
        if (rr < 0 || cc < 0 || rr >= rows || cc >= cols || !ink(rr, cc)) return false
      }
    }
    return true
  }
  const rules = new Uint8Array(cols * rows)
  const mark = (horizontal: boolean) => {
    const [lines, length] = horizontal ? [rows, cols] : [cols, rows]
    const at = (line: number, k: number) => (horizontal ? line * cols + k : k * cols + line)
    for (let line = 0; line < lines; line++) {
      let [from, lastThin] = [-1, -1]
      for (let k = 0; k <= length; k++) {
        const [r, c] = horizontal ? [line, k] : [k, line]
        const inked = k < length && ink(r, c)
        if (inked && across(r, c, horizontal ? 1 : 0, horizontal ? 0 : 1) <= RULE_THICKNESS) {
          if (from < 0) from = k
          lastThin = k
          continue
        }
        // a rule crossing another (a table's grid) is thick there for a cell or two, where the other runs on
        if (inked && from >= 0 && k - lastThin <= CROSSING && crossed(r, c, horizontal)) continue
        if (from >= 0 && lastThin + 1 - from >= RULE_CELLS) for (let j = from; j <= lastThin; j++) rules[at(line, j)] = 1
        from = -1
      }
    }
  }
  mark(true)
  mark(false)
  return rules
}

/** A piece: connected ink cells that are not text nor rules, its box in pixels and its cell count. */
interface Piece {
  readonly box: BBox
  readonly cells: number
}

/** The pieces of ink that are neither text nor rules (8-connected, bridging a one-cell gap). */
const components = (grid: Grid, rules: Uint8Array): Array<Piece> =>
  connected(grid, (i) => grid.state[i] === 1 && rules[i] === 0, 2)

/** The boxes of rule work that holds rules both ways (a frame, a table's grid): what a figure's frame encloses. */
const frameBoxes = (grid: Grid, rules: Uint8Array): Array<BBox> =>
  connected(grid, (i) => rules[i] === 1, 1)
    .filter((p) => p.box[2] - p.box[0] >= RULE_CELLS * grid.cell && p.box[3] - p.box[1] >= RULE_CELLS * grid.cell)
    .map((p) => p.box)

/** Connected cells that pass `take`, neighbours up to `radius` cells apart, as boxes in pixels. */
const connected = (grid: Grid, take: (i: number) => boolean, radius: number): Array<Piece> => {
  const { cell, cols, rows } = grid
  const seen = new Uint8Array(cols * rows)
  const out: Array<Piece> = []
  const stack: Array<number> = []
  for (let start = 0; start < seen.length; start++) {
    if (seen[start] === 1 || !take(start)) continue
    seen[start] = 1
    stack.push(start)
    let [c1, r1, c2, r2, cells] = [cols, rows, 0, 0, 0]
    while (stack.length > 0) {
      const i = stack.pop()!
      const r = Math.floor(i / cols)
      const c = i - r * cols
      cells++
      c1 = Math.min(c1, c)
      c2 = Math.max(c2, c)
      r1 = Math.min(r1, r)
      r2 = Math.max(r2, r)
      for (let dr = -radius; dr <= radius; dr++) {
        const rr = r + dr
        if (rr < 0 || rr >= rows) continue
        for (let dc = -radius; dc <= radius; dc++) {
          const cc = c + dc
          if (cc < 0 || cc >= cols) continue
          const j = rr * cols + cc
          if (seen[j] === 1 || !take(j)) continue
          seen[j] = 1
          stack.push(j)
        }
      }
    }
    out.push({ box: [c1 * cell, r1 * cell, (c2 + 1) * cell, (r2 + 1) * cell], cells })
  }
  return out
}

/** Whether an OCR line is running text (long, or wide) or a caption, which no figure takes in. */
const isRunning = (line: RasterLine, width: number): boolean =>
  line.text.trim().length >= RUNNING_CHARS || CAPTION.test(line.text) || line.box[2] - line.box[0] >= RUNNING_WIDTH * width

/**
 * A seed's region: the seed (or the smallest frame holding it) grown, until it no longer changes, over the pieces,
 * labels and frames within `reach` of it (a piece in a frame of its own brings the whole frame), each step only when
 * the region it makes overlaps no running text.
 * Undefined when the seed itself overlaps running text.
 */
const grow = (
  seed: BBox,
  pieces: ReadonlyArray<BBox>,
  frames: ReadonlyArray<BBox>,
  running: ReadonlyArray<BBox>,
  reach: number,
  slack: number
): BBox | undefined => {
  const free = (box: BBox) => freeOf(running, box)
  if (!free(seed)) return undefined
  // a framed drawing is taken with its frame, whole: what the frame holds goes together, and with nothing else
  // (a frame's box is that of its straight sides: its rounded corners stick out a little)
  const frameOf = (box: BBox): BBox => {
    const frame = frames
      .filter((f) => contains(grown(f, slack), box) && free(f))
      .reduce<BBox | undefined>((best, f) => (best === undefined || area(f) < area(best) ? f : best), undefined)
    return frame === undefined ? box : unite(frame, box)
  }
  let region = frameOf(seed)
  let changed = true
  while (changed) {
    changed = false
    for (const box of [...pieces, ...frames]) {
      if (contains(region, box) || !touches(box, region, reach)) continue
      const whole = frameOf(box)
      const next = unite(region, contains(grown(whole, slack), region) ? box : whole)
      if (!free(next)) continue
      region = next
      changed = true
    }
  }
  return region
}

/** Whether a region overlaps no running text (a line's edge may graze it). */
const freeOf = (running: ReadonlyArray<BBox>, box: BBox): boolean =>
  !running.some((line) => intersection(line, box) > 0.05 * area(line))

/**
 * A drawing's region grown by its labels: the short lines within `reach` of it, once (labels do not reach for more
 * labels), that stand apart from the other text: a line within ISOLATION of a line that is not a label too is the
 * end of a block of text (an address above a barcode, a receipt's next row), not a label.
 */
const withLabels = (
  box: BBox,
  labels: ReadonlyArray<BBox>,
  others: ReadonlyArray<BBox>,
  running: ReadonlyArray<BBox>,
  reach: number,
  isolation: number
): BBox => {
  let candidates = labels.filter((label) => touches(label, box, reach))
  let changed = true
  while (changed) {
    const outside = others.filter((line) => !candidates.includes(line) && !contains(box, line))
    const kept = candidates.filter((label) => contains(box, label) || !outside.some((line) => touches(line, label, isolation)))
    changed = kept.length !== candidates.length
    candidates = kept
  }
  // nor may a label bring into the region a line that is not one
  const strangers = others.filter((line) => !candidates.includes(line) && !containsCentre(box, line))
  let region = box
  for (const label of candidates) {
    const next = unite(region, label)
    if (freeOf(running, next) && !strangers.some((line) => containsCentre(next, line))) region = next
  }
  return region
}

/** Per region: what share of it is picture ink, what share OCR text, and whether it touches the image's edge. */
const stats = (
  box: BBox,
  lines: ReadonlyArray<RasterLine>,
  evidence: Int32Array,
  grid: Grid,
  width: number,
  height: number
) => {
  const ink = cellsIn(evidence, grid, box) * grid.cell * grid.cell / area(box)
  const text = lines.reduce((sum, line) => sum + intersection(line.box as BBox, box), 0) / area(box)
  const edge = grid.cell * 1.5
  const touchesEdge = box[0] <= edge || box[1] <= edge || box[2] >= width - edge || box[3] >= height - edge
  return { ink, text, touchesEdge }
}

/**
 * Whether a region is a picture: big enough, not a band, not most of the image, not at its edge (a scanner's
 * border, the table a receipt was photographed on), and with enough picture ink for its text.
 */
const accepted = (
  box: BBox,
  lines: ReadonlyArray<RasterLine>,
  evidence: Int32Array,
  grid: Grid,
  width: number,
  height: number,
  lineHeight: number
): boolean => {
  const [w, h] = [box[2] - box[0], box[3] - box[1]]
  const page = width * height
  if (area(box) < MIN_AREA * page || area(box) > MAX_AREA * page) return false
  if (Math.max(w / h, h / w) > MAX_ASPECT || Math.min(w, h) < SEED_LINES * lineHeight) return false
  const { ink, text, touchesEdge } = stats(box, lines, evidence, grid, width, height)
  return !touchesEdge && text <= MAX_TEXT_COVER && ink >= MIN_INK && ink >= INK_PER_TEXT * text
}

/**
 * Whether a region is a ruled table: rules across ROW_RULE of its width with text between them, TABLE_ROWS times or
 * more (a chart's grid lines have no text between them, a flowchart's boxes are not as wide as it).
 */
const ruledTable = (box: BBox, grid: Grid, rules: Uint8Array, lines: ReadonlyArray<RasterLine>): boolean => {
  const { cell, cols, rows } = grid
  const [c1, c2] = [Math.max(0, Math.floor(box[0] / cell)), Math.min(cols, Math.ceil(box[2] / cell))]
  const [r1, r2] = [Math.max(0, Math.floor(box[1] / cell)), Math.min(rows, Math.ceil(box[3] / cell))]
  // the rows (in pixels, a rule's rows as one) the region's row rules run along
  const across: Array<number> = []
  let last = -2
  for (let r = r1; r < r2; r++) {
    let count = 0
    for (let c = c1; c < c2; c++) count += rules[r * cols + c]!
    if (count < ROW_RULE * (c2 - c1)) continue
    if (r > last + 1) across.push((r + 0.5) * cell)
    last = r
  }
  const centres = lines
    .filter((line) => containsCentre(box, line.box as BBox))
    .map(({ box: b }) => (b[1] + b[3]) / 2)
  let filled = 0
  for (let k = 1; k < across.length; k++) {
    if (centres.some((y) => y > across[k - 1]! && y < across[k]!)) filled++
  }
  return filled >= TABLE_ROWS
}

/** A summed-area table of the cells that pass `take` ((cols + 1) x (rows + 1)). */
const summedArea = (grid: Grid, take: (i: number) => boolean): Int32Array => {
  const { cols, rows } = grid
  const table = new Int32Array((cols + 1) * (rows + 1))
  for (let r = 0; r < rows; r++) {
    let row = 0
    for (let c = 0; c < cols; c++) {
      if (take(r * cols + c)) row++
      table[(r + 1) * (cols + 1) + c + 1] = table[r * (cols + 1) + c + 1]! + row
    }
  }
  return table
}

/** How many cells of a summed-area table's are inside a box (cells whose centre it holds). */
const cellsIn = (table: Int32Array, grid: Grid, box: BBox): number => {
  const { cell, cols, rows } = grid
  const c1 = Math.max(0, Math.min(cols, Math.round(box[0] / cell)))
  const c2 = Math.max(0, Math.min(cols, Math.round(box[2] / cell)))
  const r1 = Math.max(0, Math.min(rows, Math.round(box[1] / cell)))
  const r2 = Math.max(0, Math.min(rows, Math.round(box[3] / cell)))
  const at = (r: number, c: number) => table[r * (cols + 1) + c]!
  return at(r2, c2) - at(r1, c2) - at(r2, c1) + at(r1, c1)
}

const grown = (box: BBox, by: number): BBox => [box[0] - by, box[1] - by, box[2] + by, box[3] + by]

const side = (box: BBox): number => Math.min(box[2] - box[0], box[3] - box[1])

const contains = (outer: BBox, inner: BBox): boolean =>
  inner[0] >= outer[0] && inner[1] >= outer[1] && inner[2] <= outer[2] && inner[3] <= outer[3]

const containsCentre = (outer: BBox, inner: BBox): boolean => {
  const [x, y] = [(inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2]
  return x >= outer[0] && x <= outer[2] && y >= outer[1] && y <= outer[3]
}
