/**
 * Outline: section levels made the document's own. A page alone gives an unnumbered heading a level by its size
 * against the body text (1 from 1.6 times, 2 from 1.3, 3 below), which numbers one document's headings like the next
 * one's but leaves a document whose largest headings are only a little larger than its text, or merely bold, with
 * nothing above level 3. Seen whole, the levels its unnumbered headings use are ranked: the highest becomes 1, the
 * next 2, and so on. Numbered headings keep their number's depth ("3.2" is 2).
 */
import type { Block } from "../../TextLayout.js"
import * as Markers from "./Markers.js"

/** The levels of a page's unnumbered section headers. */
export const levels = (blocks: ReadonlyArray<Block>): Array<number> =>
  blocks.filter(isUnnumberedSection).map((b) => b.level)

/** The new level of each level used, from all pages' `levels`: ranked, highest first. */
export const ranks = (used: Iterable<number>): ReadonlyArray<readonly [from: number, to: number]> =>
  [...new Set(used)].filter((level) => level > 0).sort((a, b) => a - b).map((level, i) => [level, i + 1] as const)

/** A page's unnumbered section headers with their ranked levels. */
export const apply = <P extends { readonly blocks: ReadonlyArray<Block> }>(
  page: P,
  ranked: ReadonlyArray<readonly [number, number]>
): P => {
  const to = new Map(ranked)
  if (ranked.every(([from, level]) => from === level)) return page
  let changed = false
  const blocks = page.blocks.map((b) => {
    if (!isUnnumberedSection(b)) return b
    const level = to.get(b.level)
    if (level === undefined || level === b.level) return b
    changed = true
    return { ...b, level }
  })
  return changed ? { ...page, blocks } : page
}

const isUnnumberedSection = (b: Block): boolean =>
  (b.type === "section_header" || b.type === "heading") && Markers.numberingDepth(b.text) === 0
