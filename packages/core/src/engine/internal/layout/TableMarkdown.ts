/**
 * TableMarkdown: a table block as markdown, and that markdown read back. A table whose cells each take one row and
 * one column is a GitHub pipe table (`|` in a cell escaped as `\|`); its first line is the header row, or a line of
 * empty cells when the table has no evident header (GitHub requires one). A table with spanning cells is an HTML
 * `<table>` (GitHub renders it inside markdown), one `<tr>` a line, header cells as `<th>`, with `rowspan` and
 * `colspan`. `parseTable` reads either back into rows of cells, so markdown_det gives a table block back.
 */
import type { Block, TableCell } from "../../TextLayout.js"

/** A cell as markdown keeps it: its text and place, without its box. */
export type ParsedCell = Omit<TableCell, "bbox">

/** A table read back from markdown. */
export interface ParsedTable {
  readonly rows: ReadonlyArray<ReadonlyArray<ParsedCell>>
  readonly header_rows: number
}

/** A table block's markdown: a pipe table, or HTML when cells span; its plain text when it has no rows. */
export const tableMarkdown = (block: Block): string => {
  const rows = block.rows ?? []
  if (rows.length === 0) return block.text
  const spans = rows.some((row) => row.some((cell) => (cell.row_span ?? 1) > 1 || (cell.column_span ?? 1) > 1))
  return spans ? html(rows, block.header_rows ?? 0) : pipe(rows, block.header_rows ?? 0)
}

/** The grid's width: the columns the rows reach. */
const width = (rows: ReadonlyArray<ReadonlyArray<ParsedCell>>): number =>
  rows.reduce((max, row) => row.reduce((m, c) => Math.max(m, c.column + (c.column_span ?? 1)), max), 0)

const pipe = (rows: ReadonlyArray<ReadonlyArray<TableCell>>, header: number): string => {
  const columns = width(rows)
  const line = (row: ReadonlyArray<ParsedCell> | undefined) => {
    const texts = Array.from({ length: columns }, (_, c) => row?.find((cell) => cell.column === c)?.text ?? "")
    return `| ${texts.map(escapePipe).join(" | ")} |`
  }
  // an empty header line when none is evident (an empty one would read back as none)
  const evident = header > 0 && rows[0]!.some((cell) => cell.text.trim() !== "")
  const [head, body] = evident ? [rows[0], rows.slice(1)] : [undefined, rows]
  return [line(head), `|${" --- |".repeat(columns)}`, ...body.map(line)].join("\n")
}

const escapePipe = (text: string): string => text.replace(/\s+/g, " ").trim().replace(/\\/g, "\\\\").replace(/\|/g, "\\|")

const html = (rows: ReadonlyArray<ReadonlyArray<TableCell>>, header: number): string => {
  const lines = rows.map((row, r) => {
    const tag = r < header ? "th" : "td"
    const cells = row.map((cell) => {
      const rowspan = (cell.row_span ?? 1) > 1 ? ` rowspan="${cell.row_span}"` : ""
      const colspan = (cell.column_span ?? 1) > 1 ? ` colspan="${cell.column_span}"` : ""
      return `<${tag}${rowspan}${colspan}>${escapeHtml(cell.text)}</${tag}>`
    })
    return `<tr>${cells.join("")}</tr>`
  })
  return ["<table>", ...lines, "</table>"].join("\n")
}

const escapeHtml = (text: string): string =>
  text.replace(/\s+/g, " ").trim().replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const unescapeHtml = (text: string): string =>
  text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, "\"").replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")

/** A table's markdown (as `tableMarkdown` writes it) read back; undefined when it is neither form. */
export const parseTable = (markdown: string): ParsedTable | undefined => {
  const text = markdown.trim()
  if (text.startsWith("<table>")) return parseHtml(text)
  const lines = text.split(/\r?\n/)
  if (lines.length < 2 || !lines.every((line) => line.startsWith("|") && line.endsWith("|"))) return undefined
  if (!/^\|(?:\s*:?-+:?\s*\|)+$/.test(lines[1]!)) return undefined
  const split = (line: string): Array<string> => {
    // cells between unescaped pipes, unescaped
    const out: Array<string> = []
    let current = ""
    const body = line.slice(1, -1)
    for (let i = 0; i < body.length; i++) {
      const ch = body[i]!
      if (ch === "\\" && i + 1 < body.length) {
        current += body[++i]
      } else if (ch === "|") {
        out.push(current.trim())
        current = ""
      } else current += ch
    }
    out.push(current.trim())
    return out
  }
  const head = split(lines[0]!)
  const body = lines.slice(2).map(split)
  const hasHeader = head.some((t) => t !== "")
  const rows = [...(hasHeader ? [head] : []), ...body].map((row) => row.map((t, column) => ({ text: t, column })))
  return { rows, header_rows: hasHeader ? 1 : 0 }
}

const parseHtml = (text: string): ParsedTable | undefined => {
  const rows: Array<Array<ParsedCell>> = []
  let header = 0
  let headerEnded = false
  // the columns taken in each row by cells spanning down from the rows above
  const taken = new Map<number, Set<number>>()
  for (const [, tr] of text.matchAll(/<tr>([^]*?)<\/tr>/g)) {
    const r = rows.length
    const row: Array<ParsedCell> = []
    let allHeader = true
    let column = 0
    for (const [, tag, attributes, content] of tr!.matchAll(/<(th|td)([^>]*)>([^]*?)<\/\1>/g)) {
      while (taken.get(r)?.has(column) === true) column++
      const rowSpan = Number(/rowspan="(\d+)"/.exec(attributes!)?.[1] ?? 1)
      const columnSpan = Number(/colspan="(\d+)"/.exec(attributes!)?.[1] ?? 1)
      row.push({
        text: unescapeHtml(content!),
        column,
        ...(rowSpan > 1 ? { row_span: rowSpan } : {}),
        ...(columnSpan > 1 ? { column_span: columnSpan } : {})
      })
      for (let dr = 1; dr < rowSpan; dr++) {
        const set = taken.get(r + dr) ?? new Set<number>()
        for (let dc = 0; dc < columnSpan; dc++) set.add(column + dc)
        taken.set(r + dr, set)
      }
      column += columnSpan
      if (tag !== "th") allHeader = false
    }
    if (allHeader && row.length > 0 && !headerEnded) header++
    else headerEnded = true
    rows.push(row)
  }
  return rows.length === 0 ? undefined : { rows, header_rows: header }
}
