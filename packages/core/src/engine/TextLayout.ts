/**
 * TextLayout: a page's text items to blocks in reading order, and blocks to markdown. Pure functions, no pdf.js.
 *
 * The steps: keep the text in the page's dominant direction (a sideways page is turned upright first); cut the page
 * into regions at clear gaps (a recursive XY-cut, so a two-column page is read column by column); group each
 * region's items into lines; join consecutive lines into paragraphs while they continue one another (same size,
 * close below, overlapping, no indent or bullet); call a short paragraph whose font is clearly larger than the body
 * text a heading. Text at other angles (margin stamps) follows as paragraphs of its own. The layout issue replaces
 * the region step with a model; the rest stays.
 */
import type { TextItem } from "./PdfEngine.js"

/** A box in points: left, top, right, bottom, with a top-left origin. */
export type BBox = readonly [x1: number, y1: number, x2: number, y2: number]

/** A unit of the page in reading order. */
export interface Block {
  readonly type: "heading" | "paragraph"
  /** 1 to 3 for a heading (1 the largest), 0 for a paragraph. */
  readonly level: number
  readonly bbox: BBox
  readonly text: string
}

/** Items on one baseline, left to right. */
export interface Line {
  readonly text: string
  readonly bbox: BBox
  /** The line's text size (see `lineSize`: superscripts and drop caps do not count). */
  readonly fontSize: number
}

/** Options of `blocks`. */
export interface LayoutOptions {
  /** The body text size to measure headings against; default the page's own (see `bodySize`). */
  readonly bodySize?: number | undefined
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
  const angle = dominantAngle(usable)
  const upright = usable.filter((item) => item.angle === angle).map((item) => turn(item, -angle))
  const body = options.bodySize ?? bodySize(upright)
  const flow = paragraphs(readingOrder(upright).flatMap(lines), body).map((b) => turnBlock(b, angle))
  return [...flow, ...strayBlocks(usable.filter((item) => item.angle !== angle))]
}

/** Blocks as markdown: headings as `#`, paragraphs as text, separated by blank lines. */
export const markdown = (page: ReadonlyArray<Block>): string => page.map(blockMarkdown).join("\n\n")

/** One block as markdown. */
export const blockMarkdown = (block: Block): string =>
  block.type === "heading" ? `${"#".repeat(block.level)} ${block.text}` : block.text.replace(bullet, "- ")

const bullet = /^[•●▪◦‣⁃∙\uf0b7]\s*/u

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
const turnBox = (box: BBox, degrees: number): BBox => {
  if (degrees === 0) return box
  const r = (degrees * Math.PI) / 180
  const [cos, sin] = [Math.cos(r), Math.sin(r)]
  const points = [[box[0], box[1]], [box[2], box[1]], [box[0], box[3]], [box[2], box[3]]]
    .map(([x, y]) => [x! * cos - y! * sin, x! * sin + y! * cos] as const)
  return union(points.map(([x, y]) => [x, y, x, y] as const))
}

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
    const text = readingOrder(turned).flatMap(lines).map((line) => line.text).join(" ")
    return { type: "paragraph" as const, level: 0, bbox: roundBox(turnBox(union(turned.map(boxOf)), angle)), text }
  })
}

// ---------------------------------------------------------------------------------------------------------------
// Regions: a recursive XY-cut. At each step the widest empty band across the whole region wins; a vertical band
// must be wide (a column gutter, not a word space), the region must hold more than one line, and both sides must
// look like columns. The region is kept sorted both ways, so each step is linear: this runs on the main thread.

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
  const gutter = GUTTER * median(items.map((item) => item.fontSize))
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
  if (down !== undefined && down.width >= gutter && (across === undefined || down.width > across.width)) {
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
 * Whether the two sides of a vertical gap are columns rather than, say, a page number and a running title above a
 * section heading: both sides two lines or more, or one side three or more.
 */
const areColumns = (left: ReadonlyArray<TextItem>, right: ReadonlyArray<TextItem>): boolean => {
  const [a, b] = [bands(left), bands(right)]
  return (a >= 2 && b >= 2) || a >= 3 || b >= 3
}

// ---------------------------------------------------------------------------------------------------------------
// Lines: items whose vertical extents overlap by half of the smaller one share a line.

/** A region's items as lines, top to bottom. */
export const lines = (items: ReadonlyArray<TextItem>): Array<Line> => {
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
  return groups.map(toLine)
}

const toLine = (items: ReadonlyArray<TextItem>): Line => {
  const sorted = [...items].sort((a, b) => a.x - b.x)
  let text = ""
  let previous: TextItem | undefined
  for (const item of sorted) {
    if (previous !== undefined && isDuplicate(previous, item)) continue
    if (previous !== undefined && needsSpace(previous, item, text)) text += " "
    text += item.text
    previous = item
  }
  return {
    text: composeAccents(text.replace(/\s+/g, " ").trim()),
    bbox: roundBox(union(sorted.map(boxOf))),
    fontSize: lineSize(sorted)
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

const needsSpace = (previous: TextItem, item: TextItem, text: string): boolean =>
  !/\s$/.test(text) && !/^\s/.test(item.text) &&
  item.x - (previous.x + previous.width) > 0.15 * Math.min(previous.fontSize, item.fontSize)

// ---------------------------------------------------------------------------------------------------------------
// Paragraphs and headings.

/** Headings are at least this much larger than the body text; the level follows the ratio. */
const HEADING_RATIO = 1.15

/** Consecutive lines joined into paragraphs, headings told apart by size. */
export const paragraphs = (all: ReadonlyArray<Line>, body: number): Array<Block> => {
  const spacing = lineSpacing(all)
  const groups: Array<Array<Line>> = []
  for (const line of all) {
    const current = groups[groups.length - 1]
    if (current !== undefined && continues(current, line, spacing)) current.push(line)
    else groups.push([line])
  }
  return groups.map((group) => toBlock(group, body))
}

/** The usual gap between lines of a paragraph, as a fraction of the font size. */
const lineSpacing = (all: ReadonlyArray<Line>): number => {
  const gaps: Array<number> = []
  for (let i = 1; i < all.length; i++) {
    const [a, b] = [all[i - 1]!, all[i]!]
    const gap = (b.bbox[1] - a.bbox[3]) / a.fontSize
    const sameSize = Math.abs(a.fontSize - b.fontSize) < 0.1 * a.fontSize
    if (sameSize && gap > -0.3 && gap < 1.5 && overlapsX(a, b)) gaps.push(gap)
  }
  return gaps.length === 0 ? 0.3 : median(gaps)
}

/** Whether `line` carries on the paragraph `group` (its last line just above, same size, no indent or bullet). */
const continues = (group: ReadonlyArray<Line>, line: Line, spacing: number): boolean => {
  const last = group[group.length - 1]!
  const size = last.fontSize
  const gap = (line.bbox[1] - last.bbox[3]) / size
  if (Math.abs(line.fontSize - size) > 0.1 * size) return false
  if (gap < -0.3 || gap > Math.max(spacing * 1.5, spacing + 0.35)) return false
  if (!overlapsX(last, line)) return false
  if (bullet.test(line.text)) return false
  // a line that stops well short of the next one ends its paragraph (or is a heading of the body's size)
  const short = line.bbox[2] - last.bbox[2] > Math.max(4 * size, 0.25 * (line.bbox[2] - line.bbox[0]))
  if (short && !/[-\u00ad\u2010]$/.test(last.text)) return false
  // a first-line indent starts a paragraph: the line starts well right of the paragraph's previous line (but a
  // list item's own lines hang to the right of its bullet)
  const indented = line.bbox[0] - last.bbox[0] > 0.8 * size && line.bbox[2] >= last.bbox[2] - size
  return !(indented && !bullet.test(group[0]!.text) && !isCentred(last, line))
}

const overlapsX = (a: Line, b: Line): boolean =>
  Math.min(a.bbox[2], b.bbox[2]) - Math.max(a.bbox[0], b.bbox[0]) > 0

/** Centred lines (titles, author blocks) move their left edge without starting a paragraph. */
const isCentred = (a: Line, b: Line): boolean =>
  Math.abs((a.bbox[0] + a.bbox[2]) - (b.bbox[0] + b.bbox[2])) / 2 < 0.5 * a.fontSize &&
  Math.abs(a.bbox[2] - b.bbox[2]) > 0.8 * a.fontSize

const toBlock = (group: ReadonlyArray<Line>, body: number): Block => {
  const text = joinLines(group.map((line) => line.text))
  const size = bodySize(group.map((line) => ({ text: line.text, fontSize: line.fontSize })))
  const level = headingLevel(size, body, group.length, text)
  return {
    type: level > 0 ? "heading" : "paragraph",
    level,
    bbox: roundBox(union(group.map((line) => line.bbox))),
    text
  }
}

/**
 * 1 to 3 for text clearly larger than the body (short, with letters), 0 otherwise. The level follows the ratio to
 * the body size, not the rank of the sizes on the page: pages are laid out one at a time (a job streams them and may
 * resume half-way), and a ratio numbers a page's headings like its neighbours' without seeing them.
 */
const headingLevel = (size: number, body: number, lineCount: number, text: string): number => {
  if (body <= 0 || lineCount > 4 || text.length > 200 || !/\p{L}/u.test(text)) return 0
  const ratio = size / body
  if (ratio >= 1.6) return 1
  if (ratio >= 1.3) return 2
  return ratio >= HEADING_RATIO ? 3 : 0
}

/**
 * Lines joined with spaces. A word hyphenated across a line end is joined again ("recog-" "nition"); a hyphen before
 * a capital or a digit is part of the word and stays ("Trace-" "Monkey", "ISO-" "9001"). Chinese and Japanese write
 * no spaces between words, so a line break between two of their characters joins with nothing.
 */
export const joinLines = (texts: ReadonlyArray<string>): string =>
  texts.reduce((text, next) => {
    if (text === "") return next
    if (UNSPACED_END.test(text) && UNSPACED_START.test(next)) return text + next
    if (/\u00ad$/.test(text)) return text.slice(0, -1) + next
    if (/\p{L}[-\u2010]$/u.test(text)) {
      if (/^\p{Ll}/u.test(next)) return text.slice(0, -1) + next
      if (/^[\p{Lu}\p{N}]/u.test(next)) return text + next
    }
    return `${text} ${next}`
  }, "")

// Han, kana and their punctuation and full-width forms (Korean spaces its words, so Hangul is not among them)
const UNSPACED = "\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\u3000-\\u303F\\uFF01-\\uFF60\\u30FC"
const UNSPACED_END = new RegExp(`[${UNSPACED}]$`, "u")
const UNSPACED_START = new RegExp(`^[${UNSPACED}]`, "u")

// ---------------------------------------------------------------------------------------------------------------

const boxOf = (item: TextItem): BBox => [item.x, item.y, item.x + item.width, item.y + item.height]

/** The box around boxes (a loop, not Math.min(...): a page can hold more items than a call has arguments). */
const union = (boxes: ReadonlyArray<BBox>): BBox => {
  let [x1, y1, x2, y2] = [Infinity, Infinity, -Infinity, -Infinity]
  for (const b of boxes) {
    x1 = Math.min(x1, b[0])
    y1 = Math.min(y1, b[1])
    x2 = Math.max(x2, b[2])
    y2 = Math.max(y2, b[3])
  }
  return [x1, y1, x2, y2]
}

const roundBox = (box: BBox): BBox => box.map((n) => Math.round(n * 100) / 100) as unknown as BBox

/** The middle value; of two middle values, the larger. 0 for none. */
const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length === 0 ? 0 : sorted[Math.floor(sorted.length / 2)]!
}
