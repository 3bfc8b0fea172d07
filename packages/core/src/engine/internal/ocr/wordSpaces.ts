/**
 * Word-space recovery. The shipped PP-OCRv4 recogniser was trained on Chinese-centred data and often reads a
 * multi-word box without its spaces ("7027qty34"). Each decoded character knows the CTC steps it spans, and each
 * step covers a fixed run of strip columns, so every pair of neighbouring characters brackets a stretch of the strip;
 * a space is put back where that stretch holds a run of ink-free columns wider than a fraction of the text's height
 * (a word space is about a quarter to a third of the font size, a gap between letters a tenth or less).
 */
import type { CtcChar } from "./ctcDecode.js"

/** Word-space settings. */
export interface WordSpaceOptions {
  /** A blank run at least this many text heights wide is a space. */
  readonly minGap: number
  /** ... and at least this many times the line's median gap between letters. */
  readonly minRatio: number
}

export const defaultWordSpaceOptions: WordSpaceOptions = { minGap: 0.25, minRatio: 3 }

/** Otsu's threshold over the first `width` columns of a grey strip (`stride` columns per row). */
const otsu = (gray: Uint8Array, width: number, height: number, stride: number): number => {
  const hist = new Array<number>(256).fill(0)
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) hist[gray[y * stride + x]!]!++
  const total = width * height
  let sumAll = 0
  for (let i = 0; i < 256; i++) sumAll += i * hist[i]!
  let sumB = 0
  let wB = 0
  let best = 0
  let threshold = 127
  for (let t = 0; t < 256; t++) {
    wB += hist[t]!
    if (wB === 0) continue
    const wF = total - wB
    if (wF === 0) break
    sumB += t * hist[t]!
    const mB = sumB / wB
    const mF = (sumAll - sumB) / wF
    const between = wB * wF * (mB - mF) * (mB - mF)
    if (between > best) {
      best = between
      threshold = t
    }
  }
  return threshold
}

/**
 * The characters as text, with a space inserted between neighbours separated by a wide enough ink-free gap.
 * `stepWidth` is the number of strip columns one CTC step covers (the model's input width over its step count).
 */
export const withWordSpaces = (
  chars: ReadonlyArray<CtcChar>,
  strip: { readonly gray: Uint8Array; readonly width: number; readonly height: number },
  stepWidth: number,
  options: WordSpaceOptions = defaultWordSpaceOptions
): string => {
  const plain = chars.map((c) => c.char).join("")
  if (chars.length < 2 || options.minGap <= 0) return plain
  const { gray, width, height } = strip
  let lo = 255
  let hi = 0
  for (const v of gray) {
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  if (hi - lo < 32) return plain
  const t = otsu(gray, width, height, width)
  // ink per column and per row
  const cols = new Int32Array(width)
  const rows = new Int32Array(height)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (gray[y * width + x]! <= t) {
        cols[x]!++
        rows[y]!++
      }
    }
  }
  // the text's height: the rows holding a fair share of the ink (ignores specks and slivers of neighbouring lines)
  let maxRow = 0
  for (const r of rows) if (r > maxRow) maxRow = r
  let top = -1
  let bottom = -1
  for (let y = 0; y < height; y++) {
    if (rows[y]! >= maxRow * 0.05) {
      if (top < 0) top = y
      bottom = y
    }
  }
  const textHeight = top < 0 ? height : bottom - top + 1
  const centre = (c: CtcChar) => ((c.first + c.last + 1) / 2) * stepWidth
  // the widest blank run between each pair of neighbouring characters' centres
  const gaps = new Array<number>(chars.length - 1)
  for (let i = 1; i < chars.length; i++) {
    const from = Math.max(0, Math.floor(centre(chars[i - 1]!)))
    const to = Math.min(width, Math.ceil(centre(chars[i]!)))
    let run = 0
    let longest = 0
    for (let x = from; x < to; x++) {
      if (cols[x] === 0) {
        run++
        if (run > longest) longest = run
      } else run = 0
    }
    gaps[i - 1] = longest
  }
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
