/**
 * Text: joining a block's lines into its text (hyphenation undone, CJK without spaces, a paragraph's deliberate line
 * breaks kept) and reading its start and end (does it end a sentence, does it carry one on).
 */
import type { Line } from "../../TextLayout.js"

/**
 * Lines joined with spaces. A word hyphenated across a line end is joined again ("recog-" "nition"); a hyphen before
 * a capital or a digit is part of the word and stays ("Trace-" "Monkey", "ISO-" "9001"). Chinese and Japanese write
 * no spaces between words, so a line break between two of their characters joins with nothing.
 */
export const joinLines = (texts: ReadonlyArray<string>): string =>
  texts.reduce((text, next) => {
    if (text === "") return next
    if (next === "") return text
    if (UNSPACED_END.test(text) && UNSPACED_START.test(next)) return text + next
    if (/\u00ad$/.test(text)) return text.slice(0, -1) + next
    if (/\p{L}[-\u2010]$/u.test(text)) {
      if (/^\p{Ll}/u.test(next)) return text.slice(0, -1) + next
      if (/^[\p{Lu}\p{N}]/u.test(next)) return text + next
    }
    return `${text} ${next}`
  }, "")

// Han, kana and their punctuation and full-width forms (Korean spaces its words, so Hangul is not among them)
const UNSPACED = "\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\u3000-\\u303F\\uFF01-\\uFF60\\u30FC"
const UNSPACED_END = new RegExp(`[${UNSPACED}]$`, "u")
const UNSPACED_START = new RegExp(`^[${UNSPACED}]`, "u")

/** Whether a text ends where a sentence may end: a full stop, a question or exclamation mark, a colon, a closing quote. */
export const endsSentence = (text: string): boolean => /[.!?:;。！？…]["'”’»)\]]*\s*$/u.test(text)

/** Whether a text ends mid-word or mid-sentence and may go on in the next block: a hyphen, a comma, a letter. */
export const mayContinue = (text: string): boolean => !endsSentence(text) && /[\p{L}\p{N},\-\u00ad\u2010)]\s*$/u.test(text)

/** Whether a text reads as the rest of a sentence: it starts in lower case (or after a hyphenated word, anyhow). */
export const continuesSentence = (previous: string, next: string): boolean =>
  /^\p{Ll}/u.test(next) || (/\p{L}[-\u00ad\u2010]$/u.test(previous) && /^\p{L}/u.test(next)) ||
  (UNSPACED_END.test(previous) && UNSPACED_START.test(next))

/** How many times `pattern` (a global one) matches in `text`. */
export const count = (text: string, pattern: RegExp): number => text.match(pattern)?.length ?? 0

/** What `paragraphText` needs of a line: its text and its box. */
type BoxedText = Pick<Line, "text" | "bbox">

/**
 * A paragraph's lines joined (`joinLines`), keeping a line break the writer made on purpose as "\n": after a line
 * that left room in the paragraph's width for the next line's first word (a word that would have fit was put on the
 * next line), and after every line of a paragraph of lines: one where such breaks are at least half of its breaks
 * (an address, a verse: the break after its widest line cannot tell), or most of whose lines end in a figure (a
 * receipt's rows: "Total RM 50.00", its amount right-aligned, fills the width), unless the line ends in a small word
 * the sentence goes on after. Prose wraps where the next word does not fit, so its lines join as before; a hyphen at
 * a line's end always joins.
 */
export const paragraphText = (lines: ReadonlyArray<BoxedText>): string => {
  if (lines.length < 2) return joinLines(lines.map((line) => line.text))
  const left = Math.min(...lines.map((line) => line.bbox[0]))
  const right = Math.max(...lines.map((line) => line.bbox[2]))
  const fits = lines.slice(1).map((line, i) => wouldHaveFit(line, room(lines[i]!, line, left, right)))
  const figures = lines.filter((line) => FIGURE_END.test(line.text)).length
  const lined = figures * 2 > lines.length || fits.filter(Boolean).length * 2 >= fits.length
  return lines.slice(1).reduce((text, line, i) => {
    const end = lines[i]!.text
    const kept = (fits[i]! || (lined && !MID_SENTENCE.test(end))) && !/[-\u00ad\u2010]$/.test(end)
    return kept ? `${text}\n${line.text}` : joinLines([text, line.text])
  }, lines[0]!.text)
}

/** A line ending in a small word a sentence goes on after ("International Journal of"): no line of a list ends so. */
const MID_SENTENCE = /\b(?:a|an|the|of|and|or|in|on|at|to|for|with|by|from|as|that|is|are)$/

/**
 * A line that ends in a figure: an amount, a quantity, a percentage, or one with a short code or unit after it
 * ("24.00 S", "50.00 C"); not a reference's "vol. 27," or "pp. 29-37.", whose punctuation says the text goes on.
 */
const FIGURE_END = /\d(?:[.,:]\d+)*\s?(?:%|\p{L}{1,3})?$/u

/**
 * The room a line left in its paragraph's width: after its end, and before its start when it starts well inside and
 * elsewhere than the next line (a centred or right-aligned line; not a first-line indent, a few characters, nor the
 * hanging indent a reference's lines share).
 */
const room = (line: BoxedText, next: BoxedText, left: number, right: number): number => {
  const indent = line.bbox[0] - left
  const inside = indent >= INDENT_CHARS * perChar(line) && Math.abs(line.bbox[0] - next.bbox[0]) >= perChar(line)
  return right - line.bbox[2] + (inside ? indent : 0)
}

/** More than a first line's indent, in characters. */
const INDENT_CHARS = 5

/** A line's width per character. */
const perChar = (line: BoxedText): number => (line.bbox[2] - line.bbox[0]) / Math.max(1, line.text.length)

/** Whether `line`'s first word and a space fit in `space` (in the line's own width per character). */
const wouldHaveFit = (line: BoxedText, space: number): boolean => {
  if (line.text.length === 0 || space <= 0) return false
  const firstWord = line.text.trimStart().split(/\s/, 1)[0]!.length
  return space > (firstWord + 2) * perChar(line)
}
