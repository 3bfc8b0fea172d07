/**
 * Word-space recovery. The shipped PP-OCRv4 recogniser was trained on Chinese-centred data and often reads a
 * multi-word box without its spaces ("7027qty34"). Each decoded character knows the CTC steps it spans, and each
 * step covers a fixed run of strip columns, so every pair of neighbouring characters brackets a stretch of the strip;
 * a space is put back where that stretch holds a run of ink-free columns wider than a fraction of the text's height
 * (a word space is about a quarter to a third of the font size, a gap between letters a tenth or less).
 */
import type { CtcChar } from "./ctcDecode.js"
import { type InkProfile, longestBlank } from "./inkProfile.js"

/** Word-space settings. */
export interface WordSpaceOptions {
  /** A blank run at least this many text heights wide is a space. */
  readonly minGap: number
  /** ... and at least this many times the line's median gap between letters. */
  readonly minRatio: number
}

export const defaultWordSpaceOptions: WordSpaceOptions = { minGap: 0.25, minRatio: 3 }

/**
 * The characters as text, with a space inserted between neighbours separated by a wide enough ink-free gap.
 * `stepWidth` is the number of strip columns one CTC step covers (the model's input width over its step count); `ink`
 * is the strip's profile (none: a blank strip, no spaces added).
 */
export const withWordSpaces = (
  chars: ReadonlyArray<CtcChar>,
  ink: InkProfile | undefined,
  stepWidth: number,
  options: WordSpaceOptions = defaultWordSpaceOptions
): string => {
  const plain = chars.map((c) => c.char).join("")
  if (chars.length < 2 || options.minGap <= 0) return plain
  if (ink === undefined) return plain
  const { cols, textHeight } = ink
  const centre = (c: CtcChar) => ((c.first + c.last + 1) / 2) * stepWidth
  // the widest blank run between each pair of neighbouring characters' centres
  const gaps = new Array<number>(chars.length - 1)
  for (let i = 1; i < chars.length; i++) gaps[i - 1] = longestBlank(cols, centre(chars[i - 1]!), centre(chars[i]!))
  // a word space is wide against the text's height and against the line's usual gap between letters (monospaced
  // receipt fonts leave wide blanks around narrow letters)
  const letterGaps = chars
    .slice(1)
    .map((c, i) => (c.char === " " || chars[i]!.char === " " ? -1 : gaps[i]!))
    .filter((g) => g >= 0)
    .sort((a, b) => a - b)
  const usual = letterGaps.length > 0 ? letterGaps[Math.floor(letterGaps.length / 2)]! : 0
  const minRun = Math.max(2, options.minGap * textHeight, options.minRatio * usual)
  let out = chars[0]!.char
  for (let i = 1; i < chars.length; i++) {
    const a = chars[i - 1]!
    const b = chars[i]!
    if (a.char !== " " && b.char !== " " && gaps[i - 1]! >= minRun) out += " "
    out += b.char
  }
  return out
}
