/**
 * MarkdownDet: markdown with each block annotated with its type and box, as DeepSeek-OCR writes it (the job's
 * `markdown_det`), and its parser.
 *
 * The format. A block is its annotation line, a line feed, then the block's markdown (which may span several lines
 * and hold blank lines):
 *
 *     <|ref|>{type}<|/ref|><|det|>[[x1, y1, x2, y2]]<|/det|>
 *     {markdown}
 *
 * `type` is the block's type (`paragraph`, `heading`, and the layout model's types: `title`, `section_header`,
 * `list_item`, `table`, ...). The box is left, top, right, bottom with a top-left origin, each an integer in
 * thousandths of the page: `round(value / size * 999)` of the page's displayed width (x) or height (y), clamped to
 * 0..999; integers separated by a comma and a space. Blocks follow one another in reading order, separated by a blank
 * line: `\n\n` between one block's markdown and the next annotation line. There is no line feed after the last block.
 *
 * A job's whole `markdown_det.md` is its pages' texts in page order, joined the same way (`\n\n`), and a page without
 * blocks adds nothing (DocumentHandler's `joinNonEmpty`): so the file is itself one sequence of blocks, in this
 * format, with no mark where a page ends. `parseMarkdownDet` reads a page's text or the whole file alike; which
 * page a block is on (and its box in points) is in `document.json`.
 *
 * Parsing splits on annotation lines, not on blank lines: a block's markdown is everything between its annotation
 * line and the next one (or the end), less the blank line that separates them, so markdown with blank lines (a
 * table, code, several paragraphs) comes back whole; a `table` block's markdown (a pipe table, or HTML where cells
 * span) is also read back into its rows of cells (`table`). It reads back exactly what `formatMarkdownDet` writes, unless a
 * block's markdown itself holds a line that is an annotation line. Text before the first annotation line belongs to
 * no block and is ignored; line ends may be CRLF.
 */
import * as TableMarkdown from "../engine/internal/layout/TableMarkdown.js"
import * as TextLayout from "../engine/TextLayout.js"

/** A box in thousandths of the page (0 to 999): left, top, right, bottom, top-left origin. */
export type DetBox = readonly [x1: number, y1: number, x2: number, y2: number]

/** One annotated block. */
export interface DetBlock {
  readonly type: string
  /** In thousandths of the page's width (x) and height (y), 0 to 999. */
  readonly bbox: DetBox
  readonly markdown: string
  /**
   * A `table` block's rows and header, read back from its markdown (a pipe table, or HTML where cells span); cells
   * without their boxes. Set by `parseMarkdownDet` only.
   */
  readonly table?: TableMarkdown.ParsedTable | undefined
}

/** A page to annotate: its displayed size in points and its blocks in reading order (a PageResult has this shape). */
export interface DetPage {
  readonly width: number
  readonly height: number
  readonly blocks: ReadonlyArray<TextLayout.Block>
}

/** A page as markdown with each block annotated (see the module's doc comment); "" for a page without blocks. */
export const detMarkdown = (page: DetPage): string =>
  formatMarkdownDet(page.blocks.map((block) => ({
    type: block.type,
    bbox: normalise(block.bbox, page),
    markdown: TextLayout.blockMarkdown(block)
  })))

/** Annotated blocks as text; `parseMarkdownDet` reads it back. A type's line breaks become spaces. */
export const formatMarkdownDet = (blocks: ReadonlyArray<DetBlock>): string =>
  blocks.map((block) => `${annotation(block.type.replace(/[\r\n]+/g, " "), block.bbox)}\n${block.markdown}`)
    .join("\n\n")

/** A block's annotation line. */
export const annotation = (type: string, bbox: DetBox): string =>
  `<|ref|>${type}<|/ref|><|det|>[[${bbox.join(", ")}]]<|/det|>`

/** A box in points (top-left origin) to thousandths of the page, 0 to 999. */
export const normalise = (bbox: TextLayout.BBox, page: { readonly width: number; readonly height: number }): DetBox => {
  const scale = (value: number, size: number) =>
    size > 0 ? Math.min(999, Math.max(0, Math.round((value / size) * 999))) : 0
  const [x1, y1, x2, y2] = bbox
  return [scale(x1, page.width), scale(y1, page.height), scale(x2, page.width), scale(y2, page.height)]
}

/** An annotation line (the whole line, without its line end): the type, then the four numbers of the box. */
const NUMBER = String.raw`\s*(-?\d+(?:\.\d+)?)\s*`
const ANNOTATION = new RegExp(
  String.raw`^<\|ref\|>(.*?)<\|/ref\|><\|det\|>\[\[` + [NUMBER, NUMBER, NUMBER, NUMBER].join(",") +
    String.raw`\]\]<\|/det\|>$`
)

/** The blocks of annotated markdown (a page's, or a job's whole `markdown_det.md`), in order. */
export const parseMarkdownDet = (text: string): Array<DetBlock> => {
  // every annotation line: where it starts, where its markdown starts, and its fields
  const found: Array<{ at: number; body: number; crlf: boolean; fields: RegExpExecArray }> = []
  for (let at = 0; at <= text.length;) {
    const feed = text.indexOf("\n", at)
    const end = feed === -1 ? text.length : feed
    const crlf = end > at && text[end - 1] === "\r"
    const fields = ANNOTATION.exec(text.slice(at, crlf ? end - 1 : end))
    if (fields !== null) found.push({ at, body: feed === -1 ? text.length : feed + 1, crlf, fields })
    if (feed === -1) break
    at = feed + 1
  }
  return found.map(({ body, crlf, fields }, i) => {
    const next = found[i + 1]
    let markdown = text.slice(body, next?.at ?? text.length)
    // less the blank line that separates it from the next block
    const separator = crlf ? "\r\n\r\n" : "\n\n"
    if (next !== undefined && markdown.endsWith(separator)) markdown = markdown.slice(0, -separator.length)
    const type = fields[1]!
    const table = type === "table" ? TableMarkdown.parseTable(markdown) : undefined
    return {
      type,
      bbox: [Number(fields[2]), Number(fields[3]), Number(fields[4]), Number(fields[5])] as const,
      markdown,
      ...(table === undefined ? {} : { table })
    }
  })
}
