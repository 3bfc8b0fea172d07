/**
 * Markdown: blocks to markdown, the way docling writes it: `#` for the title, `##` and deeper for section headings by
 * level, `- ` for bulleted list items and the item's own number for numbered ones, code in fences, tables as pipe
 * tables (HTML where cells span; internal/layout/TableMarkdown), captions,
 * formulas and paragraphs as plain paragraphs, no layout tags. Page headers, footers and numbers are left out, and a
 * page's footnotes come after its text.
 *
 * A `Flow` renders a run of pages (one page, or a whole document page by page, holding only what it must): a
 * paragraph that stops mid-sentence at the foot of a column or page and goes on in lower case at the head of the
 * next is joined into one (a hyphenated word made whole); figures, tables, captions and footnotes met in between
 * follow the joined paragraph.
 */
import type { Block } from "../../TextLayout.js"
import * as Markers from "./Markers.js"
import { tableMarkdown } from "./TableMarkdown.js"
import { continuesSentence, joinLines, mayContinue } from "./Text.js"

/** Block types that are kept out of the markdown: the page's furniture. */
export const FURNITURE: ReadonlySet<string> = new Set(["page_header", "page_footer", "page_number"])

/** Block types that float: they may sit between two parts of a paragraph and follow it once joined. */
const FLOATS: ReadonlySet<string> = new Set(["picture", "table", "caption"])

/** One block as markdown (furniture included: the annotated markdown shows it). */
export const blockMarkdown = (block: Block): string => {
  switch (block.type) {
    case "title":
      return `# ${block.text}`
    case "section_header":
      return `${"#".repeat(Math.min(Math.max(block.level, 1) + 1, 6))} ${block.text}`
    case "heading":
      // a section header of a checkpoint stored before titles and section headers were told apart, as it was
      // rendered then (level 1 its largest)
      return `${"#".repeat(Math.min(Math.max(block.level, 1), 6))} ${block.text}`
    case "list_item":
      return listItem(block.text)
    case "code":
      return fence(block.text)
    case "table":
      return tableMarkdown(block)
    case "paragraph": {
      // such checkpoints also kept bulleted items as paragraphs
      const text = keptBreaks(block.text)
      return Markers.bullet.test(text) ? listItem(text) : text
    }
    default:
      return block.text
  }
}

/**
 * A paragraph's kept line breaks (TextLayout's `paragraphText`) as soft breaks: each line after the first escaped
 * where markdown would read its start as a heading, a list item, a quote, a fence or a heading's underline ("- 5.00"
 * on a receipt is not a list).
 */
const keptBreaks = (text: string): string =>
  text.includes("\n")
    ? text.split("\n").map((line, i) => (i === 0 ? line : escapeLineStart(line.trimStart()))).join("\n")
    : text

/** A line with the mark markdown would read as a block's start escaped: `\#`, `\-`, `1\.`, `\>`, `\=`, `` \``` ``. */
const escapeLineStart = (line: string): string => {
  const numbered = /^(\d{1,9})([.)])(?=\s|$)/.exec(line)
  if (numbered !== null) return `${numbered[1]}\\${line.slice(numbered[1]!.length)}`
  return /^(?:#{1,6}(?:\s|$)|[-+*>](?:\s|$)|=|-{2,}|`{3}|~{3})/.test(line) ? `\\${line}` : line
}

/** A list item: a bullet becomes `- `, a number stays ("1. ", "a) "). */
const listItem = (text: string): string => {
  const bulleted = Markers.bullet.exec(text)
  if (bulleted !== null) return `- ${text.slice(bulleted[0].length)}`
  return Markers.isNumberedItem(text) ? text : `- ${text}`
}

/** Text in a code fence long enough that no run of backticks in it closes it. */
const fence = (text: string): string => {
  const longest = (text.match(/`+/g) ?? []).reduce((max, run) => Math.max(max, run.length), 2)
  const marks = "`".repeat(longest + 1)
  return `${marks}\n${text}\n${marks}`
}

/** A renderer of pages in order; `page` and `end` give the markdown parts that are ready, to join with blank lines. */
export interface Flow {
  /** The parts a page completes (a paragraph that may go on is held back until the next page shows). */
  readonly page: (blocks: ReadonlyArray<Block>) => Array<string>
  /** The parts still held back. */
  readonly end: () => Array<string>
}

/** A new flow: nothing held. */
export const flow = (): Flow => {
  // a paragraph that may go on in the next block, and what came after it that must wait for it
  let pending: { text: string; bottom: number; page: number } | undefined
  let waiting: Array<string> = []
  let pageIndex = 0

  const flush = (out: Array<string>) => {
    if (pending !== undefined) out.push(keptBreaks(pending.text))
    out.push(...waiting)
    pending = undefined
    waiting = []
  }

  return {
    page: (blocks) => {
      const out: Array<string> = []
      const footnotes: Array<string> = []
      for (const block of blocks) {
        if (FURNITURE.has(block.type)) continue
        if (block.type === "footnote") {
          footnotes.push(block.text)
          continue
        }
        if (FLOATS.has(block.type)) {
          ;(pending === undefined ? out : waiting).push(blockMarkdown(block))
          continue
        }
        if (block.type === "paragraph") {
          const breaks = pending !== undefined &&
            (pending.page < pageIndex || block.bbox[1] < pending.bottom || waiting.length > 0)
          if (pending !== undefined && breaks && continuesSentence(pending.text, block.text)) {
            pending = { text: joinLines([pending.text, block.text]), bottom: block.bbox[3], page: pageIndex }
          } else {
            flush(out)
            pending = { text: block.text, bottom: block.bbox[3], page: pageIndex }
          }
          if (!mayContinue(pending.text)) flush(out)
          continue
        }
        flush(out)
        out.push(blockMarkdown(block))
      }
      ;(pending === undefined ? out : waiting).push(...footnotes)
      pageIndex++
      return out.filter((part) => part !== "")
    },
    end: () => {
      const out: Array<string> = []
      flush(out)
      return out.filter((part) => part !== "")
    }
  }
}

/** Blocks of one page as markdown, parts separated by blank lines. */
export const pageMarkdown = (blocks: ReadonlyArray<Block>): string => {
  const f = flow()
  return [...f.page(blocks), ...f.end()].join("\n\n")
}
