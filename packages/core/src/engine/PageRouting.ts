/**
 * PageRouting: which way a page goes, decided from what the PDF says about it (pure). A page whose text layer is
 * usable is read from it, never OCR'd; a scanned or image-only page, or one whose text layer no one sees (render
 * mode 3, as OCR tools write it, or hidden under a scan) or that is garbage (replacement characters, private-use
 * glyphs, mostly symbols, mojibake, text off the page), goes to OCR; a page with nothing drawn on it needs neither.
 * The job's `ocr` option can force OCR on every page or forbid it. The decision carries a short reason, kept in the
 * page's result for debugging.
 */
import { count } from "./internal/layout/Text.js"
import type { PageText, TextItem } from "./PdfEngine.js"

/** The job's choice: decide per page, OCR every page, or never OCR. */
export type OcrMode = "auto" | "always" | "never"

/** The job's OCR mode from its options (`{ ocr: "auto" | "always" | "never" }`); "auto" when absent or unknown. */
export const ocrMode = (options: Readonly<Record<string, unknown>> | undefined): OcrMode => {
  const value = options?.ocr
  return value === "always" || value === "never" ? value : "auto"
}

/** The route of a page that is an uploaded image: OCR, unless the job forbids it. */
export const imageRoute = (format: string, mode: OcrMode = "auto"): Route =>
  mode === "never"
    ? { decision: "none", reason: `page image (${format.toUpperCase()}) and OCR disabled (ocr: never)` }
    : { decision: "ocr", reason: `page image (${format.toUpperCase()})` }

/** How the page is read: its text layer, OCR of its rendered image, or not at all (nothing on it). */
export type RouteDecision = "text" | "ocr" | "none"

/** The decision and why, in a few words. */
export interface Route {
  readonly decision: RouteDecision
  readonly reason: string
}

/** What was measured of a page's text layer (exported for tests and debugging). */
export interface TextQuality {
  /** Characters in the text items, whitespace excepted. */
  readonly chars: number
  /** Letters and digits among them. */
  readonly alphanumeric: number
  /** U+FFFD, C0/C1 control characters: what a failed Unicode mapping leaves. */
  readonly replacement: number
  /** Private-use code points: glyph names without a Unicode mapping. */
  readonly privateUse: number
  /** Sequences typical of UTF-8 read as Latin-1 or Windows-1252 ("Ã©", "â€™"). */
  readonly mojibake: number
  /** Characters of items lying (mostly) outside the page. */
  readonly offPage: number
}

/** Thresholds of the decision; the defaults are tuned on the corpus (pdfs-real, pdfs-digital). */
export interface RoutingThresholds {
  /** Fewer characters than this (or no letter or digit) is no text layer. Default 1. */
  readonly minChars: number
  /** A text layer with more than this fraction of its glyphs hidden is an OCR layer, not the page's text. 0.5 */
  readonly hiddenFraction: number
  /** Fraction of bad characters (replacement, private use, mojibake) that makes a text layer garbage. 0.3 */
  readonly badFraction: number
  /** A text layer with fewer letters and digits than this fraction is garbage. 0.4 */
  readonly minAlphanumeric: number
  /** A text layer with more than this fraction of its characters off the page is garbage. 0.5 */
  readonly offPageFraction: number
  /** Images covering this much of the page make it a scan ... 0.8 */
  readonly scanCoverage: number
  /** ... unless its text layer has at least this many characters (a digital page on a background image). 200 */
  readonly scanMaxChars: number
}

/** The thresholds used unless told otherwise. */
export const defaultThresholds: RoutingThresholds = {
  minChars: 1,
  hiddenFraction: 0.5,
  badFraction: 0.3,
  minAlphanumeric: 0.4,
  offPageFraction: 0.5,
  scanCoverage: 0.8,
  scanMaxChars: 200
}

const REPLACEMENT = /[\uFFFD\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/gu
const PRIVATE_USE = /[\uE000-\uF8FF\u{F0000}-\u{FFFFD}\u{100000}-\u{10FFFD}]/gu
// UTF-8 read as Latin-1 or Windows-1252: "Ã©" (é), "Â " (no-break space), "â€™" (’); never legitimate text
const MOJIBAKE = /Ã[\u0080-\u00BF€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]|Â[\u0080-\u00BF]|â€./gu
const ALPHANUMERIC = /[\p{L}\p{N}]/gu
const WHITESPACE = /\s/gu

/** Measures the text layer: how many characters, and how many of them are bad in each way. */
export const textQuality = (page: Pick<PageText, "width" | "height" | "items">): TextQuality => {
  let chars = 0
  let alphanumeric = 0
  let replacement = 0
  let privateUse = 0
  let mojibake = 0
  let offPage = 0
  for (const item of page.items) {
    const n = item.text.length - count(item.text, WHITESPACE)
    if (n === 0) continue
    chars += n
    alphanumeric += count(item.text, ALPHANUMERIC)
    replacement += count(item.text, REPLACEMENT)
    privateUse += count(item.text, PRIVATE_USE)
    mojibake += count(item.text, MOJIBAKE) * 2
    if (outside(item, page.width, page.height)) offPage += n
  }
  return { chars, alphanumeric, replacement, privateUse, mojibake, offPage }
}

/** Whether less than half of the item's box is on the page. */
const outside = (item: TextItem, width: number, height: number): boolean => {
  const w = Math.max(item.width, 1e-6)
  const h = Math.max(item.height, 1e-6)
  const visibleW = Math.max(0, Math.min(item.x + w, width) - Math.max(item.x, 0))
  const visibleH = Math.max(0, Math.min(item.y + h, height) - Math.max(item.y, 0))
  return (visibleW * visibleH) / (w * h) < 0.5
}

const percent = (fraction: number): string => `${Math.round(fraction * 100)}%`

/** Why a text layer is garbage, or undefined when it reads as text. */
const garbage = (q: TextQuality, t: RoutingThresholds): string | undefined => {
  const bad = q.replacement + q.privateUse + q.mojibake
  if (bad / q.chars > t.badFraction) {
    const kinds = [
      q.replacement > 0 ? `${q.replacement} replacement/control` : "",
      q.privateUse > 0 ? `${q.privateUse} private-use` : "",
      q.mojibake > 0 ? `${q.mojibake} mojibake` : ""
    ].filter((s) => s !== "").join(", ")
    return `text layer is garbage: ${percent(bad / q.chars)} bad characters (${kinds})`
  }
  if (q.alphanumeric / q.chars < t.minAlphanumeric) {
    return `text layer is garbage: only ${percent(q.alphanumeric / q.chars)} letters or digits`
  }
  if (q.offPage / q.chars > t.offPageFraction) {
    return `text layer is garbage: ${percent(q.offPage / q.chars)} of it lies outside the page`
  }
  return undefined
}

/** The page's route under the job's OCR mode. */
export const route = (
  page: PageText,
  mode: OcrMode = "auto",
  thresholds: Partial<RoutingThresholds> = {}
): Route => {
  const t = { ...defaultThresholds, ...thresholds }
  const q = textQuality(page)
  const hasText = q.chars >= t.minChars && q.alphanumeric > 0
  const drawing = page.drawing
  if (mode === "always") return { decision: "ocr", reason: "OCR forced by the job's options (ocr: always)" }
  if (mode === "never") {
    return hasText
      ? { decision: "text", reason: `text layer (${q.chars} characters); OCR disabled (ocr: never)` }
      : { decision: "none", reason: "no text layer and OCR disabled (ocr: never)" }
  }

  if (!hasText) {
    if (drawing === undefined) return { decision: "ocr", reason: "no text layer (drawing unknown)" }
    if (drawing.images > 0) {
      return { decision: "ocr", reason: `no text layer; images cover ${percent(drawing.imageCoverage)} of the page` }
    }
    if (drawing.paths > 0) {
      return { decision: "ocr", reason: `no text layer; ${drawing.paths} vector paths (text may be outlines)` }
    }
    if (drawing.glyphs > 0) return { decision: "ocr", reason: "text drawn without usable Unicode" }
    return { decision: "none", reason: "blank page: no text, images or drawing" }
  }

  if (drawing !== undefined && drawing.glyphs > 0) {
    const hidden = drawing.hiddenGlyphs / drawing.glyphs
    if (hidden > t.hiddenFraction) {
      const how = drawing.invisibleGlyphs >= drawing.hiddenGlyphs / 2
        ? "drawn invisible (render mode 3)"
        : "hidden under an image"
      return { decision: "ocr", reason: `text layer ${how}: ${percent(hidden)} of ${drawing.glyphs} glyphs` }
    }
  }

  const bad = garbage(q, t)
  if (bad !== undefined) return { decision: "ocr", reason: bad }

  if (drawing !== undefined && drawing.imageCoverage >= t.scanCoverage && q.chars < t.scanMaxChars) {
    return {
      decision: "ocr",
      reason: `scanned page: images cover ${percent(drawing.imageCoverage)}, text layer only ${q.chars} characters`
    }
  }
  return { decision: "text", reason: `usable text layer (${q.chars} characters)` }
}
