/**
 * Table: a page's tables, found before the rest of the layout so that their cells do not become paragraphs nor their
 * columns the page's columns. Two ways, both on born-digital pages, both conservative (a wrong table is worse than
 * none: on any doubt the text is left to the paragraphs):
 *
 * - **Ruled**: the rules the page paints (PdfEngine's shapes: lines, thin rectangles, rectangle outlines) are joined
 *   into connected frames; a frame whose horizontal and vertical rules make a grid of at least 2 x 2 slots is a
 *   table, a slot per cell, and slots with no rule between them are one spanning cell. A grid without outer
 *   verticals (open sides) is fine; a grid whose text runs across its rules (a diagram), whose slots are mostly
 *   merged or whose columns are too many (a form), or that holds almost no text is not a table. Text at any angle
 *   counts: a rotated column header is its cell's text.
 * - **Aligned text**: on a page's text lines split into segments at wide gaps, a run of 3 or more lines with 3 or
 *   more segments each, whose segments fall in the same columns (the x-projection of the run's segments leaves
 *   gaps between columns, and each column's segments share a left edge, a right edge or a centre), plus the lines
 *   just above and below that fit those columns (a header, a wrapped cell). Prose (long segments), code (fixed-pitch
 *   text), tables of contents (dot leaders) and aligned equations are refused.
 *
 * The header: the rows a spanning group heading covers (a ruled table's top row with a cell over several columns),
 * or a top row set in other fonts than the columns below it.
 */
import type { PageShape, TextItem } from "../../PdfEngine.js"
import type { Block, Line, TableCell } from "../../TextLayout.js"
import { type BBox, median, roundBox, union } from "./Geometry.js"
import { joinLines } from "./Text.js"

/** The tables of a page, in no particular order, and the text items they took. */
export interface Found {
  readonly tables: ReadonlyArray<Block>
  readonly used: ReadonlySet<TextItem>
}

/** No table. */
export const none: Found = { tables: [], used: new Set() }

/** What table finding needs of the page and of the rest of layout. */
export interface TableContext {
  /** The page's box (its size when known). */
  readonly box: BBox
  /** TextLayout's lines: a cell's upright items to its lines of text. */
  readonly lines: (items: ReadonlyArray<TextItem>) => Array<Line>
  /** The page's fixed-pitch fonts: text mostly in them is code, not a table. */
  readonly monospace: ReadonlySet<string>
}

/** The page's tables (`items`: the page's text, every angle; `shapes`: what it paints). */
export const find = (
  items: ReadonlyArray<TextItem>,
  shapes: ReadonlyArray<PageShape>,
  context: TableContext
): Found => {
  if (items.length === 0 || items.length > MAX_ITEMS) return none
  const tables: Array<Block> = []
  const used = new Set<TextItem>()
  const { horizontal, vertical } = segments(shapes)
  if (horizontal.length + vertical.length <= MAX_SEGMENTS) {
    for (const frame of frames(horizontal, vertical)) {
      const found = ruled(frame, items.filter((item) => !used.has(item)), context)
      if (found === undefined) continue
      tables.push(found.table)
      for (const item of found.items) used.add(item)
    }
  }
  const rest = items.filter((item) => !used.has(item) && item.angle === 0)
  for (const found of aligned(rest, vertical, context)) {
    tables.push(found.table)
    for (const item of found.items) used.add(item)
  }
  return { tables, used }
}

/** Above this many text items a page is left alone (the work grows with them). */
const MAX_ITEMS = 20_000

/** Above this many rules the page is a drawing or a form, not a page of tables. */
const MAX_SEGMENTS = 2_000

// ---------------------------------------------------------------------------------------------------------------
// Rules: the page's shapes as horizontal and vertical segments.

/** A rule: horizontal (`at` its y, from and to its x) or vertical (`at` its x, from and to its y). */
interface Segment {
  readonly at: number
  readonly from: number
  readonly to: number
  /** The rule's width across (a filled rectangle's), 0 when not known (a stroked line). */
  readonly thickness: number
}

/** A filled rectangle this thin (points) is a rule, not an area. */
const RULE_THICKNESS = 3

/** How far apart (points) rules may be and still meet, or line up. */
const SLACK = 2

/** A shape's rules: lines, thin rectangles, the sides of outlined rectangles; filled areas give none. */
const segments = (shapes: ReadonlyArray<PageShape>) => {
  const horizontal: Array<Segment> = []
  const vertical: Array<Segment> = []
  for (const { bbox: [x1, y1, x2, y2], filled, kind } of shapes) {
    const [w, h] = [x2 - x1, y2 - y1]
    if (!(w >= 0 && h >= 0)) continue
    const thickness = kind === "rect" && filled ? Math.min(w, h) : 0
    if (h <= (kind === "line" ? 1 : RULE_THICKNESS) && w >= Math.max(2, 3 * h)) {
      horizontal.push({ at: (y1 + y2) / 2, from: x1, to: x2, thickness })
    } else if (w <= (kind === "line" ? 1 : RULE_THICKNESS) && h >= Math.max(2, 3 * w)) {
      vertical.push({ at: (x1 + x2) / 2, from: y1, to: y2, thickness })
    } else if (kind === "rect" && !filled) {
      horizontal.push({ at: y1, from: x1, to: x2, thickness: 0 }, { at: y2, from: x1, to: x2, thickness: 0 })
      vertical.push({ at: x1, from: y1, to: y2, thickness: 0 }, { at: x2, from: y1, to: y2, thickness: 0 })
    }
  }
  return { horizontal, vertical }
}

/** A set of rules that meet one another. */
interface Frame {
  readonly horizontal: ReadonlyArray<Segment>
  readonly vertical: ReadonlyArray<Segment>
}

/** The rules grouped into frames: rules that cross, touch or continue one another. */
const frames = (horizontal: ReadonlyArray<Segment>, vertical: ReadonlyArray<Segment>): Array<Frame> => {
  const all = [...horizontal.map((s) => ({ s, h: true })), ...vertical.map((s) => ({ s, h: false }))]
  const parent = all.map((_, i) => i)
  const root = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!
    return i
  }
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      if (meet(all[i]!, all[j]!)) parent[root(i)] = root(j)
    }
  }
  const groups = new Map<number, { horizontal: Array<Segment>; vertical: Array<Segment> }>()
  all.forEach(({ h, s }, i) => {
    const group = groups.get(root(i)) ?? { horizontal: [], vertical: [] }
    ;(h ? group.horizontal : group.vertical).push(s)
    groups.set(root(i), group)
  })
  return [...groups.values()].filter((g) => g.horizontal.length >= 2 && g.vertical.length >= 1)
}

const meet = (a: { s: Segment; h: boolean }, b: { s: Segment; h: boolean }): boolean => {
  const within = (v: number, s: Segment) => v >= s.from - SLACK && v <= s.to + SLACK
  if (a.h === b.h) {
    return Math.abs(a.s.at - b.s.at) <= SLACK && a.s.from <= b.s.to + SLACK && b.s.from <= a.s.to + SLACK
  }
  return within(a.s.at, b.s) && within(b.s.at, a.s)
}

// ---------------------------------------------------------------------------------------------------------------
// Ruled tables: a frame's grid, its cells, their text.

/** The most rows and columns a ruled table has; more is a form or a drawing. */
const MAX_ROWS = 300
const MAX_COLUMNS = 20

/** The median length (points) of a table's horizontal rules is at least this: shorter ones are dashes. */
const MIN_RULE = 8

/** Rules closer than this (points) are one boundary (a double rule). */
const MERGE = 3.5

/** A table and the items it took. */
interface Taken {
  readonly table: Block
  readonly items: ReadonlyArray<TextItem>
}

/** A cell as it is built: its slots, its items. */
interface Slotted {
  readonly row: number
  readonly column: number
  readonly rows: number
  readonly columns: number
  readonly items: Array<TextItem>
}

const ruled = (frame: Frame, items: ReadonlyArray<TextItem>, context: TableContext): Taken | undefined => {
  const { horizontal, vertical } = frame
  // dashed or dotted lines (a diagram's) are many short rules; a table's rules run along its cells
  if (median(horizontal.map((s) => s.to - s.from)) < MIN_RULE) return undefined
  const left = Math.min(...horizontal.map((s) => s.from), ...vertical.map((s) => s.at))
  const right = Math.max(...horizontal.map((s) => s.to), ...vertical.map((s) => s.at))
  const top = Math.min(...horizontal.map((s) => s.at), ...vertical.map((s) => s.from))
  const bottom = Math.max(...horizontal.map((s) => s.at), ...vertical.map((s) => s.to))
  const ys = boundaries([...horizontal.map((s) => s.at), top, bottom])
  const xs = boundaries([...vertical.map((s) => s.at), left, right])
  const [rowCount, columnCount] = [ys.length - 1, xs.length - 1]
  if (rowCount < 2 || columnCount < 2 || rowCount > MAX_ROWS || columnCount > MAX_COLUMNS) return undefined
  // a frame to the page's edges is the page's decoration (a cover's panels), not a table
  const [pageLeft, , pageRight] = context.box
  if (left <= pageLeft + 1 && right >= pageRight - 1) return undefined
  // a rule between two slots: present when rules cover most of the boundary
  const covered = (rules: ReadonlyArray<Segment>, at: number, from: number, to: number) =>
    [0.25, 0.5, 0.75].every((f) => {
      const v = from + (to - from) * f
      return rules.some((s) => Math.abs(s.at - at) <= MERGE && s.from - SLACK <= v && s.to + SLACK >= v)
    })
  const ruleRight = (row: number, column: number) =>
    column === columnCount - 1 || covered(vertical, xs[column + 1]!, ys[row]!, ys[row + 1]!)
  const ruleBelow = (row: number, column: number) =>
    row === rowCount - 1 || covered(horizontal, ys[row + 1]!, xs[column]!, xs[column + 1]!)
  const cells = mergeSlots(rowCount, columnCount, ruleRight, ruleBelow)
  if (cells === undefined) return undefined
  const merged = cells.filter((c) => c.rows * c.columns > 1).reduce((n, c) => n + c.rows * c.columns, 0)
  if (merged > 0.5 * rowCount * columnCount) return undefined
  // the text in the frame, each item in the cell under its centre
  const at = (edges: ReadonlyArray<number>, v: number) => {
    let i = 0
    while (i < edges.length - 2 && v >= edges[i + 1]!) i++
    return i
  }
  const slotOf = new Map<number, Slotted>()
  for (const cell of cells) {
    for (let r = cell.row; r < cell.row + cell.rows; r++) {
      for (let c = cell.column; c < cell.column + cell.columns; c++) slotOf.set(r * columnCount + c, cell)
    }
  }
  const inside: Array<TextItem> = []
  let chars = 0
  let crossing = 0
  for (const item of items) {
    const [cx, cy] = [item.x + item.width / 2, item.y + item.height / 2]
    if (cx < left || cx > right || cy < top || cy > bottom) continue
    const cell = slotOf.get(at(ys, cy) * columnCount + at(xs, cx))!
    const [x1, x2] = [xs[cell.column]!, xs[cell.column + cell.columns]!]
    const [y1, y2] = [ys[cell.row]!, ys[cell.row + cell.rows]!]
    const slack = Math.max(SLACK, 0.3 * item.fontSize)
    const length = item.text.trim().length
    chars += length
    if (item.x < x1 - slack || item.x + item.width > x2 + slack || item.y < y1 - slack || item.y + item.height > y2 + slack) {
      crossing += length
    }
    cell.items.push(item)
    inside.push(item)
  }
  // text that runs across the rules is a diagram's; a grid with too little text is a drawing or a form's boxes
  if (chars === 0 || crossing > 0.1 * chars) return undefined
  // a cell whose lines are scattered words (a diagram's labels between its lines) is not a table's
  if (cells.some((c) => itemRows(c.items.filter((i) => i.angle === 0)).some((line) => wideGaps(line) >= 3))) {
    return undefined
  }
  const split = splitRows(cells, ys)
  return fromCells(split.cells, split.ys, xs, inside, context, horizontal, [left, top, right, bottom])
}

/** The ruled table of a grid's cells with their items, if its text reads as a table's. */
const fromCells = (
  cells: ReadonlyArray<Slotted>,
  ys: ReadonlyArray<number>,
  xs: ReadonlyArray<number>,
  inside: ReadonlyArray<TextItem>,
  context: TableContext,
  horizontal: ReadonlyArray<Segment>,
  frame: BBox
): Taken | undefined => {
  const rowCount = ys.length - 1
  const filled = cells.filter((c) => c.items.length > 0)
  if (filled.length < 0.3 * cells.length || new Set(filled.map((c) => c.column)).size < 2) return undefined
  if (new Set(filled.map((c) => c.row)).size < 2) return undefined
  const box = (c: Slotted): BBox => [xs[c.column]!, ys[c.row]!, xs[c.column + c.columns]!, ys[c.row + c.rows]!]
  const built = cells.map((c) => ({ ...c, text: cellText(c.items, context), font: fontOf(c.items), bbox: box(c) }))
  // panels of prose framed side by side are not a table's cells
  const lengths = built.filter((c) => c.text !== "").map((c) => c.text.length)
  if (lengths.reduce((a, b) => a + b, 0) / lengths.length > 150) return undefined
  const header = ruledHeader(built, rowCount) ||
    (heavyRuleBelowTop(horizontal, ys) || turnedTop(built) ? 1 : 0)
  return { table: tableBlock(built, rowCount, header, frame), items: inside }
}

/**
 * Rows between two rules that hold several rows of text (a table ruled only under its header, with column rules):
 * each line of text across the columns is a row of its own. A row is split when it has three lines or more, no cell
 * spans into or out of it, and every line has text in two columns or more (a cell's text wrapped over lines beside
 * one-line cells is one row).
 */
const splitRows = (
  cells: ReadonlyArray<Slotted>,
  ys: ReadonlyArray<number>
): { cells: Array<Slotted>; ys: Array<number> } => {
  const outCells: Array<Slotted> = []
  const outYs: Array<number> = [ys[0]!]
  for (let r = 0; r < ys.length - 1; r++) {
    const row = cells.filter((c) => c.row <= r && c.row + c.rows > r)
    const offset = outYs.length - 1 - r
    const bands = row.every((c) => c.rows === 1) ? itemRows(row.flatMap((c) => c.items)) : []
    const columnsOf = (band: ReadonlyArray<TextItem>) =>
      new Set(band.map((item) => row.find((c) => c.items.includes(item))!.column)).size
    if (bands.length < 3 || !bands.every((band) => columnsOf(band) >= 2)) {
      for (const c of row.filter((c) => c.row === r)) outCells.push({ ...c, row: c.row + offset })
      outYs.push(ys[r + 1]!)
      continue
    }
    bands.forEach((band, b) => {
      for (const c of row) {
        outCells.push({ ...c, row: outYs.length - 1, items: c.items.filter((item) => band.includes(item)) })
      }
      const next = bands[b + 1]
      const bottom = Math.max(...band.map((item) => item.y + item.height))
      outYs.push(next === undefined ? ys[r + 1]! : (bottom + Math.min(...next.map((item) => item.y))) / 2)
    })
  }
  return { cells: outCells, ys: outYs }
}

/** How many gaps wider than a font size there are between a line's items (left to right). */
const wideGaps = (line: ReadonlyArray<TextItem>): number => {
  let n = 0
  for (let i = 1; i < line.length; i++) {
    const [a, b] = [line[i - 1]!, line[i]!]
    if (b.x - (a.x + a.width) > SEGMENT_GAP * Math.min(a.fontSize, b.fontSize)) n++
  }
  return n
}

/** Sorted positions with those closer than MERGE made one (their mean). */
const boundaries = (values: ReadonlyArray<number>): Array<number> => {
  const sorted = [...values].sort((a, b) => a - b)
  const out: Array<Array<number>> = []
  for (const v of sorted) {
    const last = out[out.length - 1]
    if (last !== undefined && v - last[last.length - 1]! <= MERGE) last.push(v)
    else out.push([v])
  }
  return out.map((group) => group.reduce((a, b) => a + b, 0) / group.length)
}

/**
 * The grid's slots joined where no rule separates them, as cells; undefined when a joined group is not a rectangle
 * (the rules do not make a table's grid).
 */
const mergeSlots = (
  rows: number,
  columns: number,
  ruleRight: (row: number, column: number) => boolean,
  ruleBelow: (row: number, column: number) => boolean
): Array<Slotted> | undefined => {
  const parent = Array.from({ length: rows * columns }, (_, i) => i)
  const root = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!
    return i
  }
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      if (!ruleRight(r, c)) parent[root(r * columns + c)] = root(r * columns + c + 1)
      if (!ruleBelow(r, c)) parent[root(r * columns + c)] = root((r + 1) * columns + c)
    }
  }
  const groups = new Map<number, { r1: number; c1: number; r2: number; c2: number; n: number }>()
  for (let i = 0; i < rows * columns; i++) {
    const [r, c] = [Math.floor(i / columns), i % columns]
    const g = groups.get(root(i))
    if (g === undefined) groups.set(root(i), { r1: r, c1: c, r2: r, c2: c, n: 1 })
    else Object.assign(g, { r1: Math.min(g.r1, r), c1: Math.min(g.c1, c), r2: Math.max(g.r2, r), c2: Math.max(g.c2, c), n: g.n + 1 })
  }
  const cells: Array<Slotted> = []
  for (const g of groups.values()) {
    if (g.n !== (g.r2 - g.r1 + 1) * (g.c2 - g.c1 + 1)) return undefined
    cells.push({ row: g.r1, column: g.c1, rows: g.r2 - g.r1 + 1, columns: g.c2 - g.c1 + 1, items: [] })
  }
  return cells.sort((a, b) => a.row - b.row || a.column - b.column)
}

/** A cell's text: its upright items as lines, joined; text at other angles (a turned header) after them. */
const cellText = (items: ReadonlyArray<TextItem>, context: TableContext): string => {
  const upright = items.filter((item) => item.angle === 0)
  const turned = items.filter((item) => item.angle !== 0).sort((a, b) => a.x - b.x || a.y - b.y)
  const texts = [...context.lines(upright).map((line) => line.text), ...turned.map((item) => item.text.trim())]
  return joinLines(texts).replace(/\s+/g, " ").trim()
}

/** The font most of the items' characters are in. */
const fontOf = (items: ReadonlyArray<TextItem>): string => {
  const weights = new Map<string, number>()
  for (const item of items) weights.set(item.fontName, (weights.get(item.fontName) ?? 0) + item.text.length)
  return [...weights].sort((a, b) => b[1] - a[1])[0]?.[0] ?? ""
}

/** A cell with its text, font and box. */
interface Built extends Slotted {
  readonly text: string
  readonly font: string
  readonly bbox: BBox
}

/**
 * A ruled table's header rows: the rows its top row's cells span when one of them heads a group of columns; else
 * its top row when that is set in other fonts (bold) than the rows below.
 */
const ruledHeader = (cells: ReadonlyArray<Built>, rows: number): number => {
  const first = cells.filter((c) => c.row === 0)
  if (first.some((c) => c.columns > 1)) {
    const span = Math.max(...first.map((c) => c.rows))
    return span < rows ? span : 0
  }
  return fontHeader(cells) ? 1 : 0
}

/** Whether the rule under the top row is heavier than those between the rows below (a header's rule). */
const heavyRuleBelowTop = (horizontal: ReadonlyArray<Segment>, ys: ReadonlyArray<number>): boolean => {
  if (ys.length < 4) return false
  const weight = (y: number) =>
    Math.max(0, ...horizontal.filter((s) => Math.abs(s.at - y) <= MERGE).map((s) => s.thickness))
  const inner = ys.slice(2, -1).map(weight)
  const under = weight(ys[1]!)
  return inner.length > 0 && under > 0 && under >= 1.5 * Math.max(...inner)
}

/** Whether text is turned in the top row alone (column headings set sideways). */
const turnedTop = (cells: ReadonlyArray<Slotted>): boolean =>
  cells.some((c) => c.row === 0 && c.items.some((item) => item.angle !== 0)) &&
  cells.every((c) => c.row === 0 || c.items.every((item) => item.angle === 0))

/** Whether the top row's cells are in other fonts than the cells below them in their columns. */
const fontHeader = (cells: ReadonlyArray<Pick<Built, "row" | "column" | "font" | "text">>): boolean => {
  const top = cells.filter((c) => c.row === 0 && c.text !== "")
  const below = cells.filter((c) => c.row > 0 && c.text !== "")
  if (top.length === 0 || below.length < 2) return false
  const bodyFonts = new Set(below.map((c) => c.font))
  return top.every((c) => !bodyFonts.has(c.font))
}

/** The table block: rows of cells in the HTML manner, its text one row a line, cells separated by tabs. */
const tableBlock = (
  cells: ReadonlyArray<Omit<Built, "items">>,
  rowCount: number,
  header: number,
  box: BBox
): Block => {
  const rows: Array<Array<TableCell>> = Array.from({ length: rowCount }, () => [])
  for (const c of [...cells].sort((a, b) => a.row - b.row || a.column - b.column)) {
    rows[c.row]!.push({
      text: c.text,
      bbox: roundBox(c.bbox),
      column: c.column,
      ...(c.rows > 1 ? { row_span: c.rows } : {}),
      ...(c.columns > 1 ? { column_span: c.columns } : {})
    })
  }
  return {
    type: "table",
    level: 0,
    bbox: roundBox(box),
    text: rows.map((row) => row.map((cell) => cell.text).join("\t")).join("\n"),
    rows,
    header_rows: header
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Tables of aligned text.

/** A gap wider than this many font sizes ends a segment of a line (a word space is a quarter). */
const SEGMENT_GAP = 1

/** A gap wider than this share of the page's width separates unrelated texts (two pages of a spread). */
const APART = 0.25

/** A segment this long (characters), or this share of the page's width, is prose, not a cell. */
const PROSE_LENGTH = 60
const PROSE_WIDTH = 0.3

/** Runs of text on one line between wide gaps. */
interface Piece {
  readonly segments: ReadonlyArray<Seg>
  readonly box: BBox
  readonly prose: boolean
}

interface Seg {
  readonly items: ReadonlyArray<TextItem>
  readonly text: string
  readonly box: BBox
  readonly size: number
  readonly font: string
}

const aligned = (
  items: ReadonlyArray<TextItem>,
  vertical: ReadonlyArray<Segment>,
  context: TableContext
): Array<Taken> => {
  if (items.length < 9) return []
  const pieces = itemRows(items).flatMap((row) => piecesOf(row, vertical, context))
  const candidates = pieces.filter((p) => !p.prose && p.segments.length >= 3)
  const out: Array<Taken> = []
  const taken = new Set<Piece>()
  for (const run of runs(candidates)) {
    if (run.some((p) => taken.has(p))) continue
    const found = alignedTable(run, pieces, context)
    if (found === undefined) continue
    for (const p of found.pieces) taken.add(p)
    out.push({ table: found.table, items: found.pieces.flatMap((p) => p.segments.flatMap((s) => s.items)) })
  }
  return out
}

/** Items grouped into lines across the whole page (by vertical overlap), each left to right. */
const itemRows = (items: ReadonlyArray<TextItem>): Array<Array<TextItem>> => {
  const sorted = [...items].sort((a, b) => (a.y + a.height / 2) - (b.y + b.height / 2))
  const rows: Array<Array<TextItem>> = []
  let [top, bottom] = [0, 0]
  for (const item of sorted) {
    const current = rows[rows.length - 1]
    const overlap = Math.min(bottom, item.y + item.height) - Math.max(top, item.y)
    if (current !== undefined && overlap >= 0.5 * Math.min(item.height, bottom - top)) {
      current.push(item)
      ;[top, bottom] = [Math.min(top, item.y), Math.max(bottom, item.y + item.height)]
    } else {
      rows.push([item])
      ;[top, bottom] = [item.y, item.y + item.height]
    }
  }
  return rows.map((row) => row.sort((a, b) => a.x - b.x))
}

/**
 * A line's pieces: its segments (split at gaps over SEGMENT_GAP font sizes), cut apart where a gap is very wide, a
 * vertical rule runs between them, or a segment is prose (which is a piece of its own).
 */
const piecesOf = (row: ReadonlyArray<TextItem>, vertical: ReadonlyArray<Segment>, context: TableContext): Array<Piece> => {
  const width = context.box[2] - context.box[0]
  const segs: Array<Array<TextItem>> = []
  for (const item of row) {
    const current = segs[segs.length - 1]
    const last = current?.[current.length - 1]
    if (last !== undefined && item.x - (last.x + last.width) <= SEGMENT_GAP * Math.min(last.fontSize, item.fontSize)) {
      current!.push(item)
    } else segs.push([item])
  }
  const pieces: Array<Piece> = []
  let current: Array<Seg> = []
  const close = () => {
    if (current.length > 0) pieces.push(piece(current, false))
    current = []
  }
  for (const group of segs) {
    const seg = segment(group)
    const previous = current[current.length - 1]
    const prose = seg.text.length > PROSE_LENGTH || seg.box[2] - seg.box[0] > PROSE_WIDTH * width
    if (previous !== undefined && (seg.box[0] - previous.box[2] > APART * width || ruleBetween(previous, seg, vertical))) {
      close()
    }
    if (prose) {
      close()
      pieces.push(piece([seg], true))
    } else current.push(seg)
  }
  close()
  return pieces
}

const segment = (items: ReadonlyArray<TextItem>): Seg => {
  let text = ""
  let previous: TextItem | undefined
  for (const item of items) {
    const gap = previous === undefined ? 0 : item.x - (previous.x + previous.width)
    if (previous !== undefined && gap > 0.15 * item.fontSize && !/\s$/.test(text)) text += " "
    text += item.text
    previous = item
  }
  return {
    items,
    text: text.replace(/\s+/g, " ").trim(),
    box: union(items.map(boxOf)),
    size: median(items.map((item) => item.fontSize)),
    font: fontOf(items)
  }
}

const piece = (segments: ReadonlyArray<Seg>, prose: boolean): Piece =>
  ({ segments, box: union(segments.map((s) => s.box)), prose })

/** Whether a vertical rule runs between two segments of a line, across its height. */
const ruleBetween = (a: Seg, b: Seg, vertical: ReadonlyArray<Segment>): boolean => {
  const y = (a.box[1] + a.box[3]) / 2
  return vertical.some((s) => s.at > a.box[2] && s.at < b.box[0] && s.from <= y && s.to >= y)
}

/** Candidate lines in runs: one below the other, close, overlapping across. */
const runs = (candidates: ReadonlyArray<Piece>): Array<Array<Piece>> => {
  const sorted = [...candidates].sort((a, b) => a.box[1] - b.box[1])
  const out: Array<Array<Piece>> = []
  for (const p of sorted) {
    const run = out.find((r) => {
      const last = r[r.length - 1]!
      const size = median(last.segments.map((s) => s.size))
      const gap = p.box[1] - last.box[3]
      const overlap = Math.min(p.box[2], last.box[2]) - Math.max(p.box[0], last.box[0])
      const narrower = Math.min(p.box[2] - p.box[0], last.box[2] - last.box[0])
      return gap > -0.5 * size && gap <= 3 * size && overlap >= 0.5 * narrower
    })
    if (run === undefined) out.push([p])
    else run.push(p)
  }
  return out.filter((r) => r.length >= 3)
}

/** A column: its x extent, from the projection of the run's segments. */
type Column = readonly [x1: number, x2: number]

const alignedTable = (
  run: ReadonlyArray<Piece>,
  pieces: ReadonlyArray<Piece>,
  context: TableContext
): { table: Block; pieces: ReadonlyArray<Piece> } | undefined => {
  const size = median(run.flatMap((p) => p.segments.map((s) => s.size)))
  let columns = project(run.flatMap((p) => p.segments), size)
  if (columns.length < 3) return undefined
  const [left, right] = [columns[0]![0], columns[columns.length - 1]![1]]
  const fits = (p: Piece) =>
    !p.prose && p.box[0] >= left - size && p.box[2] <= right + size &&
    p.segments.every((s) => columns.filter((c) => s.box[0] <= c[1] && s.box[2] >= c[0]).length <= 1)
  const across = (p: Piece) => p.box[0] < right && p.box[2] > left
  const [top, bottom] = [run[0]!.box[1], run[run.length - 1]!.box[3]]
  const within = pieces.filter((p) => across(p) && p.box[1] >= top - 0.1 * size && p.box[3] <= bottom + 0.1 * size)
  if (!within.every(fits)) return undefined
  // the lines just above (a header) and below that fit the columns
  const members = [...within]
  const extend = (direction: -1 | 1) => {
    const sorted = pieces.filter((p) => across(p) && !members.includes(p))
      .filter((p) => (direction < 0 ? p.box[3] <= top + 0.1 * size : p.box[1] >= bottom - 0.1 * size))
      .sort((a, b) => direction * (a.box[1] - b.box[1]))
    let edge = direction < 0 ? top : bottom
    for (const p of sorted.slice(0, 3)) {
      const gap = direction < 0 ? edge - p.box[3] : p.box[1] - edge
      if (gap > 2 * size || !fits(p)) break
      members.push(p)
      edge = direction < 0 ? p.box[1] : p.box[3]
    }
  }
  extend(-1)
  extend(1)
  members.sort((a, b) => a.box[1] - b.box[1])
  columns = project(members.flatMap((p) => p.segments), size)
  if (columns.length < 3 || !columns.every((c) => isAligned(members, c, size))) return undefined
  const rows = tableRows(members, columns, run)
  if (rows.length < 3 || !acceptable(rows, members, context.monospace)) return undefined
  const header = fontHeader(rows.flatMap((row, r) => row.map((cell, c) => ({ row: r, column: c, ...cell })))) ? 1 : 0
  const cells = rows.flatMap((row, r) =>
    row.map((cell, c) => ({
      row: r,
      column: c,
      rows: 1,
      columns: 1,
      text: cell.text,
      font: cell.font,
      bbox: cell.bbox ?? [columns[c]![0], cell.top, columns[c]![1], cell.bottom] as BBox
    }))
  )
  const box = union(members.map((p) => p.box))
  return { table: tableBlock(cells, rows.length, header, box), pieces: members }
}

/** The x-projection of segments: the intervals they cover, gaps of less than half a font size closed. */
const project = (segs: ReadonlyArray<Seg>, size: number): Array<Column> => {
  const sorted = [...segs].sort((a, b) => a.box[0] - b.box[0])
  const out: Array<[number, number]> = []
  for (const s of sorted) {
    const last = out[out.length - 1]
    if (last !== undefined && s.box[0] <= last[1] + 0.5 * size) last[1] = Math.max(last[1], s.box[2])
    else out.push([s.box[0], s.box[2]])
  }
  return out
}

/** Whether most of a column's segments share a left edge, a right edge or a centre. */
const isAligned = (members: ReadonlyArray<Piece>, column: Column, size: number): boolean => {
  const segs = members.flatMap((p) => p.segments).filter((s) => s.box[0] <= column[1] && s.box[2] >= column[0])
  if (segs.length < 3) return true
  const share = (value: (s: Seg) => number) => {
    const m = median(segs.map(value))
    return segs.filter((s) => Math.abs(value(s) - m) <= 0.6 * size).length / segs.length
  }
  return Math.max(share((s) => s.box[0]), share((s) => s.box[2]), share((s) => (s.box[0] + s.box[2]) / 2)) >= 0.6
}

interface StreamCell {
  readonly text: string
  readonly font: string
  readonly top: number
  readonly bottom: number
  readonly bbox: BBox | undefined
}

/**
 * The table's rows: a line with as many cells as the run's lines starts a row; a line with fewer, below one, goes on
 * the row above it (a wrapped cell, a header set on two lines).
 */
const tableRows = (
  members: ReadonlyArray<Piece>,
  columns: ReadonlyArray<Column>,
  run: ReadonlyArray<Piece>
): Array<Array<StreamCell>> => {
  const full = Math.min(...run.map((p) => p.segments.length))
  const groups: Array<Array<Piece>> = []
  for (const p of members) {
    const last = groups[groups.length - 1]
    if (last === undefined || p.segments.length >= full) groups.push([p])
    else if (last.every((q) => q.segments.length < full) || continuesRow(last, p)) last.push(p)
    else groups.push([p])
  }
  return groups.map((group) =>
    columns.map((column) => {
      const segs = group.flatMap((p) => p.segments).filter((s) => s.box[0] <= column[1] && s.box[2] >= column[0])
      const [top, bottom] = [Math.min(...group.map((p) => p.box[1])), Math.max(...group.map((p) => p.box[3]))]
      return {
        text: joinLines(segs.map((s) => s.text)),
        font: fontOf(segs.flatMap((s) => s.items)),
        top,
        bottom,
        bbox: segs.length === 0 ? undefined : union(segs.map((s) => s.box))
      }
    })
  )
}

/** A short line right under a row, set closer than rows are apart, carries on that row's cells. */
const continuesRow = (row: ReadonlyArray<Piece>, p: Piece): boolean => {
  const last = row[row.length - 1]!
  const size = median(last.segments.map((s) => s.size))
  return p.box[1] - last.box[3] <= 0.5 * size
}

/**
 * Whether aligned text reads as a table: no dot leaders (a table of contents), not code, no column of relation
 * signs alone (aligned equations), short cells beyond the first column, and every column used in a third of rows.
 */
const acceptable = (
  rows: ReadonlyArray<ReadonlyArray<StreamCell>>,
  members: ReadonlyArray<Piece>,
  monospace: ReadonlySet<string>
): boolean => {
  const cells = rows.flat()
  if (cells.some((c) => /(?:\.\s?){4,}|…/.test(c.text))) return false
  const items = members.flatMap((p) => p.segments.flatMap((s) => s.items))
  const chars = items.reduce((n, item) => n + item.text.length, 0)
  const mono = items.reduce((n, item) => n + (monospace.has(item.fontName) ? item.text.length : 0), 0)
  if (chars === 0 || mono >= 0.5 * chars) return false
  const columns = rows[0]!.length
  for (let c = 0; c < columns; c++) {
    const texts = rows.map((row) => row[c]!.text).filter((t) => t !== "")
    if (texts.length < rows.length / 3) return false
    if (texts.every((t) => /^[=<>≤≥≈≠≡+\-−:]$/.test(t))) return false
  }
  const later = cells.filter((_, i) => i % columns > 0 && cells[i]!.text !== "").map((c) => c.text.length)
  return later.length > 0 && later.reduce((a, b) => a + b, 0) / later.length <= 30
}

const boxOf = (item: TextItem): BBox => [item.x, item.y, item.x + item.width, item.y + item.height]
