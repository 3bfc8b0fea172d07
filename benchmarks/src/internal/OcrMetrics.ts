/**
 * How the OCR benchmark scores a page's text against its ground truth: character error rate (CER) and word
 * accuracy, both case-insensitive and whitespace-normalised, as core's OCR tests score the sroie receipts
 * (`packages/core/test/OcrEngine.test.ts`: `norm`, `distance`, `norm(text).toLowerCase()`; the same functions, moved
 * here so a script can use them), and the same reading order for every engine's lines (TextLayout's, as the
 * pipeline orders OCR lines and as the ground truth of born-digital pages is read).
 */
import { DocumentHandler, TextLayout } from "@scriptorium/core"

/** Runs of whitespace (newlines included) as one space, trimmed: the test's `norm`. */
export const norm = (s: string): string => s.replace(/\s+/g, " ").trim()

/**
 * What is compared: NFKC (ligatures such as "ﬁ" in a text layer as "fi"; the OCR engine's output is NFKC already),
 * whitespace-normalised, lower case.
 */
export const normalise = (s: string): string => norm(s.normalize("NFKC")).toLowerCase()

/**
 * Levenshtein distance between two strings (by UTF-16 code unit): the test's `distance`, on typed rows (a page of a
 * paper is 5,000 characters: 25 million cells).
 */
export const distance = (a: string, b: string): number => {
  let prev = new Uint32Array(b.length + 1)
  let cur = new Uint32Array(b.length + 1)
  for (let j = 0; j <= b.length; j++) prev[j] = j
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i
    const ca = a.charCodeAt(i - 1)
    for (let j = 1; j <= b.length; j++) {
      const substitute = prev[j - 1]! + (ca === b.charCodeAt(j - 1) ? 0 : 1)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, substitute)
    }
    ;[prev, cur] = [cur, prev]
  }
  return prev[b.length]!
}

/**
 * Reference words the hypothesis has too, as multisets (each hypothesis word matches at most one reference word):
 * order-independent, so a page read in another column order loses nothing here, unlike the CER. Words are the
 * normalised text split at spaces, punctuation kept.
 */
export const wordsMatched = (hyp: string, ref: string): { readonly matched: number; readonly total: number } => {
  const refWords = ref === "" ? [] : ref.split(" ")
  const available = new Map<string, number>()
  for (const w of hyp === "" ? [] : hyp.split(" ")) available.set(w, (available.get(w) ?? 0) + 1)
  let matched = 0
  for (const w of refWords) {
    const n = available.get(w) ?? 0
    if (n > 0) {
      matched++
      available.set(w, n - 1)
    }
  }
  return { matched, total: refWords.length }
}

/** One page's score, both texts normalised first. */
export interface PageScore {
  readonly errors: number
  /** Characters of the normalised reference. */
  readonly length: number
  readonly wordsMatched: number
  readonly words: number
}

export const scorePage = (hypothesis: string, reference: string): PageScore => {
  const [hyp, ref] = [normalise(hypothesis), normalise(reference)]
  const { matched, total } = wordsMatched(hyp, ref)
  return { errors: distance(hyp, ref), length: ref.length, wordsMatched: matched, words: total }
}

/** A set's scores: CER = all errors ÷ all reference characters (as the test sums them), word accuracy likewise. */
export const total = (pages: ReadonlyArray<PageScore>): { readonly cer: number; readonly wordAccuracy: number } => {
  const sum = (f: (p: PageScore) => number) => pages.reduce((n, p) => n + f(p), 0)
  return {
    cer: sum((p) => p.errors) / sum((p) => p.length),
    wordAccuracy: sum((p) => p.wordsMatched) / sum((p) => p.words)
  }
}

/** A line of text and its box (any unit, top-left origin): what each engine says it read, and where. */
export interface BoxedLine {
  readonly text: string
  readonly box: readonly [number, number, number, number]
  /** The detected quadrilateral, when the engine gives one (ours does, tesseract.js's lines are boxes). */
  readonly polygon?: ReadonlyArray<readonly [number, number]> | undefined
}

/**
 * Lines in TextLayout's reading order (XY-cut into regions, so a two-column page is read column by column, then
 * lines within each), one per output line, the lines made text items as DocumentHandler makes them
 * (`ocrTextItems`). No paragraph joining (it would also undo hyphenation), so the text is what the page shows, line
 * by line.
 */
export const laidOut = (
  lines: ReadonlyArray<BoxedLine>,
  page: { readonly width: number; readonly height: number }
): string => {
  const placed = lines.filter((l) => l.text.trim() !== "").map(({ text, box, polygon }) => ({ text, bbox: box, polygon }))
  const items = DocumentHandler.ocrTextItems(DocumentHandler.deskewed(placed, 0, page).lines)
  return TextLayout.readingOrder(items).flatMap((region) => TextLayout.lines(region)).map((l) => l.text).join("\n")
}

/**
 * The markdown the pipeline writes for a page from these lines (DocumentHandler's `ocrPageResult`: deskew, layout,
 * headings, tables, paragraphs), as plain text: heading marks, table rules and pipes, and markdown's escapes taken
 * out, so its CER counts what was read and the order it is read in, not the markup.
 */
export const markdownText = (
  lines: ReadonlyArray<BoxedLine>,
  page: { readonly width: number; readonly height: number }
): string => {
  // confidence and row are kept in the page's record, not used by its layout
  const read = lines.filter((l) => l.text.trim() !== "").map(({ text, box, polygon }, row) => ({
    text,
    confidence: 1,
    row,
    box,
    polygon: polygon ?? [[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]]] as const
  }))
  const route = { decision: "ocr", reason: "benchmark" } as const
  return DocumentHandler.ocrPageResult({ page: 0, width: page.width, height: page.height, route }, read, 1).markdown
    .split("\n")
    .filter((line) => !/^\|(?:\s*:?-{3,}:?\s*\|)+$/.test(line))
    .map(plainLine)
    .join("\n")
}

/** A markdown line's text: no heading mark, table pipes or HTML tags, escapes undone. */
const plainLine = (line: string): string =>
  line.replace(/^#{1,6} /, "").replace(/<[^>]+>/g, " ").replace(/^\||\|$/g, "").replace(/ \| /g, " ")
    .replace(/\\([\\`*_{}[\]()#+\-.!|>=~])/g, "$1")
