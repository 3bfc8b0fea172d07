/**
 * Text: joining a block's lines into its text (hyphenation undone, CJK without spaces) and reading its start and end
 * (does it end a sentence, does it carry one on).
 */

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
