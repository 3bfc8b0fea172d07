/**
 * A line's text spans: where along its strip the characters the recogniser read begin and end, and where a blank as
 * wide as a column gutter parts them. The layout reads column gutters from the gaps between boxes, and detected
 * boxes blur them: a box is wider than its text (DB's unclip margin: a gutter of 16 pixels at 150 DPI vanishes between
 * boxes that each overreach by 10), and now and then the detector joins a line of one column to the line beside it
 * in the next, or to a neighbouring column's first letter. So a strip's characters (their CTC steps place them in the
 * strip) are parted at every blank as wide as a gutter that stands out from the line's word spaces, and each part's
 * box is trimmed to the ink around its first and last characters: each box says where its text is.
 */
import type { CtcChar } from "./ctcDecode.js"
import { type InkProfile, longestBlank } from "./inkProfile.js"
import type { Point, Quad } from "./minAreaRect.js"

/** A blank run this many text heights wide ends a character's ink (letters sit closer; word spaces are 0.25+). */
const END_GAP = 0.2

/**
 * A blank parts a line when it is at least PART_GAP box heights wide (a column gutter is about an em or more; the box
 * is 1.3 to 1.5 ems high) and PART_RATIO times the line's other word spaces (a justified line's word spaces can be
 * half an em, but they are alike along the line; a gutter stands out). A line with no other word space to compare
 * with (`a | b`) parts at LONE_PART_GAP box heights.
 */
const PART_GAP = 0.5
const PART_RATIO = 3
const LONE_PART_GAP = 0.8

/** A blank this many box heights wide is at least a word space, not the gap between two letters. */
const WORD_GAP = 0.1

/** Characters of a strip read as one piece of text, and the strip columns `[from, to)` they span. */
export interface TextPart {
  readonly chars: ReadonlyArray<CtcChar>
  readonly span: readonly [number, number] | undefined
}

/**
 * The strip's characters parted at gutter-wide blanks, each part with its span; one part spanning the whole strip
 * when there is no ink to go by.
 */
export const textParts = (
  chars: ReadonlyArray<CtcChar>,
  ink: InkProfile | undefined,
  stepWidth: number
): ReadonlyArray<TextPart> => {
  if (ink === undefined || chars.length === 0) return [{ chars, span: undefined }]
  const { bandCols, height } = ink
  const gaps = chars.slice(1).map((c, i) => longestBlank(bandCols, centreOf(chars[i]!, stepWidth), centreOf(c, stepWidth)))
  const words = gaps.filter((g) => g >= WORD_GAP * height).sort((a, b) => a - b)
  // the line's usual word space, the gap in question left out (with two or more others to go by)
  const usual = (gap: number) => {
    const others = words.length - 1
    if (others < 2) return undefined
    const at = words.indexOf(gap)
    const rest = [...words.slice(0, at), ...words.slice(at + 1)]
    return rest[Math.floor(rest.length / 2)]!
  }
  const parts = (gap: number) => {
    if (gap < PART_GAP * height) return false
    const word = usual(gap)
    return word === undefined ? gap >= LONE_PART_GAP * height : gap >= PART_RATIO * word
  }
  const out: Array<TextPart> = []
  let first = 0
  for (let i = 1; i <= chars.length; i++) {
    if (i < chars.length && !parts(gaps[i - 1]!)) continue
    const part = trimSpaces(chars.slice(first, i))
    if (part.length > 0) out.push({ chars: part, span: textSpan(part, ink, stepWidth) })
    first = i
  }
  return out.length > 0 ? out : [{ chars, span: undefined }]
}

const centreOf = (c: CtcChar, stepWidth: number) => ((c.first + c.last + 1) / 2) * stepWidth

/** The characters without the recogniser's spaces at either end. */
const trimSpaces = (chars: ReadonlyArray<CtcChar>): ReadonlyArray<CtcChar> => {
  let a = 0
  let b = chars.length
  while (a < b && chars[a]!.char.trim() === "") a++
  while (b > a && chars[b - 1]!.char.trim() === "") b--
  return chars.slice(a, b)
}

/** The strip columns `[from, to)` holding the text, or undefined when there is nothing to go by. */
export const textSpan = (
  chars: ReadonlyArray<CtcChar>,
  ink: InkProfile | undefined,
  stepWidth: number
): readonly [number, number] | undefined => {
  if (ink === undefined || chars.length === 0) return undefined
  const { bandCols, textHeight } = ink
  const width = bandCols.length
  const maxGap = Math.max(2, END_GAP * textHeight)
  const centre = (c: CtcChar) => Math.min(width - 1, Math.max(0, Math.floor(centreOf(c, stepWidth))))
  // from the first character's centre leftwards, and the last's rightwards, to the last ink before a wide blank
  let from = centre(chars[0]!)
  for (let x = from - 1; x >= 0 && from - x <= maxGap; x--) if (bandCols[x]! > 0) from = x
  let last = centre(chars[chars.length - 1]!)
  for (let x = last + 1; x < width && x - last <= maxGap; x++) if (bandCols[x]! > 0) last = x
  return last >= from ? [from, last + 1] : undefined
}

const along = (a: Point, b: Point, f: number): Point => [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])]

/**
 * The part of `quad` (top-left, top-right, bottom-right, bottom-left, as the strip was sampled) between strip columns
 * `from` and `to` of a strip `width` columns wide.
 */
export const trimQuad = (quad: Quad, width: number, [from, to]: readonly [number, number]): Quad => {
  const [tl, tr, br, bl] = quad
  const f1 = Math.max(0, from / width)
  const f2 = Math.min(1, to / width)
  return [along(tl, tr, f1), along(tl, tr, f2), along(bl, br, f2), along(bl, br, f1)]
}
