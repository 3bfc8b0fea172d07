/**
 * Furniture: the running heads, feet and page numbers that only show as such across pages. A page alone cannot tell
 * "© Copyright IBM Corp. 2014. All rights reserved." at its foot from a last paragraph; the document can, when the
 * same text (digits aside: "10 Row and Column..." and "28 Row and Column...") sits at the same height in the top or
 * bottom margin of two pages or more. Once such a line is found, the band it occupies is the document's footer (or
 * header) band, and other short lines in that band are furniture too ("Chapter 2. Roles and separation of duties
 * 11" on the one page of chapter 2).
 *
 * Two passes over the pages, neither holding more than a page's blocks: `candidates` takes the few lines in a page's
 * margins (text and height only), `find` decides on all of them, `apply` types a page's blocks accordingly.
 */
import type { Block, BlockType } from "../../TextLayout.js"
import * as Markers from "./Markers.js"

/** A page as the document pass sees it: its size and its blocks. */
export interface FurniturePage {
  readonly width: number
  readonly height: number
  readonly blocks: ReadonlyArray<Block>
}

/** A line in a page's top or bottom margin that may be furniture. */
export interface Candidate {
  readonly page: number
  readonly zone: Zone
  /** The text with its numbers as `#`, lower case, blanks single. */
  readonly key: string
  /** The line's top and bottom as fractions of the page's height. */
  readonly y1: number
  readonly y2: number
}

type Zone = "top" | "bottom"

/** What the document pass found: the repeated lines and the bands they occupy. */
export interface Furniture {
  readonly keys: ReadonlyArray<{ readonly zone: Zone; readonly key: string }>
  readonly bands: ReadonlyArray<{ readonly zone: Zone; readonly y1: number; readonly y2: number }>
}

/** No furniture. */
export const none: Furniture = { keys: [], bands: [] }

/** The margins: the top and bottom fraction of the page that running heads and feet keep to. */
const MARGIN = 0.12

/** How far apart (a fraction of the page's height) the same line may sit on two pages. */
const SAME_PLACE = 0.02

/** Types a repeated line may have been given on its own page. */
const RETYPABLE: ReadonlySet<BlockType> = new Set<BlockType>([
  "paragraph",
  "section_header",
  "heading",
  "title",
  "footnote",
  "caption",
  "page_header",
  "page_footer",
  "page_number"
])

/** The blocks of a page that may be furniture: short text in the top or bottom margin. */
export const candidates = (page: FurniturePage, index: number): Array<Candidate> => {
  if (!(page.height > 0)) return []
  const out: Array<Candidate> = []
  for (const block of page.blocks) {
    const zone = zoneOf(block, page.height)
    if (zone === undefined) continue
    const [y1, y2] = [block.bbox[1] / page.height, block.bbox[3] / page.height]
    out.push({ page: index, zone, key: key(block.text), y1, y2 })
  }
  return out
}

const zoneOf = (block: Block, height: number): Zone | undefined => {
  if (!RETYPABLE.has(block.type) || block.text.length > 200 || block.text.trim() === "") return undefined
  if (block.bbox[3] <= height * MARGIN) return "top"
  if (block.bbox[1] >= height * (1 - MARGIN)) return "bottom"
  return undefined
}

/** A line's text with its numbers (arabic, or roman alone) as `#`: the same running head on every page. */
const key = (text: string): string =>
  text.toLowerCase().replace(/\d+/g, "#").replace(/(^|\s)[ivxlcdm]{1,7}(?=\s|$)/g, "$1#").replace(/\s+/g, " ").trim()

/** The repeated lines among the candidates of all pages, and their bands. */
export const find = (all: ReadonlyArray<Candidate>): Furniture => {
  const groups = new Map<string, Array<Candidate>>()
  for (const c of all) {
    const id = `${c.zone}\u0000${c.key}`
    const group = groups.get(id) ?? []
    group.push(c)
    groups.set(id, group)
  }
  const keys: Array<{ zone: Zone; key: string }> = []
  const bands: Array<{ zone: Zone; y1: number; y2: number }> = []
  for (const group of groups.values()) {
    // the lines of the group that sit where most of them do, on distinct pages
    const middle = (c: Candidate) => (c.y1 + c.y2) / 2
    const sorted = [...group].sort((a, b) => middle(a) - middle(b))
    const centre = middle(sorted[Math.floor(sorted.length / 2)]!)
    const placed = sorted.filter((c) => Math.abs(middle(c) - centre) <= SAME_PLACE)
    if (new Set(placed.map((c) => c.page)).size < 2) continue
    const { key, zone } = placed[0]!
    keys.push({ zone, key })
    bands.push({
      zone,
      y1: placed.reduce((min, c) => Math.min(min, c.y1), 1),
      y2: placed.reduce((max, c) => Math.max(max, c.y2), 0)
    })
  }
  return { keys, bands }
}

/** A page's blocks with its furniture typed as such: page number, page header or page footer. */
export const apply = <P extends FurniturePage>(page: P, furniture: Furniture): P => {
  if (furniture.keys.length === 0 || !(page.height > 0)) return page
  const repeated = new Set(furniture.keys.map(({ key, zone }) => `${zone}\u0000${key}`))
  let changed = false
  const blocks = page.blocks.map((block) => {
    const zone = zoneOf(block, page.height)
    if (zone === undefined) return block
    const [y1, y2] = [block.bbox[1] / page.height, block.bbox[3] / page.height]
    const inBand = furniture.bands.some((band) =>
      band.zone === zone && y1 >= band.y1 - SAME_PLACE / 2 && y2 <= band.y2 + SAME_PLACE / 2
    )
    if (!repeated.has(`${zone}\u0000${key(block.text)}`) && !inBand) return block
    const type: BlockType = Markers.lonePageNumber.test(block.text.trim())
      ? "page_number"
      : zone === "top"
      ? "page_header"
      : "page_footer"
    if (type === block.type) return block
    changed = true
    return { ...block, type, level: 0 }
  })
  return changed ? { ...page, blocks } : page
}
