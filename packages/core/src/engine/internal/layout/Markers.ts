/**
 * Markers: the patterns that start a list item, a caption, a footnote or a numbered heading, and the lone page
 * numbers of a margin. Text patterns only; where a pattern is checked (and on what position) is Typing's business.
 */

/** Glyphs that stand for a bullet: the usual ones, dashes and asterisks before a space, and the control and
 * private-use characters symbol fonts (Wingdings, ZapfDingbats) decode to. */
const BULLET_CHARS = "•●▪◦‣⁃∙·○■□◆◇►▸▹➢➤✓✔❖" + "\uf0b7\uf0a7\uf076\uf0d8\uf0fc\u2022\u25aa\u25cf\u25e6\u2219"
const CONTROL_OR_PRIVATE = "\\u0001-\\u0008\\u000e-\\u001f\\ue000-\\uf8ff"

/** A bullet at the start of a text, with the blanks after it. */
export const bullet = new RegExp(`^(?:[${BULLET_CHARS}${CONTROL_OR_PRIVATE}]+|[-–—*](?=\\s))\\s*`, "u")

/** A list number at the start of a text: "1.", "2)", "(3)", "a)", "iv.", "B.", followed by a blank. */
export const listNumber =
  /^(?:(?:\d{1,3}|[a-z]|[ivxlc]{1,5})[.)]|(?:[A-Z]|[IVXLC]{1,5})\.|\((?:\d{1,3}|[a-zA-Z]|[ivxlc]{1,5})\))\s+(?=\S)/

/** Whether a text starts with a bullet or a list number. */
export const startsListItem = (text: string): boolean => bullet.test(text) || isNumberedItem(text)

/**
 * A numbered list item, as opposed to a numbered heading ("1. Introduction", short, title-cased) or a sentence
 * that starts with a number: a list number followed by text. Headings are told apart by size and font first, so
 * here the number alone decides.
 */
export const isNumberedItem = (text: string): boolean => listNumber.test(text)

/** A text without its bullet or list number. */
export const stripListMarker = (text: string): string => {
  const marker = bullet.exec(text) ?? listNumber.exec(text)
  return marker === null ? text : text.slice(marker[0].length)
}

/** A glyph that is a bullet by itself (an item of its own before the text it marks). */
export const isBulletGlyph = (text: string): boolean => {
  const t = text.trim()
  return t.length > 0 && t.length <= 2 && new RegExp(`^[${BULLET_CHARS}${CONTROL_OR_PRIVATE}\\-–—*]+$`, "u").test(t)
}

/** A mark that a narrow column of a page may hold beside the text it marks: a bullet or a list number. */
export const isMarker = (text: string): boolean => {
  const t = text.trim()
  if (t.length === 0) return true
  if (isBulletGlyph(t)) return true
  // control or private-use characters with at most one letter: a symbol font's bullet ("r\u0001")
  if (t.length <= 3 && new RegExp(`[${CONTROL_OR_PRIVATE}]`, "u").test(t)) return true
  return /^\(?(?:\d{1,3}|[a-z]|[ivx]{1,4})[.)]$/i.test(t)
}

/** Bullets that decode to control or private-use characters, shown as a plain bullet. */
export const normaliseBullet = (text: string): string =>
  text.replace(new RegExp(`^[a-z]?[${CONTROL_OR_PRIVATE}]+\\s*`, "u"), "• ")

/**
 * A caption's label: "Figure 3.", "Fig. 2:", "Table 2-1", "Listing 1:", "Example 3-9", "图 1", followed by the end, a
 * punctuation mark, or a capital (a sentence that mentions a table, "Table 2-2 shows...", goes on in lower case).
 */
export const caption = new RegExp(
  "^(?:Figure|Fig\\.?|Table|Tab\\.|Listing|Example|Algorithm|Chart|Scheme|Exhibit|Plate|Photo|Map|Graph|Diagram|" +
    "Abbildung|Abb\\.|Tabelle|Tableau|Figura|Tabla|Rysunek|Tabela|图|表)\\s*" +
    // the number: "3", "3.2", "2-1", "A.1", "IV", "3a"; all of it
    "(?:[A-Z]?\\d+(?:[.\\-–]\\d+)*[a-z]?|[IVX]{1,5})(?![\\d.\\-–]\\d)" +
    // then the end, a punctuation mark and a blank, or a blank and a capital, digit, quote or bracket
    "(?:\\s*[.:|—–-](?=\\s|$)|\\s+(?=[\\p{Lu}\\p{N}\"“(\\[])|$)",
  "u"
)

/** The depth of a heading's number: "3" 1, "3.2" 2, "3.2.1" 3, "Chapter 4" 1; 0 without one. */
export const numberingDepth = (text: string): number => {
  if (/^(?:Chapter|Part|Appendix|Chapitre|Kapitel)\s+[\dIVXA-Z]+\b/i.test(text)) return 1
  // IEEE's "IV. RESULTS" and "B. Temporal cost aggregation"
  if (/^[IVX]{1,5}\.\s+\p{Lu}/u.test(text)) return 1
  if (/^[A-H]\.\s+\p{Lu}/u.test(text)) return 2
  const m = /^(\d{1,2}(?:\.\d{1,2}){0,5})\.?\s+\S/.exec(text)
  return m === null ? 0 : m[1]!.split(".").length
}

/** A footnote's mark at the start of its text: a number or a symbol. */
export const footnoteMark = /^(?:\d{1,3}|[*†‡§¶#]|[a-z](?=\s))\s*\S/

/**
 * A page number alone: "12", "- 12 -", "xiv", "Page 3", "3 of 10", "7-45" (chapter and page); nothing else on the
 * line. Not "(7)": that is an equation's number.
 */
export const lonePageNumber = new RegExp(
  "^(?:(?:page|p\\.|seite|página|pagina)\\s*)?(?:[-–—]\\s*)?" +
    // the number: arabic, roman, or a chapter's and a page's
    "(?:\\d{1,4}|[ivxlcdm]{1,7}|\\d{1,3}\\s*[-–.]\\s*\\d{1,4})" +
    "(?:\\s*[-–—])?(?:\\s*(?:of|\\/|von|de)\\s*\\d{1,4})?$",
  "i"
)

/** A running head or foot: a line that starts or ends with a page number apart from its text. */
export const hasPageNumberAtEnd = (text: string): boolean =>
  /^(?:\d{1,4}|[ivxlcdm]{1,7})\s+\S.{3,}$/i.test(text) || /^.{3,}\S\s+(?:\d{1,4}|[ivxlcdm]{1,7})$/i.test(text)
