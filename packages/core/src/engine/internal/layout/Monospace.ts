/**
 * Monospace: which of a page's fonts are fixed-pitch, for telling code from prose. A text item may say so itself
 * (`monospace: true`, when the engine that read the page knows the font's flags); otherwise it is measured: in a
 * fixed-pitch font every run of characters is as wide as its length times one advance, so the width per character
 * (in font sizes) of a font's runs varies by a percent or two, against 10% or more for a proportional font, whose
 * "ill" and "mom" differ. Runs of digits alone do not count (most fonts have tabular digits), nor do runs shorter than
 * two characters.
 */
import type { TextItem } from "../../PdfEngine.js"

/** A text item that may carry the engine's knowledge of its font. */
export type MaybeMonospace = TextItem & { readonly monospace?: boolean | undefined }

/** The runs (of different texts) a font needs on the page before it is measured. */
const MIN_RUNS = 3

/** The most the width per character of a fixed-pitch font's runs may spread, relative to their median. */
const MAX_SPREAD = 0.03

/** The names of the fonts of `items` that are fixed-pitch. */
export const monospaceFonts = (items: ReadonlyArray<MaybeMonospace>): Set<string> => {
  const known = new Set<string>()
  const samples = new Map<string, { widths: Array<number>; texts: Set<string> }>()
  for (const item of items) {
    if (item.monospace === true) known.add(item.fontName)
    const text = item.text
    if (text.length < 2 || item.fontSize <= 0 || !/\p{L}[^]*\p{L}/u.test(text)) continue
    const entry = samples.get(item.fontName) ?? { widths: [], texts: new Set<string>() }
    entry.widths.push(Math.max(item.width, 0) / (text.length * item.fontSize))
    entry.texts.add(text)
    samples.set(item.fontName, entry)
  }
  for (const [font, { texts, widths }] of samples) {
    if (known.has(font) || widths.length < MIN_RUNS || texts.size < MIN_RUNS) continue
    widths.sort((a, b) => a - b)
    const median = widths[Math.floor(widths.length / 2)]!
    if (median > 0 && (widths[widths.length - 1]! - widths[0]!) / median <= MAX_SPREAD) known.add(font)
  }
  return known
}

/** A line that opens with a keyword of a programming or query language and has an operator after it. */
const KEYWORD_LINE = new RegExp(
  "^\\s*(?:function|return|def|class|var|let|const|if|for|while|import|from|public|private|static|void|int|" +
    "SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|BEGIN|END)\\b.*[(=;:{,]"
)

/** Lines that read as program text: ending in a brace or semicolon, or opening with a keyword and an operator. */
export const looksLikeCode = (text: string): boolean =>
  /[{};]\s*$/.test(text) || /^\s*[{}]/.test(text) || /^\s*(?:\/\/|#include|#!|@\w+\()/.test(text) ||
  KEYWORD_LINE.test(text) ||
  /\w\s*\([^()]*\)\s*[;{]/.test(text)
