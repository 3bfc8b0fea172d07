/**
 * Narrowing a line strip before it is read: the recogniser's cost grows with the strip's width (its convolutions run
 * over every column), and it needs only so many output steps per character. One step covers 8 columns of its input;
 * a strip cut at the box's aspect ratio gives receipts' wide monospaced letters 3 to 4 steps each and a book's
 * proportional type 2 to 2.5 (medians 3.2 and 2.4 over 2000 strips of the OCR benchmark's pages). Greedy CTC
 * decoding needs a blank step between two equal letters, and with about 2 steps a letter the text began to lose
 * doubled letters and final full stops (every strip squeezed to 0.8: book pages' CER 6.7% -> 10.6%; receipts' the
 * same). So a strip is squeezed along the line, never below MIN_SCALE, until its letters are left with about
 * `stepsPerChar` steps each, counting the letters as the ink's runs of columns (about one per letter on a receipt,
 * 0.8 to 0.9 where small type touches, which errs on the side of narrowing less). The figures are OcrEngineConfig's
 * `recStepsPerChar`.
 */
import type { InkProfile } from "./inkProfile.js"
import type { Strip } from "./lineCrop.js"

/** Input columns per output step of PP-OCRv4 rec (its width is pooled 8 to 1). */
export const REC_STEP = 8

/** A strip is never squeezed below this share of its width (wide letters read alike at 0.6; see above). */
const MIN_SCALE = 0.6

/** Narrowing by less than this is not worth a resampling. */
const MAX_SCALE = 0.95

/** The ink's runs of columns within the text's band: about one per letter. */
export const inkRuns = (ink: InkProfile): number => {
  let runs = 0
  let previous = 0
  for (const v of ink.bandCols) {
    if (v > 0 && previous === 0) runs++
    previous = v
  }
  return runs
}

/** The width to read a strip at so its letters get about `stepsPerChar` steps each (0: as cut). */
export const narrowedWidth = (strip: Strip, ink: InkProfile | undefined, stepsPerChar: number): number => {
  if (stepsPerChar <= 0 || ink === undefined || strip.turned === true) return strip.width
  const runs = inkRuns(ink)
  if (runs === 0) return strip.width
  const scale = Math.max(MIN_SCALE, (stepsPerChar * runs * REC_STEP) / strip.width)
  return scale > MAX_SCALE ? strip.width : Math.round(strip.width * scale)
}

/** The strip resampled to `width` columns (fewer than it has), each the mean of the columns it covers. */
export const narrow = (strip: Strip, width: number): Strip => {
  const { height } = strip
  const ratio = strip.width / width
  const gray = new Uint8Array(width * height)
  const rgb = new Uint8Array(width * height * 3)
  for (let x = 0; x < width; x++) {
    const from = x * ratio
    const to = from + ratio
    for (let y = 0; y < height; y++) {
      let r = 0
      let g = 0
      let b = 0
      let k = 0
      for (let s = Math.floor(from); s < Math.min(strip.width, Math.ceil(to)); s++) {
        // the share of source column s inside [from, to)
        const w = Math.min(to, s + 1) - Math.max(from, s)
        const p = (y * strip.width + s) * 3
        r += strip.rgb[p]! * w
        g += strip.rgb[p + 1]! * w
        b += strip.rgb[p + 2]! * w
        k += strip.gray[y * strip.width + s]! * w
      }
      const o = y * width + x
      rgb[o * 3] = Math.round(r / ratio)
      rgb[o * 3 + 1] = Math.round(g / ratio)
      rgb[o * 3 + 2] = Math.round(b / ratio)
      gray[o] = Math.round(k / ratio)
    }
  }
  return { gray, rgb, width, height, turned: strip.turned }
}
