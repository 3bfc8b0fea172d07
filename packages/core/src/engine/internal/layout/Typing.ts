/**
 * Typing: a page's groups of lines (paragraph candidates, in reading order) to typed blocks. Each group is looked at
 * alone first (code, heading by size, caption, list item, formula, footnote, paragraph), then with its neighbours (a
 * short line in another font followed by body text is a heading; the first page's largest heading is the title),
 * then against the page's margins (a lone number at the top or bottom is the page number, a running head with a
 * number in the margin a page header or footer). Headers and footers that only repetition across pages reveals are
 * the document pass's (Furniture). All on upright coordinates, pure.
 */
import type { Block, BlockType, Line } from "../../TextLayout.js"
import { type BBox, median, overlapX, roundBox, union } from "./Geometry.js"
import * as Markers from "./Markers.js"
import { looksLikeCode } from "./Monospace.js"
import { count, joinLines, paragraphText } from "./Text.js"

/** What typing knows of the page. */
export interface PageFrame {
  /** The body text size. */
  readonly body: number
  /** The font most body text is in. */
  readonly bodyFont: string
  /** The page's box in the upright frame (the items' box when the page size is not known). */
  readonly box: BBox
  /** Whether this is the document's first page (where the title is). */
  readonly first: boolean
}

/** A group's lines with what typing reads off them. */
interface Group {
  readonly lines: ReadonlyArray<Line>
  readonly text: string
  readonly bbox: BBox
  readonly size: number
  readonly font: string
  readonly mono: number
}

/** Headings are at least this much larger than the body text; the level follows the ratio. */
const HEADING_RATIO = 1.15

/** Headings this much larger than the body need no text after them to be headings. */
const STRONG_RATIO = 1.3

/** The margins: the top and bottom fraction of the page where running heads and feet live. */
const MARGIN = 0.12

/** Page numbers alone may sit a little further in (LaTeX's wide margins). */
const NUMBER_MARGIN = 0.15

/** The blocks of a page from its groups of lines, in the same order. */
export const typeGroups = (groups: ReadonlyArray<ReadonlyArray<Line>>, frame: PageFrame): Array<Block> => {
  const described = groups.map(describe)
  const typed: Array<Block> = []
  const sizes: Array<number> = []
  described.forEach((group, i) => {
    const next = described[i + 1]
    for (const block of typeAlone(group, frame)) {
      const maybeHeading = block.type === "paragraph" || block.type === "list_item"
      // a heading only a little larger than the body must introduce something, as one at the body's size must
      const weak = block.type === "section_header" && group.size < frame.body * STRONG_RATIO &&
        Markers.numberingDepth(group.text) === 0 && !introduces(group, next, frame)
      if (maybeHeading) typed.push(bodySizeHeading(block, group, next, frame))
      else typed.push(weak ? { ...block, type: "paragraph", level: 0 } : block)
      sizes.push(group.size)
    }
  })
  return margins(title(typed, sizes, frame), frame)
}

const describe = (lines: ReadonlyArray<Line>): Group => {
  const chars = (line: Line) => Math.max(1, line.text.length)
  const total = lines.reduce((n, line) => n + chars(line), 0)
  const fonts = new Map<string, number>()
  for (const line of lines) fonts.set(line.font, (fonts.get(line.font) ?? 0) + chars(line))
  return {
    lines,
    text: joinLines(lines.map((line) => line.text)),
    bbox: roundBox(union(lines.map((line) => line.bbox))),
    size: sizeOf(lines),
    font: [...fonts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "",
    mono: lines.reduce((n, line) => n + line.mono * chars(line), 0) / total
  }
}

/** The size most of the lines' characters have. */
const sizeOf = (lines: ReadonlyArray<Line>): number => {
  const weights = new Map<number, number>()
  for (const line of lines) {
    const size = Math.round(line.fontSize * 2) / 2
    weights.set(size, (weights.get(size) ?? 0) + line.text.length)
  }
  let [best, weight] = [0, -1]
  for (const [size, w] of weights) if (w > weight || (w === weight && size < best)) [best, weight] = [size, w]
  return best
}

const block = (type: BlockType, level: number, group: Pick<Group, "bbox" | "text">): Block => ({
  type,
  level,
  bbox: group.bbox,
  text: group.text
})

/** A group's type from itself alone; a group of footnotes becomes one block per footnote. */
const typeAlone = (group: Group, frame: PageFrame): Array<Block> => {
  // a table found before (internal/layout/Table) stands in its place in reading order, typed already
  const table = group.lines[0]?.table
  if (table !== undefined) return [table]
  const { body } = frame
  if (isMonospaceCode(group)) return [{ ...block("code", 0, group), text: codeText(group.lines) }]
  if (isFormula(group)) return [block("formula", 0, group)]
  if (isListing(group, frame)) return [{ ...block("code", 0, group), text: codeText(group.lines) }]
  const level = sizeLevel(group, body)
  if (level > 0) return [block("section_header", headingLevel(group.text, level), group)]
  if (Markers.caption.test(group.text) && group.size <= body * 1.1 && group.lines.length <= 12) {
    return [block("caption", 0, group)]
  }
  if (isFootnote(group, frame)) return footnotes(group)
  if (Markers.startsListItem(group.text) && /\p{L}[^]*\p{L}/u.test(Markers.stripListMarker(group.text))) {
    return [block("list_item", 0, group)]
  }
  return [{ ...block("paragraph", 0, group), text: paragraphText(group.lines) }]
}

/**
 * 1 to 3 for text clearly larger than the body (short, with letters), 0 otherwise. The level follows the ratio to
 * the body size, not the rank of the sizes on the page: pages are laid out one at a time (a job streams them and may
 * resume half-way), and a ratio numbers a page's headings like its neighbours' without seeing them.
 */
const sizeLevel = (group: Group, body: number): number => {
  const { lines, text } = group
  if (body <= 0 || lines.length > 4 || text.length > 200 || group.mono > 0.5 || !isHeadingText(text)) return 0
  const ratio = group.size / body
  if (ratio >= 1.6) return 1
  if (ratio >= 1.3) return 2
  return ratio >= HEADING_RATIO ? 3 : 0
}

/**
 * Text a heading can have: letters; no sentence ending inside it or comma at its end; not a list of authors (three
 * commas, or the marks of their affiliations), an e-mail address or a web address; no amount at its end (a receipt's
 * "TOTAL 11.60", printed large, is a line of the receipt, not a section), and fewer digits than letters (nor is its
 * item row "101756 5 16.50 17.49 87.45 SR SIMEN").
 */
const isHeadingText = (text: string): boolean =>
  count(text, /\p{L}/gu) > count(text, /\p{N}/gu) && !/[,;]$/.test(text) && !/\p{Ll}{2}[.!?]\s+\p{Lu}/u.test(text) &&
  !AMOUNT_END.test(text) && count(text, /,/g) < 3 && !/[†‡∗*@]|:\/\/|www\.|\w\.(?:com|org|net|edu|gov)\b/.test(text)

/** An amount at the end of a line: digits, a decimal point or comma, two digits. */
const AMOUNT_END = /\d[.,]\d{2}\s*$/

/** A numbered heading's level is its number's depth ("3.2" is 2); an unnumbered one keeps its size's. */
const headingLevel = (text: string, bySize: number): number => {
  const depth = Markers.numberingDepth(text)
  return depth > 0 ? Math.min(depth, 6) : bySize
}

/**
 * Code: lines mostly in a fixed-pitch font, two or more of them or one that reads as code (not an address in a
 * typewriter font); or lines in a font that is not the body's, most of which read as code (LaTeX listings set in
 * a font the page does not measure as fixed-pitch).
 */
const isMonospaceCode = (group: Group): boolean => {
  const { lines } = group
  if (group.mono < 0.8) return false
  if (lines.some((line) => looksLikeCode(line.text))) return lines.length > 1 || !/@|:\/\//.test(group.text)
  // an address or a list of names in a typewriter font is not code
  return lines.length >= 3 && !isProse(group.text) && !/@|:\/\/|\.(?:com|org|edu|net)\b/.test(group.text)
}

/** A listing in a font not measured as fixed-pitch: two lines or more, most of them reading as code. */
const isListing = (group: Group, frame: PageFrame): boolean => {
  const { lines } = group
  const codeLike = lines.filter((line) => looksLikeCode(line.text)).length
  return lines.length >= 2 && group.font !== frame.bodyFont && codeLike >= Math.max(2, lines.length / 2)
}

/** Sentences rather than program text: small words of English prose, in lower case (SQL's AND and OR are not). */
const isProse = (text: string): boolean =>
  count(text, /\b(?:the|and|of|to|a|in|is|that|for|with|are)\b/g) >= 2

/** Code lines one to a line, each indented by its offset from the block's left edge in characters. */
const codeText = (lines: ReadonlyArray<Line>): string => {
  const left = lines.reduce((min, line) => Math.min(min, line.bbox[0]), Infinity)
  return lines.map((line) => {
    const advance = line.advance > 0 ? line.advance : 0.6 * line.fontSize
    const indent = Math.max(0, Math.round((line.bbox[0] - left) / advance))
    return " ".repeat(Math.min(indent, 40)) + line.text
  }).join("\n")
}

/**
 * A formula: a short block of mathematics, with a relation or a big operator and few words; "a2 + 8 = 12", not "the
 * value x = 3 is used".
 */
const isFormula = (group: Group): boolean => {
  const text = group.text
  if (group.lines.length > 4 || text.length > 240) return false
  // a relation or a big operator, or an equation number at the end
  const relation = /[=<>≤≥≈≠≡∑∏∫√∈∀∃→⇒]/u.test(text)
  if (!relation && !/\S\s+\(\d{1,3}[a-z]?\)$/.test(text)) return false
  // text a font could not decode (a chart's labels in a Type 3 font) is full of marks mathematics does not use
  if (count(text, /[#@$%&?]/g) > 1) return false
  const words = text.split(/\s+/).filter((w) => /^\p{Lu}?\p{Ll}{3,}[.,;:]?$/u.test(w))
  return words.length <= group.lines.length
}

/**
 * Footnotes: text smaller than the body in the lower part of the page, starting with its mark (a number or a symbol,
 * usually smaller than the text it marks).
 */
const isFootnote = (group: Group, frame: PageFrame): boolean => {
  const [, top, , bottom] = frame.box
  if (frame.body <= 0 || group.size > frame.body * 0.92) return false
  if (group.bbox[1] < top + (bottom - top) * 0.6) return false
  const first = group.lines[0]!
  return Markers.footnoteMark.test(first.text) &&
    (first.leadSize < first.fontSize * 0.9 || /^[*†‡§¶]/.test(first.text))
}

/** A group of footnotes split where a line starts with a mark. */
const footnotes = (group: Group): Array<Block> => {
  const parts: Array<Array<Line>> = []
  for (const line of group.lines) {
    const startsNote = Markers.footnoteMark.test(line.text) && line.leadSize < line.fontSize * 0.9
    if (parts.length === 0 || startsNote) parts.push([line])
    else parts[parts.length - 1]!.push(line)
  }
  return parts.map((lines) =>
    block("footnote", 0, {
      text: joinLines(lines.map((line) => line.text)),
      bbox: roundBox(union(lines.map((line) => line.bbox)))
    })
  )
}

/**
 * A heading at the body's size: one or two short lines in another font than the body's (bold), in capitals, or
 * numbered, not ending a sentence, followed closely by body text that starts at the same left edge. Figure labels
 * and table cells, short lines in other fonts too, are not followed by such text.
 */
const bodySizeHeading = (candidate: Block, group: Group, next: Group | undefined, frame: PageFrame): Block => {
  const { body, bodyFont } = frame
  const text = group.text
  if (next === undefined || group.lines.length > 2 || text.length < 2 || text.length > 120) return candidate
  if (!/^[\p{Lu}\p{N}]/u.test(text) || /[.,;]$/.test(text) || group.size < body * 0.95 || group.mono > 0.5) {
    return candidate
  }
  const letters = text.replace(/[^\p{L}]/gu, "")
  const distinct = group.font !== bodyFont || (letters.length >= 4 && letters === letters.toUpperCase()) ||
    Markers.numberingDepth(text) >= 2
  if (!distinct || !isHeadingText(text)) return candidate
  const depth = Markers.numberingDepth(text)
  const heading: Block = { ...candidate, type: "section_header", level: depth > 0 ? Math.min(depth, 6) : 3 }
  const capitals = letters.length >= 4 && letters === letters.toUpperCase()
  // a numbered line of its own in another font or in capitals ("2. Methods" in bold) needs nothing after it
  if (depth > 0 && (group.font !== bodyFont || capitals) && group.lines.length === 1 && text.length <= 80) {
    return heading
  }
  if (next.font === group.font && !capitals) return candidate
  return introduces(group, next, frame) ? heading : candidate
}

/**
 * Whether a heading candidate is followed by what a heading introduces: body text, below it, close, starting at the
 * same left edge (or centred under it). A diagram's labels, a table's header cells and a
 * figure's captions in a larger or bolder font are not.
 */
const introduces = (group: Group, next: Group | undefined, frame: PageFrame): boolean => {
  if (next === undefined) return false
  const { body } = frame
  const size = group.size
  const gap = next.bbox[1] - group.bbox[3]
  const bodyText = (next.text.length >= 40 || next.lines.length >= 2) && Math.abs(next.size - body) <= 0.15 * body
  if (!bodyText || gap < -0.3 * size || gap > 3 * size || overlapX(next.bbox, group.bbox) <= 0) {
    return false
  }
  return Math.abs(next.bbox[0] - group.bbox[0]) <= 1.5 * size ||
    Math.abs(next.bbox[0] + next.bbox[2] - group.bbox[0] - group.bbox[2]) / 2 <= 2 * size
}

/** On the first page, the largest heading in the upper part of the page, clearly larger than the body, is the title. */
const title = (blocks: Array<Block>, sizes: ReadonlyArray<number>, frame: PageFrame): Array<Block> => {
  if (!frame.first || blocks.length === 0) return blocks
  const [, top, , bottom] = frame.box
  const largest = sizes.reduce((max, size) => Math.max(max, size), 0)
  let best = -1
  blocks.forEach((b, i) => {
    if (b.type !== "section_header" || sizes[i]! < frame.body * TITLE_RATIO || sizes[i]! < largest) return
    if (b.bbox[1] > top + (bottom - top) * 0.4) return
    if (best < 0) best = i
  })
  if (best < 0) return blocks
  return blocks.map((b, i) => (i === best ? { ...b, type: "title", level: 1 } : b))
}

/** A title is at least this much larger than the body text (and the largest text of the page). */
const TITLE_RATIO = 1.25

/**
 * The page's margins: a lone page number as the first or last block, in the top or bottom margin, is the page
 * number; a line there that starts or ends with a number apart from its text is a running head (or foot).
 */
const margins = (blocks: Array<Block>, frame: PageFrame): Array<Block> => {
  if (blocks.length < 2) return blocks
  const [, top, , bottom] = frame.box
  const height = bottom - top
  const inZone = (b: Block, zone: "top" | "bottom", margin: number) =>
    zone === "top" ? b.bbox[3] <= top + height * margin : b.bbox[1] >= bottom - height * margin
  const typeAt = (i: number, zone: "top" | "bottom"): Block => {
    const b = blocks[i]!
    if (b.text.length > 200 || (b.type !== "paragraph" && b.type !== "section_header")) return b
    if (inZone(b, zone, NUMBER_MARGIN) && Markers.lonePageNumber.test(b.text.trim())) {
      return { ...b, type: "page_number", level: 0 }
    }
    if (!inZone(b, zone, MARGIN)) return b
    if (Markers.hasPageNumberAtEnd(b.text) && b.bbox[3] - b.bbox[1] < 3 * medianHeight(blocks)) {
      return { ...b, type: zone === "top" ? "page_header" : "page_footer", level: 0 }
    }
    return b
  }
  // the extremes: the highest and lowest blocks (reading order puts them first and last, less stray text)
  const byTop = blocks.map((b, i) => [b.bbox[1], i] as const).sort((a, b) => a[0] - b[0])
  const byBottom = blocks.map((b, i) => [b.bbox[3], i] as const).sort((a, b) => b[0] - a[0])
  const out = [...blocks]
  for (const [, i] of byTop.slice(0, 2)) out[i] = typeAt(i, "top")
  for (const [, i] of byBottom.slice(0, 2)) out[i] = typeAt(i, "bottom")
  return out
}

const medianHeight = (blocks: ReadonlyArray<Block>): number =>
  median(blocks.map((b) => b.bbox[3] - b.bbox[1])) || 10
