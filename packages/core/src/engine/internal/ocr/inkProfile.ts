/**
 * Where the ink is in a line strip: the strip thresholded by Otsu's method, then counted per column and per row.
 * Word-space recovery reads the blank runs between characters from it, and the line's text span (textSpan.ts) the
 * ink at either end; both take one profile, computed once per strip.
 */

/** A strip's ink, per column; absent for a strip with too little contrast to tell ink from paper. */
export interface InkProfile {
  /** Ink pixels per column, over the whole strip height (slivers of neighbouring lines included). */
  readonly cols: Int32Array
  /** Ink pixels per column within the text's band of rows only. */
  readonly bandCols: Int32Array
  /** The text's height in strip rows: the rows holding a fair share of the ink. */
  readonly textHeight: number
  /** The strip's height in rows: the detected box's height, scaled. */
  readonly height: number
}

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

/** The ink of a grey strip (0 black, 255 white); undefined when its darkest and lightest pixels are close. */
export const inkProfile = (
  strip: { readonly gray: Uint8Array; readonly width: number; readonly height: number }
): InkProfile | undefined => {
  const { gray, width, height } = strip
  let lo = 255
  let hi = 0
  for (const v of gray) {
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  if (hi - lo < 32) return undefined
  const t = otsu(gray, width, height, width)
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
  // the text's band: the rows holding a fair share of the ink (ignores specks and slivers of neighbouring lines)
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
  if (top < 0) return { cols, bandCols: cols, textHeight: height, height }
  const bandCols = new Int32Array(width)
  for (let y = top; y <= bottom; y++) {
    for (let x = 0; x < width; x++) if (gray[y * width + x]! <= t) bandCols[x]!++
  }
  return { cols, bandCols, textHeight: bottom - top + 1, height }
}

/** The longest run of ink-free columns of `cols` between two strip positions. */
export const longestBlank = (cols: Int32Array, from: number, to: number): number => {
  let run = 0
  let longest = 0
  for (let x = Math.max(0, Math.floor(from)); x < Math.min(cols.length, Math.ceil(to)); x++) {
    if (cols[x] === 0) {
      run++
      if (run > longest) longest = run
    } else run = 0
  }
  return longest
}
