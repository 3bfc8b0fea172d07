/**
 * TextLayout: a page's text items to typed blocks in reading order, and blocks to markdown. Pure functions, no pdf.js.
 *
 * The steps: keep the text in the page's dominant direction (a sideways page is turned upright first); cut the page
 * into regions at clear gaps (a recursive XY-cut, so a two-column page is read column by column; a narrow column of
 * bullets or list numbers is not a column); group each region's items into lines; join consecutive lines into
 * paragraphs while they continue one another (same size, close below, overlapping, no indent or bullet; lines of
 * code stay together whatever their indent); then type each group (internal/layout/Typing): title, section header
 * with its level, list item, caption, footnote, code (fixed-pitch fonts), formula, page header, footer or number
 * (by the margins), or paragraph. Text at other angles (margin stamps) follows as paragraphs of its own. Whatever a
 * page holds, the worst it gets is plain paragraphs: nothing here throws on odd input, and the work is bounded.
 *
 * Headers and footers that only repetition across pages reveals, and paragraphs that go on across a page break, are
 * the document's business (LayoutEngine's document pass).
 */
import type { PageShape, TextItem } from "./PdfEngine.js"
import * as Deskew from "./internal/layout/Deskew.js"
import { type BBox, median, roundBox, union } from "./internal/layout/Geometry.js"
import * as Markdown from "./internal/layout/Markdown.js"
import * as Markers from "./internal/layout/Markers.js"
import { looksLikeCode, type MaybeMonospace, monospaceFonts } from "./internal/layout/Monospace.js"
import { endsSentence } from "./internal/layout/Text.js"
import * as Table from "./internal/layout/Table.js"
import { type PageFrame, typeGroups } from "./internal/layout/Typing.js"

export type { BBox } from "./internal/layout/Geometry.js"
export { joinLines } from "./internal/layout/Text.js"

/** Every block type, in the words of the layout issue (and docling); `heading` is the type of older checkpoints. */
export const BLOCK_TYPES = [
  "title",
  "section_header",
  "paragraph",
  "list_item",
  "caption",
  "footnote",
  "code",
  "formula",
  "table",
  "picture",
  "page_header",
  "page_footer",
  "page_number",
  "heading"
] as const

/** What a block is. */
export type BlockType = typeof BLOCK_TYPES[number]

/** A unit of the page in reading order. */
export interface Block {
  readonly type: BlockType
  /** 1 to 6 for a section header (1 the highest), 1 for the title, 0 for the other types. */
  readonly level: number
  readonly bbox: BBox
  /** A table's text is its rows, one a line, cells separated by tabs. */
  readonly text: string
  /**
   * A table's rows, top to bottom, each its cells left to right; a cell that spans rows appears only in its first
   * row (as in HTML). Table blocks only.
   */
  readonly rows?: ReadonlyArray<ReadonlyArray<TableCell>> | undefined
  /** How many rows at the top of a table are its header (0 when none is evident). Table blocks only. */
  readonly header_rows?: number | undefined
}

/** A cell of a table. */
export interface TableCell {
  readonly text: string
  /** The cell's box (its rules' box on a ruled table), in points, top-left origin. */
  readonly bbox: BBox
  /** The column the cell starts in, from 0. */
  readonly column: number
  /** How many rows and columns it covers, when more than 1. */
  readonly row_span?: number | undefined
  readonly column_span?: number | undefined
}

/** Items on one baseline, left to right. */
export interface Line {
  /** A table found on the page, standing in its place in reading order (its own line: no text of its own). */
  readonly table?: Block | undefined
  readonly text: string
  readonly bbox: BBox
  /** The line's text size (see `lineSize`: superscripts and drop caps do not count). */
  readonly fontSize: number
  /** The font most of the line's characters are in (the engine's name for it). */
  readonly font: string
  /** The fraction of the line's characters in a fixed-pitch font, 0 to 1. */
  readonly mono: number
  /** The size of the line's first item: a footnote's mark is smaller than its text. */
  readonly leadSize: number
  /** The width of one character in the line's fixed-pitch font, 0 without one (code's indentation). */
  readonly advance: number
}

/** Options of `blocks`. */
export interface LayoutOptions {
  /** The body text size to measure headings against; default the page's own (see `bodySize`). */
  readonly bodySize?: number | undefined
  /**
   * The page: its displayed size in points (its margins are where page numbers and running heads are; default the
   * box around the text) and whether it is the document's first (where a title is looked for; default yes).
   */
  readonly page?: { readonly width: number; readonly height: number; readonly first?: boolean | undefined } | undefined
  /** The lines and rectangles the page paints (PdfEngine's `shapes`): tables are found from their rules. */
  readonly shapes?: ReadonlyArray<PageShape> | undefined
}

/** Whether the items hold text a reader can use: at least one letter or digit (not blanks, controls or U+FFFD). */
export const hasUsableText = (items: ReadonlyArray<TextItem>): boolean =>
  items.some((item) => /[\p{L}\p{N}]/u.test(item.text))

/** The body text size: the font size (to half a point) that most characters have. 0 without text. */
export const bodySize = (items: ReadonlyArray<Pick<TextItem, "text" | "fontSize">>): number => {
  const weights = new Map<number, number>()
  for (const item of items) {
    const size = Math.round(item.fontSize * 2) / 2
    weights.set(size, (weights.get(size) ?? 0) + item.text.trim().length)
  }
  let best = 0
  let bestWeight = -1
  for (const [size, weight] of weights) {
    if (weight > bestWeight || (weight === bestWeight && size < best)) [best, bestWeight] = [size, weight]
  }
  return best
}

/** The page's blocks in reading order. */
export const blocks = (items: ReadonlyArray<TextItem>, options: LayoutOptions = {}): Array<Block> => {
  const usable = items.filter((item) => item.text.trim() !== "")
  if (usable.length === 0) return []
  const angle = dominantAngle(usable)
  const page = options.page
  const box = page === undefined ? union(usable.map(boxOf)) : turnBox([0, 0, page.width, page.height], -angle)
  // tables first (on pages read upright): their cells are not paragraphs, nor their columns the page's
  const mono = monospaceFonts(usable.filter((item) => item.angle === angle))
  const found = angle === 0 ? findTables(usable, options.shapes ?? [], { box, monospace: mono }) : Table.none
  const rest = found.used.size === 0 ? usable : usable.filter((item) => !found.used.has(item))
  const upright = rest.filter((item) => item.angle === angle).map((item) => turn(item, -angle))
  const body = options.bodySize ?? bodySize(upright)
  const all = readingOrder([...upright, ...found.tables.map(standIn)]).flatMap((region) => regionLines(region, mono))
  const frame: PageFrame = {
    body,
    bodyFont: bodyFont(upright, body),
    box: page === undefined ? union(upright.map(boxOf)) : box,
    first: page?.first ?? true
  }
  const flow = typeGroups(groupLines(all, frame), frame).map((b) => turnBlock(b, angle))
  return [...flow, ...strayBlocks(rest.filter((item) => item.angle !== angle))]
}

/** The page's tables (internal/layout/Table); none when finding them fails, whatever the page holds. */
const findTables = (
  items: ReadonlyArray<TextItem>,
  shapes: ReadonlyArray<PageShape>,
  context: { readonly box: BBox; readonly monospace: ReadonlySet<string> }
): Table.Found => {
  try {
    return Table.find(items, shapes, { ...context, lines: (cell) => lines(cell, context.monospace) })
  } catch {
    return Table.none
  }
}

/** A text item that stands for a table in the XY-cut, so that the cut goes round it and reading order places it. */
type StandIn = TextItem & { readonly table: Block }

const standIn = (table: Block): StandIn => ({
  text: "\u0000",
  x: table.bbox[0],
  y: table.bbox[1],
  width: table.bbox[2] - table.bbox[0],
  height: table.bbox[3] - table.bbox[1],
  fontName: "",
  fontSize: 0,
  angle: 0,
  table
})

const isStandIn = (item: TextItem): item is StandIn => "table" in item

/** A region's lines, a table's stand-in as a line of its own where its top falls among them. */
const regionLines = (region: ReadonlyArray<TextItem>, mono: ReadonlySet<string>): Array<Line> => {
  const tables = region.filter(isStandIn)
  if (tables.length === 0) return lines(region, mono)
  const out = lines(region.filter((item) => !isStandIn(item)), mono)
  for (const { table } of tables.sort((a, b) => a.y - b.y)) {
    const at = out.findIndex((line) => line.table === undefined && line.bbox[1] >= table.bbox[1])
    const line: Line = {
      text: "",
      bbox: table.bbox,
      fontSize: 0,
      font: "",
      mono: 0,
      leadSize: 0,
      advance: 0,
      table
    }
    out.splice(at < 0 ? out.length : at, 0, line)
  }
  return out
}

/** Blocks as markdown (headings as `#`, lists, code fences; see internal/layout/Markdown), separated by blank lines. */
export const markdown = (page: ReadonlyArray<Block>): string => Markdown.pageMarkdown(page)

/** One block as markdown. */
export const blockMarkdown = (block: Block): string => Markdown.blockMarkdown(block)

/** The font most characters of body size are in. */
const bodyFont = (items: ReadonlyArray<TextItem>, body: number): string => {
  const weights = new Map<string, number>()
  for (const item of items) {
    if (Math.abs(item.fontSize - body) > 0.5) continue
    weights.set(item.fontName, (weights.get(item.fontName) ?? 0) + item.text.length)
  }
  return [...weights].sort((a, b) => b[1] - a[1])[0]?.[0] ?? ""
}

// ---------------------------------------------------------------------------------------------------------------
// Direction: most text runs left to right as displayed; a page printed sideways is turned so that its text does.

/** The angle most characters are written at. */
const dominantAngle = (items: ReadonlyArray<TextItem>): number => {
  const weights = new Map<number, number>()
  for (const item of items) weights.set(item.angle, (weights.get(item.angle) ?? 0) + item.text.length)
  let best = 0
  for (const [angle, weight] of weights) if (weight > (weights.get(best) ?? 0)) best = angle
  return best
}

/** Rotates a box by `degrees` clockwise about the origin and returns the box around the result. */
const turnBox = (box: BBox, degrees: number): BBox => Deskew.turnBox(box, degrees, [0, 0])

const turn = (item: TextItem, degrees: number): TextItem => {
  if (degrees === 0) return item
  const [x1, y1, x2, y2] = turnBox(boxOf(item), degrees)
  return { ...item, x: x1, y: y1, width: x2 - x1, height: y2 - y1, angle: 0 }
}

const turnBlock = (block: Block, degrees: number): Block =>
  degrees === 0 ? block : { ...block, bbox: roundBox(turnBox(block.bbox, degrees)) }

/** Text at other angles than the page's (a stamp up the margin): one paragraph per angle, in its own order. */
const strayBlocks = (items: ReadonlyArray<TextItem>): Array<Block> => {
  const angles = [...new Set(items.map((item) => item.angle))]
  return angles.map((angle) => {
    const turned = items.filter((item) => item.angle === angle).map((item) => turn(item, -angle))
    const text = readingOrder(turned).flatMap((region) => lines(region)).map((line) => line.text).join(" ")
    return { type: "paragraph" as const, level: 0, bbox: roundBox(turnBox(union(turned.map(boxOf)), angle)), text }
  })
}

// ---------------------------------------------------------------------------------------------------------------
// Regions: a recursive XY-cut. At each step the widest empty vertical band that runs through the whole region (a
// column gutter) cuts it, else the widest empty horizontal band; a vertical band must be wide (a gutter, not a word
// space), the region must hold more than one line, and both sides must look like columns (not a list's bullets
// beside its items). The region is kept sorted both ways, so each step is linear: this runs on the main thread.

/** Vertical gaps narrower than this many font sizes are word spaces, not gutters. */
const GUTTER = 0.8

/** Above this many items a page is one region (a fuzzed page can hold 100,000s). */
const MAX_CUT_ITEMS = 10_000

/**
 * Cuts deeper than this stop: deeper regions are runs of lines in one column, where cutting changes no order. It
 * bounds the work on a page built to be cut one line at a time.
 */
const MAX_CUT_DEPTH = 300

/** The items cut into regions, in reading order: top to bottom, then left to right. */
export const readingOrder = (items: ReadonlyArray<TextItem>): Array<Array<TextItem>> => {
  if (items.length <= 1 || items.length > MAX_CUT_ITEMS) return items.length === 0 ? [] : [[...items]]
  const gutter = GUTTER * median(items.filter((item) => item.fontSize > 0).map((item) => item.fontSize))
  return cut(sortedBy(items, "y"), sortedBy(items, "x"), gutter, 0)
}

type Axis = "x" | "y"
const start = (item: TextItem, axis: Axis) => axis === "x" ? item.x : item.y
const end = (item: TextItem, axis: Axis) => axis === "x" ? item.x + item.width : item.y + item.height
const sortedBy = (items: ReadonlyArray<TextItem>, axis: Axis) =>
  [...items].sort((a, b) => start(a, axis) - start(b, axis))

/** One XY-cut step over a region given sorted by y and by x. */
const cut = (
  byY: ReadonlyArray<TextItem>,
  byX: ReadonlyArray<TextItem>,
  gutter: number,
  depth: number
): Array<Array<TextItem>> => {
  if (byY.length <= 1 || depth >= MAX_CUT_DEPTH) return [[...byY]]
  const across = widestGap(byY, "y")
  const down = bands(byY) > 1 ? widestGap(byX, "x") : undefined
  // a column gutter wins over any gap across: cutting the page across first would split both columns at that
  // height (between paragraphs, or where a figure leaves one column empty) and read the lower halves after the upper
  // ones; a title, a wide figure's caption or a full-width footnote crosses the gutter, so no gutter runs past them
  if (down !== undefined && down.width >= gutter) {
    // each side of the cut, in both orders: [left, right] sorted by y, and the same sorted by x
    const [ys, xs] = [split(byY, "x", down.at), split(byX, "x", down.at)]
    if (areColumns(ys[0], ys[1])) {
      return [...cut(ys[0], xs[0], gutter, depth + 1), ...cut(ys[1], xs[1], gutter, depth + 1)]
    }
  }
  if (across === undefined) return [[...byY]]
  const [ys, xs] = [split(byY, "y", across.at), split(byX, "y", across.at)]
  return [...cut(ys[0], xs[0], gutter, depth + 1), ...cut(ys[1], xs[1], gutter, depth + 1)]
}

/** The items before `at` along `axis` and the rest, each in its given order. */
const split = (items: ReadonlyArray<TextItem>, axis: Axis, at: number) =>
  [items.filter((item) => start(item, axis) < at), items.filter((item) => start(item, axis) >= at)] as const

/** The widest band along `axis` that no item crosses, as its width and where the second part starts. */
const widestGap = (sorted: ReadonlyArray<TextItem>, axis: Axis): { width: number; at: number } | undefined => {
  let reach = end(sorted[0]!, axis)
  let best: { width: number; at: number } | undefined
  for (const item of sorted) {
    const gap = start(item, axis) - reach
    if (gap > 0 && (best === undefined || gap > best.width)) best = { width: gap, at: start(item, axis) }
    reach = Math.max(reach, end(item, axis))
  }
  return best
}

/** How many horizontal bands (lines, roughly) items sorted by y fall into. */
const bands = (byY: ReadonlyArray<TextItem>): number => {
  let count = 0
  let reach = -Infinity
  for (const item of byY) {
    // a band continues while the next item starts above the middle of the band's last line
    if (item.y >= reach) count++
    reach = Math.max(reach, item.y + item.height / 2)
  }
  return count
}

/**
 * Whether the two sides of a vertical gap are columns (both two lines or more) rather than, say, a page number beside
 * a running title, a list's bullets or numbers beside its items (a side that holds nothing else), or a receipt's
 * prices beside their labels (a side of short lines that sit on the other side's rows), which read row by row.
 */
const areColumns = (left: ReadonlyArray<TextItem>, right: ReadonlyArray<TextItem>): boolean => {
  if (left.every((item) => Markers.isMarker(item.text)) || right.every((item) => Markers.isMarker(item.text))) {
    return false
  }
  if (bands(left) < 2 || bands(right) < 2) return false
  // values stand right of their labels; a narrow column on the left is a margin's stamp or line numbers, its own column
  return !valuesBeside(lines(right), lines(left))
}

/** A side of lines this short (median characters) may be values beside labels; prose columns run far longer. */
const VALUE_LENGTH = 8

/**
 * ... and a side of lines up to this long when at least FIGURES_SHARE of them hold a digit: a receipt's quantities,
 * unit prices and amounts ("3 8.00 24.00 S") under their headings ("QTY U/P AMOUNT") and units ("(RM) (RM)").
 */
const FIGURES_LENGTH = 20

const FIGURES_SHARE = 1 / 3

/**
 * ... when its lines sit on rows of the other side, all but this share of them, or all but one of three or more (a
 * line of units under the headings has no label beside it, and the cut may leave it with only a few rows).
 */
const VALUE_STRAYS = 0.25

/** Whether `values` are short lines nearly all on the rows of `labels`' lines: a column of values, not of text. */
const valuesBeside = (values: ReadonlyArray<Line>, labels: ReadonlyArray<Line>): boolean => {
  const length = median(values.map((line) => line.text.length))
  const figures = values.filter((line) => /\d/.test(line.text)).length >= FIGURES_SHARE * values.length
  if (length > (figures ? FIGURES_LENGTH : VALUE_LENGTH)) return false
  const onRow = (line: Line) =>
    labels.some((label) => {
      const overlap = Math.min(line.bbox[3], label.bbox[3]) - Math.max(line.bbox[1], label.bbox[1])
      return overlap >= 0.5 * Math.min(line.bbox[3] - line.bbox[1], label.bbox[3] - label.bbox[1])
    })
  const strays = values.length - values.filter(onRow).length
  return strays <= Math.max(values.length >= 3 ? 1 : 0, Math.floor(VALUE_STRAYS * values.length))
}

// ---------------------------------------------------------------------------------------------------------------
// Lines: items whose vertical extents overlap by half of the smaller one share a line.

/**
 * A region's items as lines, top to bottom. `monospace` names the page's fixed-pitch fonts (see
 * internal/layout/Monospace), for telling code lines.
 */
export const lines = (items: ReadonlyArray<TextItem>, monospace: ReadonlySet<string> = noFonts): Array<Line> => {
  const sorted = [...items].sort((a, b) => (a.y + a.height / 2) - (b.y + b.height / 2))
  const groups: Array<Array<TextItem>> = []
  let top = 0
  let bottom = 0
  for (const item of sorted) {
    const current = groups[groups.length - 1]
    const overlap = Math.min(bottom, item.y + item.height) - Math.max(top, item.y)
    if (current !== undefined && overlap >= 0.5 * Math.min(item.height, bottom - top)) {
      current.push(item)
      top = Math.min(top, item.y)
      bottom = Math.max(bottom, item.y + item.height)
    } else {
      groups.push([item])
      top = item.y
      bottom = item.y + item.height
    }
  }
  return groups.map((group) => toLine(group, monospace))
}

const noFonts: ReadonlySet<string> = new Set()

const toLine = (items: ReadonlyArray<MaybeMonospace>, monospace: ReadonlySet<string>): Line => {
  // right to left when most letters are Arabic or Hebrew (each item's own text is in reading order already)
  const rtl = isRightToLeft(items)
  const sorted = [...items].sort((a, b) => (rtl ? b.x + b.width - (a.x + a.width) : a.x - b.x))
  let text = ""
  let previous: TextItem | undefined
  const fonts = new Map<string, number>()
  let monoChars = 0
  let chars = 0
  const advances: Array<number> = []
  for (const item of sorted) {
    if (previous !== undefined && isDuplicate(previous, item)) continue
    if (previous !== undefined && needsSpace(previous, item, text, rtl)) text += " "
    text += item.text
    previous = item
    const length = item.text.trim().length
    chars += length
    fonts.set(item.fontName, (fonts.get(item.fontName) ?? 0) + length)
    if (monospace.has(item.fontName) || item.monospace === true) {
      monoChars += length
      if (item.text.length >= 2) advances.push(item.width / item.text.length)
    }
  }
  const first = sorted[0]!
  return {
    text: Markers.normaliseBullet(composeAccents(text.replace(/\s+/g, " ").trim())),
    bbox: roundBox(union(sorted.map(boxOf))),
    fontSize: lineSize(sorted),
    font: [...fonts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? first.fontName,
    mono: chars === 0 ? 0 : monoChars / chars,
    // a lone bullet glyph before the text is not a footnote's mark
    leadSize: first.fontSize,
    advance: median(advances)
  }
}

/**
 * A line's font size: the largest size that carries at least 30% of its characters. Not the most common one: pdf.js
 * runs a subscript's size on into the rest of the line ("N" + "zero) for the catchments ..." at the subscript's
 * size), so a body line can have most characters at the small size. Not simply the largest either: a drop cap or a
 * big operator would make a body line look like a heading.
 */
const lineSize = (items: ReadonlyArray<TextItem>): number => {
  const total = items.reduce((n, item) => n + item.text.length, 0)
  const sizes = [...new Set(items.map((item) => item.fontSize))].sort((a, b) => b - a)
  return sizes.find((size) =>
    items.reduce((n, item) => n + (item.fontSize === size ? item.text.length : 0), 0) >= 0.3 * total
  ) ?? sizes[0] ?? 0
}

/** Spacing accents that TeX places before (or over) a letter as a glyph of their own, as combining marks. */
const accents: Record<string, string> = {
  "\u00a8": "\u0308", // ¨
  "\u00b4": "\u0301", // ´
  "\u02c6": "\u0302", // ˆ
  "\u02dc": "\u0303", // ˜
  "\u00b8": "\u0327", // ¸
  "\u02c7": "\u030c", // ˇ
  "\u02d8": "\u0306", // ˘
  "\u02da": "\u030a" // ˚
}

/** "na¨ıve" as "naïve": the accent moves after its letter (a dotless i becomes an i) and composes with it. */
export const composeAccents = (text: string): string =>
  /[\u00a8\u00b4\u02c6\u02dc\u00b8\u02c7\u02d8\u02da]/.test(text)
    ? text.replace(
      /([\u00a8\u00b4\u02c6\u02dc\u00b8\u02c7\u02d8\u02da]) ?(\p{L})/gu,
      (_, accent: string, letter: string) => (letter === "\u0131" ? "i" : letter) + accents[accent]
    ).normalize("NFC")
    : text

/** Some producers draw text twice, slightly offset, to fake bold. */
const isDuplicate = (a: TextItem, b: TextItem): boolean =>
  a.text === b.text && Math.abs(a.x - b.x) < 0.3 * a.fontSize && Math.abs(a.y - b.y) < 0.3 * a.fontSize

/** Whether a space goes between the text so far, ending with `previous`, and `item`, the next in reading order. */
const needsSpace = (previous: TextItem, item: TextItem, text: string, rtl: boolean): boolean => {
  const gap = rtl ? previous.x - (item.x + item.width) : item.x - (previous.x + previous.width)
  return !/\s$/.test(text) && !/^\s/.test(item.text) && gap > 0.15 * Math.min(previous.fontSize, item.fontSize)
}

const RTL = /[\p{Script=Arabic}\p{Script=Hebrew}\p{Script=Syriac}\p{Script=Thaana}]/gu
const LETTER = /\p{L}/gu

/** Whether most of the letters of the items are of a right-to-left script. */
const isRightToLeft = (items: ReadonlyArray<TextItem>): boolean => {
  let rtl = 0
  let letters = 0
  for (const item of items) {
    rtl += item.text.match(RTL)?.length ?? 0
    letters += item.text.match(LETTER)?.length ?? 0
  }
  return rtl > 0 && rtl >= 0.5 * letters
}

// ---------------------------------------------------------------------------------------------------------------
// Paragraphs: consecutive lines that continue one another.

/** Consecutive lines joined into paragraphs and typed (without the page: its margins are those of the lines). */
export const paragraphs = (all: ReadonlyArray<Line>, body: number): Array<Block> =>
  typeGroups(groupLines(all, { body, bodyFont: "" }), {
    body,
    bodyFont: "",
    box: all.length === 0 ? [0, 0, 0, 0] : union(all.map((line) => line.bbox)),
    first: false
  })

/** Consecutive lines grouped while each continues the one before. */
const groupLines = (all: ReadonlyArray<Line>, page = { body: 0, bodyFont: "" }): Array<Array<Line>> => {
  const spacing = lineSpacing(all)
  const groups: Array<Array<Line>> = []
  for (const line of all) {
    const current = groups[groups.length - 1]
    const alone = line.table !== undefined || current?.[0]?.table !== undefined
    if (current !== undefined && !alone && continues(current, line, spacing, page)) current.push(line)
    else groups.push([line])
  }
  return groups
}

/** The usual gap between lines of a paragraph, as a fraction of the font size. */
const lineSpacing = (all: ReadonlyArray<Line>): number => {
  const gaps: Array<number> = []
  for (let i = 1; i < all.length; i++) {
    const [a, b] = [all[i - 1]!, all[i]!]
    if (a.table !== undefined || b.table !== undefined) continue
    const gap = (b.bbox[1] - a.bbox[3]) / a.fontSize
    const sameSize = Math.abs(a.fontSize - b.fontSize) < 0.1 * a.fontSize
    if (sameSize && gap > -0.3 && gap < 1.5 && overlapsX(a, b)) gaps.push(gap)
  }
  return gaps.length === 0 ? 0.3 : median(gaps)
}

/**
 * Lines of code: mostly in a fixed-pitch font, or reading as code in a font that is not the body's (a listing whose
 * font the page does not measure as fixed-pitch).
 */
const isCodeLine = (line: Line, bodyFont: string): boolean =>
  line.mono >= 0.8 || (bodyFont !== "" && line.font !== bodyFont && looksLikeCode(line.text))

/**
 * Whether `line` carries on the paragraph `group` (its last line just above, same size, no indent or bullet). Lines
 * of code carry on lines of code whatever their indent or length, while they keep to the code's font; code and prose
 * never share a group.
 */
const continues = (
  group: ReadonlyArray<Line>,
  line: Line,
  spacing: number,
  { body, bodyFont }: { readonly body: number; readonly bodyFont: string }
): boolean => {
  const last = group[group.length - 1]!
  const size = last.fontSize
  const gap = (line.bbox[1] - last.bbox[3]) / size
  if (Math.abs(line.fontSize - size) > 0.1 * size) return false
  if (isCodeLine(group[0]!, bodyFont)) {
    const sameFont = line.mono >= 0.8 ? last.mono >= 0.8 : line.font === last.font && line.font !== bodyFont
    return sameFont && gap >= -0.3 && gap <= Math.max(spacing * 2, spacing + 0.8) &&
      line.bbox[0] >= group[0]!.bbox[0] - size
  }
  if (isCodeLine(line, bodyFont)) return false
  if (gap < -0.3 || gap > Math.max(spacing * 1.5, spacing + 0.35)) return false
  if (!overlapsX(last, line)) return false
  // a bullet starts an item, a caption's label a caption; so does a number, after a sentence or a colon (not "(1)"
  // in the middle of one)
  if (Markers.bullet.test(line.text) || Markers.caption.test(line.text)) return false
  if (Markers.isNumberedItem(line.text) && (endsSentence(last.text) || /:$/.test(last.text))) return false
  // a line that stops well short of the next one ends its paragraph (or is a heading of the body's size); the
  // lines of a large heading are as ragged as they come
  const short = line.bbox[2] - last.bbox[2] > Math.max(4 * size, 0.25 * (line.bbox[2] - line.bbox[0]))
  const large = body > 0 && size >= 1.3 * body
  if (short && !large && !/[-\u00ad\u2010]$/.test(last.text)) return false
  // a first-line indent starts a paragraph: the line starts well right of the paragraph's previous line (but a
  // list item's own lines hang to the right of its bullet)
  const indented = line.bbox[0] - last.bbox[0] > 0.8 * size && line.bbox[2] >= last.bbox[2] - size
  return !(indented && !Markers.startsListItem(group[0]!.text) && !isCentred(last, line))
}

const overlapsX = (a: Line, b: Line): boolean =>
  Math.min(a.bbox[2], b.bbox[2]) - Math.max(a.bbox[0], b.bbox[0]) > 0

/** Centred lines (titles, author blocks) move their left edge without starting a paragraph. */
const isCentred = (a: Line, b: Line): boolean =>
  Math.abs((a.bbox[0] + a.bbox[2]) - (b.bbox[0] + b.bbox[2])) / 2 < 0.5 * a.fontSize &&
  Math.abs(a.bbox[2] - b.bbox[2]) > 0.8 * a.fontSize

// ---------------------------------------------------------------------------------------------------------------

const boxOf = (item: TextItem): BBox => [item.x, item.y, item.x + item.width, item.y + item.height]
