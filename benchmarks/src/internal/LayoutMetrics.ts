/**
 * The layout benchmark's measures: docling's reference documents read back (headings, paragraphs in order, tables,
 * pictures, markdown), text normalised the same way on both sides, heading F1, Kendall's tau, normalised edit
 * similarity, and a geometric reading-order check for two-column pages that have no reference.
 */
import { distance } from "./OcrMetrics.js"

/** Text compared across systems: NFKC, straight quotes and dashes, one space, lower case. */
export const normalise = (text: string): string =>
  text.normalize("NFKC")
    .replace(/[‘’‚′]/g, "'")
    .replace(/[“”„″]/g, "\"")
    .replace(/[‐‑‒–—−]/g, "-")
    .replace(/\s+/g, " ")
    .trim()
    .toLowerCase()

/** Letters and digits alone: the key two headings are matched on. */
export const letters = (text: string): string => normalise(text).replace(/[^\p{L}\p{N}]+/gu, "")

/** A heading: its text and level (1 the highest). */
export interface Heading {
  readonly text: string
  readonly level: number
}

/** What docling's reference holds for a document. */
export interface Reference {
  readonly headings: ReadonlyArray<Heading>
  /** The body's `text` items in docling's reading order. */
  readonly paragraphs: ReadonlyArray<string>
  /** Every text item, whatever its label and place (furniture, text inside pictures). */
  readonly texts: ReadonlyArray<string>
  /** Docling's tables, its tables of contents (`document_index`) left out. */
  readonly tables: number
  /** The texts of their cells, every table's together. */
  readonly tableCells: ReadonlyArray<string>
  readonly pictures: number
  readonly markdown: string
}

interface DoclingItem {
  readonly label?: string
  readonly text?: string
  readonly level?: number
  readonly children?: ReadonlyArray<{ readonly $ref: string }>
}

interface DoclingTable {
  readonly label?: string
  readonly data?: { readonly table_cells?: ReadonlyArray<{ readonly text?: string }> }
}

interface DoclingDocument {
  readonly body: DoclingItem
  readonly texts: ReadonlyArray<DoclingItem>
  readonly tables: ReadonlyArray<DoclingTable>
  readonly pictures: ReadonlyArray<unknown>
  readonly groups?: ReadonlyArray<DoclingItem>
}

/** Docling's JSON (DoclingDocument v2) and markdown for one document. */
export const readReference = (json: string, markdown: string): Reference => {
  const doc = JSON.parse(json) as DoclingDocument
  const resolve = (ref: string): DoclingItem | undefined => {
    const [, kind, index] = /^#\/(\w+)\/(\d+)$/.exec(ref) ?? []
    const list = kind === "texts" ? doc.texts : kind === "groups" ? doc.groups : undefined
    return list?.[Number(index)]
  }
  // the body in reading order: groups (lists) opened in place
  const body: Array<DoclingItem> = []
  const walk = (item: DoclingItem, depth: number) => {
    for (const child of item.children ?? []) {
      const resolved = resolve(child.$ref)
      if (resolved === undefined || depth > 50) continue
      if (resolved.label !== undefined && resolved.text !== undefined) body.push(resolved)
      walk(resolved, depth + 1)
    }
  }
  walk(doc.body, 0)
  return {
    headings: body
      .filter((item) => item.label === "section_header" || item.label === "title")
      .map((item) => ({ text: item.text!, level: item.label === "title" ? 1 : item.level ?? 1 })),
    paragraphs: body.filter((item) => item.label === "text").map((item) => item.text!),
    texts: doc.texts.map((item) => item.text ?? ""),
    tables: doc.tables.filter(isTable).length,
    tableCells: doc.tables.filter(isTable).flatMap((t) => (t.data?.table_cells ?? []).map((c) => c.text ?? "")),
    pictures: doc.pictures.length,
    markdown
  }
}

const isTable = (table: DoclingTable): boolean => table.label !== "document_index"

/**
 * Cell text F1: our table cells against docling's, as multisets matched one to one on their letters and digits
 * (case, spaces and punctuation aside: "0.965 0.969" matches "0.965 0.969", "CSOs" matches "csos"); cells with no
 * letter or digit (empty, a lone mark) left out on both sides. F1 = 2 x matched / (ours + theirs); NaN when neither
 * side has a cell.
 */
export const cellScore = (
  ours: ReadonlyArray<string>,
  theirs: ReadonlyArray<string>
): { readonly ours: number; readonly theirs: number; readonly matched: number; readonly f1: number } => {
  const keys = (texts: ReadonlyArray<string>) => texts.map(letters).filter((k) => k !== "")
  const [a, b] = [keys(ours), keys(theirs)]
  const pool = new Map<string, number>()
  for (const k of b) pool.set(k, (pool.get(k) ?? 0) + 1)
  let matched = 0
  for (const k of a) {
    const left = pool.get(k) ?? 0
    if (left > 0) {
      matched++
      pool.set(k, left - 1)
    }
  }
  const total = a.length + b.length
  return { ours: a.length, theirs: b.length, matched, f1: total === 0 ? Number.NaN : (2 * matched) / total }
}

/** Precision, recall and F1 of `ours` against `theirs`, and the share of matched pairs that agree on the level. */
export interface HeadingScore {
  readonly ours: number
  readonly theirs: number
  readonly matched: number
  readonly f1: number
  readonly levelAgreement: number
  /** Our headings docling does not have, and docling's we do not have. */
  readonly extra: ReadonlyArray<Heading>
  readonly missed: ReadonlyArray<Heading>
}

/**
 * Headings matched one to one on their letters and digits (equal, or one within the other for a heading one side
 * split or numbered differently, when the shorter is at least 70% of the longer), in document order.
 */
export const headingScore = (ours: ReadonlyArray<Heading>, theirs: ReadonlyArray<Heading>): HeadingScore => {
  const used = new Set<number>()
  const missed: Array<Heading> = []
  let matched = 0
  let sameLevel = 0
  for (const theirHeading of theirs) {
    const key = letters(theirHeading.text)
    if (key === "") continue
    const index = ours.findIndex((h, i) => !used.has(i) && sameHeading(letters(h.text), key))
    if (index < 0) {
      missed.push(theirHeading)
      continue
    }
    used.add(index)
    matched++
    if (ours[index]!.level === theirHeading.level) sameLevel++
  }
  const precision = ours.length === 0 ? 0 : matched / ours.length
  const recall = theirs.length === 0 ? 0 : matched / theirs.length
  return {
    ours: ours.length,
    theirs: theirs.length,
    matched,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    levelAgreement: matched === 0 ? 0 : sameLevel / matched,
    extra: ours.filter((_, i) => !used.has(i)),
    missed
  }
}

const sameHeading = (a: string, b: string): boolean => {
  if (a === b) return true
  const [short, long] = a.length <= b.length ? [a, b] : [b, a]
  return short.length >= 0.7 * long.length && long.includes(short)
}

/**
 * Kendall's tau between docling's paragraph order and ours. Each reference paragraph is looked for in ours by its
 * first 40 letters and digits (the paragraph that contains them); a key found in more than one text on either side
 * (`ourTexts`, `theirTexts`: every block or item, whatever its type: the repeated lorem ipsum, a cover's line that
 * docling keeps inside a picture) is left out. Returns tau over the matched paragraphs and how many were matched.
 */
export const paragraphOrder = (
  ours: ReadonlyArray<string>,
  theirs: ReadonlyArray<string>,
  ourTexts: ReadonlyArray<string>,
  theirTexts: ReadonlyArray<string>
): {
  readonly tau: number
  readonly matched: number
  readonly total: number
  /** The matched reference paragraphs (their keys) with the index of ours that holds each, in docling's order. */
  readonly pairs: ReadonlyArray<{ readonly key: string; readonly at: number }>
} => {
  const ourKeys = ours.map(letters)
  const [allOurs, allTheirs] = [ourTexts.map(letters), theirTexts.map(letters)]
  const theirKeys = theirs.map((p) => letters(p).slice(0, 40)).filter((k) => k.length >= 20)
  const count = (key: string, keys: ReadonlyArray<string>) => keys.filter((k) => k.includes(key)).length
  const pairs: Array<{ key: string; at: number }> = []
  for (const key of theirKeys) {
    if (count(key, allTheirs) > 1 || count(key, allOurs) > 1 || count(key, ourKeys) !== 1) continue
    pairs.push({ key, at: ourKeys.findIndex((k) => k.includes(key)) })
  }
  return { tau: kendallTau(pairs.map((p) => p.at)), matched: pairs.length, total: theirKeys.length, pairs }
}

/**
 * Kendall's tau-b of a sequence of positions against its own order (1: the same order, -1: reversed); pairs at the
 * same position (two reference paragraphs found in one of ours) are ties. 1 for fewer than two.
 */
export const kendallTau = (positions: ReadonlyArray<number>): number => {
  let concordant = 0
  let discordant = 0
  let ties = 0
  for (let i = 0; i < positions.length; i++) {
    for (let j = i + 1; j < positions.length; j++) {
      const d = positions[j]! - positions[i]!
      if (d > 0) concordant++
      else if (d < 0) discordant++
      else ties++
    }
  }
  const pairs = concordant + discordant + ties
  if (pairs === 0) return 1
  return (concordant - discordant) / Math.sqrt(pairs * (concordant + discordant))
}

/**
 * Markdown as compared: image placeholders and links and docling's formula placeholder dropped, tables written one
 * way (an HTML table's rows as pipe rows, pipe tables' `| --- |` lines dropped: the same cells compare equal
 * whichever form either side chose), then normalised.
 */
export const comparableMarkdown = (markdown: string): string =>
  normalise(
    markdown
      .replace(/<!--\s*(?:image|formula-not-decoded)\s*-->/g, " ")
      .replace(/!\[[^\]]*\]\([^)]*\)/g, " ")
      .replace(/<\/?table>/g, "")
      .replace(/<tr>/g, "\n|")
      .replace(/<\/t[hd]>/g, " |")
      .replace(/<t[hd][^>]*>/g, " ")
      .replace(/<\/tr>/g, "")
      .replace(/^\|(?:\s*:?-+:?\s*\|)+\s*$/gm, "")
  )

/** 1 - Levenshtein distance / length of the longer text: 1 for equal texts, 0 for nothing in common. */
export const editSimilarity = (a: string, b: string): number => {
  if (a === b) return 1
  if (a.length === 0 || b.length === 0) return 0
  // the rows run over the second text: make it the shorter
  const [longer, shorter] = a.length >= b.length ? [a, b] : [b, a]
  return 1 - distance(longer, shorter) / longer.length
}

/** The types of block the column check compares: running text (not tables' cells, figures' labels, furniture). */
const PROSE_TYPES: ReadonlySet<string> = new Set([
  "paragraph",
  "list_item",
  "section_header",
  "heading",
  "title",
  "caption",
  "footnote"
])

/** Prose: 20 characters or more, most of its words made of letters (not a table's column of numbers). */
const isProse = (text: string): boolean => {
  const words = text.split(/\s+/).filter((w) => w !== "")
  return text.length >= 20 && words.filter((w) => /^\p{L}{2,}/u.test(w)).length >= 0.5 * words.length
}

/** A block as the column check sees it. */
export interface OrderedBlock {
  readonly type: string
  readonly bbox: readonly [number, number, number, number]
  readonly text: string
}

/**
 * Reading order on a two-column page, checked against the page's geometry alone: the blocks of prose (20 characters
 * or more, mostly words) that lie wholly in the left or right half are compared in pairs. Within a band of the page
 * (between blocks that span both columns: a title, a wide figure's caption), a block of the left column should come
 * before every block of the right column, and within a column, an upper block before a lower one. Counts the pairs in that order (concordant) and against it.
 */
export const columnOrder = (
  blocks: ReadonlyArray<OrderedBlock>,
  pageWidth: number
): { readonly concordant: number; readonly discordant: number } => {
  const middle = pageWidth / 2
  const text = blocks
    .map((block, index) => ({ ...block, index }))
    .filter((b) => PROSE_TYPES.has(b.type) && isProse(b.text))
  const wide = text.filter((b) => b.bbox[0] < middle - 20 && b.bbox[2] > middle + 20)
  const band = (b: OrderedBlock) => wide.filter((w) => w.bbox[3] <= b.bbox[1] + 1).length
  const side = (b: OrderedBlock) => (b.bbox[2] <= middle + 5 ? 0 : b.bbox[0] >= middle - 5 ? 1 : -1)
  const sided = text.filter((b) => side(b) >= 0)
  let concordant = 0
  let discordant = 0
  for (let i = 0; i < sided.length; i++) {
    for (let j = i + 1; j < sided.length; j++) {
      const [a, b] = [sided[i]!, sided[j]!]
      if (band(a) !== band(b)) continue
      // which should come first: the left column, or in one column the upper block
      const aFirst = side(a) !== side(b) ? side(a) < side(b) : a.bbox[1] < b.bbox[1]
      if (side(a) === side(b) && Math.abs(a.bbox[1] - b.bbox[1]) < 1) continue
      if (aFirst === a.index < b.index) concordant++
      else discordant++
    }
  }
  return { concordant, discordant }
}
