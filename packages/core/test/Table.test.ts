/**
 * Tables on the corpus, as the pipeline lays pages out (PdfEngine's text and shapes, DocumentHandler's `pageResult`):
 * table count and cell text against docling's reference outputs (a reference from another system, so its tables
 * are matched within a stated tolerance, not copied), cells in the right rows and columns, header rows; no table
 * made of the two-column papers' prose nor of a form; and a table block through markdown (pipe table, HTML where
 * cells span) and markdown_det, read back into the same rows. The engine reads with the built pdf.js thread: run
 * `npx tsc -b` first.
 */
import { describe, expect, it } from "@effect/vitest"
import { DocumentHandler, MarkdownDet, PdfEngine, TextLayout } from "@scriptorium/core"
import { Effect, Schema } from "effect"
import { existsSync, readFileSync } from "node:fs"

const corpus = new URL("../../../../shared/corpus/", import.meta.url)
const haveCorpus = existsSync(corpus)
const skipped = haveCorpus ? "" : " (skipped: ../shared/corpus is absent)"

type Page = DocumentHandler.PageResult
type Block = TextLayout.Block

/** A document's pages as the pipeline lays them out. */
const layOut = (path: string) =>
  Effect.scoped(Effect.gen(function*() {
    const engine = yield* PdfEngine.PdfEngine
    const pdf = yield* engine.open(new Uint8Array(readFileSync(new URL(path, corpus))), { filename: path })
    const pages: Array<Page> = []
    for (let page = 0; page < pdf.pageCount; page++) pages.push(DocumentHandler.pageResult(yield* pdf.page(page)))
    return pages
  }))

const tablesOf = (pages: ReadonlyArray<Page>): Array<Block & { page: number }> =>
  pages.flatMap((p) => p.blocks.filter((b) => b.type === "table").map((b) => ({ ...b, page: p.page })))

/**
 * The tolerance cells are matched with: letters and digits only, lower case (spaces, punctuation and case aside:
 * docling writes "Usage setting: SM590000 ALLOWED: ..." where the page has a bullet glyph, we "• ALLOWED"; its
 * "0.965 0.969" is ours too).
 */
const key = (text: string) =>
  text.normalize("NFKC").toLowerCase().replace(/sm590000/g, "").replace(/[^\p{L}\p{N}]+/gu, "")

interface DoclingTable {
  readonly label: string
  readonly prov: ReadonlyArray<{ readonly page_no: number }>
  readonly data: {
    readonly table_cells: ReadonlyArray<{
      readonly text: string
      readonly start_row_offset_idx: number
      readonly start_col_offset_idx: number
    }>
  }
}

const doclingTables = (name: string): Array<DoclingTable> =>
  (JSON.parse(readFileSync(new URL(`pdfs-digital/docling-groundtruth/${name}.json`, corpus), "utf8")) as {
    tables: Array<DoclingTable>
  }).tables.filter((t) => t.label === "table")

/** The share of a docling table's cells (those with a letter or digit) that one of our cells on its page matches. */
const recall = (reference: DoclingTable, ours: ReadonlyArray<Block & { page: number }>): number => {
  const pool = new Map<string, number>()
  for (const table of ours.filter((t) => t.page === reference.prov[0]!.page_no - 1)) {
    for (const cell of (table.rows ?? []).flat()) pool.set(key(cell.text), (pool.get(key(cell.text)) ?? 0) + 1)
  }
  const theirs = reference.data.table_cells.map((c) => key(c.text)).filter((k) => k !== "")
  let found = 0
  for (const k of theirs) {
    const left = pool.get(k) ?? 0
    if (left > 0) {
      found++
      pool.set(k, left - 1)
    }
  }
  return found / theirs.length
}

/** The cell that starts at a row and column of a table (rows in the HTML manner). */
const cellAt = (table: Block, row: number, column: number) => table.rows?.[row]?.find((c) => c.column === column)

describe(`tables against docling's reference${skipped}`, { skip: !haveCorpus }, () => {
  it.live("finds the ruled table of 2305.03393v1-pg9 with its spanning header and every cell docling has", () =>
    Effect.gen(function*() {
      const tables = tablesOf(yield* layOut("pdfs-digital/docling_2305.03393v1-pg9.pdf"))
      const [reference] = doclingTables("2305.03393v1-pg9")
      expect(tables.length).toBe(1)
      const table = tables[0]!
      // docling: 6 rows of 8 columns, the first two the header, "TEDs" over three columns
      expect(table.rows?.length).toBe(6)
      expect(table.header_rows).toBe(2)
      expect(cellAt(table, 0, 3)).toMatchObject({ text: "TEDs", column_span: 3 })
      expect(cellAt(table, 0, 0)).toMatchObject({ text: "# enc-layers", row_span: 2 })
      expect(cellAt(table, 1, 4)?.text).toBe("complex")
      expect(cellAt(table, 2, 3)?.text).toBe("0.965 0.969")
      expect(cellAt(table, 5, 7)?.text).toBe("1.22 2")
      expect(recall(reference!, tables)).toBe(1)
      // the table's text is no longer paragraphs, and its markdown is HTML (cells span)
      const page = (yield* layOut("pdfs-digital/docling_2305.03393v1-pg9.pdf"))[0]!
      expect(page.blocks.filter((b) => b.type === "paragraph" && /^0\.9\d\d$/.test(b.text))).toEqual([])
      expect(page.markdown).toContain("<th rowspan=\"2\"># enc-layers</th>")
      expect(page.markdown).toContain("<th colspan=\"3\">TEDs</th>")
      // placed after its caption, before the next section
      const types = page.blocks.map((b) => b.type)
      expect(types.indexOf("table")).toBe(types.indexOf("caption") + 1)
    }).pipe(Effect.provide(PdfEngine.layer())))

  it.live("finds the Redpaper's four ruled tables (not its contents nor its code example), cells in place", () =>
    Effect.gen(function*() {
      const pages = yield* layOut("pdfs-digital/docling_redp5110_sampled.pdf")
      const tables = tablesOf(pages)
      // docling labels five `table`: these four, and Example 2-1's SQL (code between two rules, which layout keeps
      // as code); its table of contents is `document_index`, and is not a table here either
      expect(tables.map((t) => [t.page + 1, t.rows?.length, t.header_rows])).toEqual([
        [8, 5, 1],
        [9, 13, 1],
        [11, 4, 1],
        [12, 10, 1]
      ])
      const reference = doclingTables("redp5110_sampled").filter((t) => !t.data.table_cells.some((c) => c.text === "SELECT"))
      expect(reference.length).toBe(4)
      for (const table of reference) expect(recall(table, tables), `page ${table.prov[0]!.page_no}`).toBeGreaterThanOrEqual(0.95)
      // Table 2-1: a description wrapped over lines is one cell; Table 2-2's headings are set sideways
      const [usage, authorities] = [tables[0]!, tables[1]!]
      expect(cellAt(usage, 1, 1)?.text).toBe("VARCHAR(30)")
      expect(cellAt(usage, 3, 2)?.text).toMatch(/^Usage setting: • ALLOWED: .* • DENIED: .*function\.$/)
      expect(authorities.rows![0]!.map((c) => c.text)).toEqual(
        ["User action", "*JOBCTL", "QIBM_DB_SECADM", "QIBM_DB_SQLADM", "QIBM_DB_SYSMON", "No Authority"]
      )
      expect(authorities.rows![4]!.map((c) => c.text)).toEqual(
        ["STRDBMON or ENDDBMON commands targeting a job that matches the current user", "X", "", "X", "X", "X"]
      )
      // the contents page (2) and the code example (page 8) are not tables
      expect(pages[1]!.blocks.some((b) => b.type === "table")).toBe(false)
      expect(pages[7]!.blocks.filter((b) => b.type === "table").flatMap((b) => b.rows!.flat().map((c) => c.text)))
        .not.toContain("SELECT")
      expect(pages[7]!.blocks.some((b) => b.type === "code" && b.text.includes("user_name;"))).toBe(true)
      // a pipe table in the markdown, header first
      expect(pages[7]!.markdown).toContain(
        "| Column name | Data type | Description |\n| --- | --- | --- |\n| FUNCTION_ID | VARCHAR(30) | ID of the function. |"
      )
    }).pipe(Effect.provide(PdfEngine.layer())))

  it.live("finds table_mislabeled_as_picture's table from aligned text alone, with its header", () =>
    Effect.gen(function*() {
      const tables = tablesOf(yield* layOut("pdfs-digital/docling_table_mislabeled_as_picture.pdf"))
      expect(tables.length).toBe(1)
      const table = tables[0]!
      expect(table.header_rows).toBe(1)
      expect(table.rows!.map((row) => row.map((c) => c.text))).toEqual([
        ["", "", "State funded legal aid", "CSOs"],
        ...["Persons with disabilities", "Children", "Women", "The elderly", "Migrants",
          "Refugees, asylum seekers, or stateless persons", "Internally displaced persons"].map((label) =>
            ["y", label, "*", "*"]
          )
      ])
      // docling's cells, less its bullet cells (it merged two rows' bullets, "y y"): all ours
      const [reference] = doclingTables("table_mislabeled_as_picture")
      const labels = { ...reference!, data: { table_cells: reference!.data.table_cells.filter((c) => c.text !== "y y") } }
      expect(recall(labels, tables)).toBe(1)
    }).pipe(Effect.provide(PdfEngine.layer())))

  it.live("makes no table of the two-column papers' prose, nor of a tax form", () =>
    Effect.gen(function*() {
      for (const name of ["pdfjs_tracemonkey", "mineru_demo1", "mineru_demo2", "mineru_demo3"]) {
        const pages = yield* layOut(`pdfs-digital/${name}.pdf`)
        const tables = tablesOf(pages)
        for (const table of tables) {
          const cells = table.rows!.flat().filter((c) => c.text !== "")
          // cells of tables: short, never a line of prose
          expect(cells.every((c) => c.text.length < 90), `${name} p${table.page + 1}`).toBe(true)
          expect(cells.reduce((n, c) => n + c.text.length, 0) / cells.length, `${name} p${table.page + 1}`)
            .toBeLessThan(25)
        }
        // the prose stays paragraphs: most of the text is outside tables
        const all = pages.flatMap((p) => p.blocks).reduce((n, b) => n + b.text.length, 0)
        const inTables = tables.reduce((n, t) => n + t.text.length, 0)
        expect(inTables / all, name).toBeLessThan(0.1)
        // the papers' paragraphs are still there, read column by column
        expect(pages.flatMap((p) => p.blocks).filter((b) => b.type === "paragraph" && b.text.length > 300).length)
          .toBeGreaterThan(20)
      }
      // tracemonkey's one table is Figure 13's benchmark table (page 12), 27 rows of 10 columns
      const tracemonkey = tablesOf(yield* layOut("pdfs-digital/pdfjs_tracemonkey.pdf"))
      expect(tracemonkey.map((t) => [t.page + 1, t.rows?.length, t.rows?.[1]?.length])).toEqual([[12, 27, 10]])
      expect(tracemonkey[0]!.rows![1]!.map((c) => c.text)).toEqual(
        ["3d-cube", "25", "27", "29", "3", "0", "1.1", "1.1", "1.2", "2.20x"]
      )
      // a form: ruled boxes, labels with dot leaders, checkboxes; no table
      const form = yield* layOut("pdfs-real/prefilled_f1040.pdf")
      expect(tablesOf(form)).toEqual([])
    }).pipe(Effect.provide(PdfEngine.layer())), 120_000)
})

/** A page of one table, built by hand: spans, a pipe and an angle bracket in cells. */
const handMade = (spans: boolean): DocumentHandler.PageResult => {
  const cell = (text: string, column: number, extra: Partial<TextLayout.TableCell> = {}): TextLayout.TableCell => ({
    text,
    bbox: [100 + column * 50, 100, 150 + column * 50, 120],
    column,
    ...extra
  })
  const rows = spans
    ? [
      [cell("Model", 0, { row_span: 2 }), cell("Scores <%>", 1, { column_span: 2 })],
      [cell("a | b", 1), cell("c & d", 2)],
      [cell("x", 0), cell("1", 1), cell("", 2)]
    ]
    : [[cell("Name", 0), cell("Value", 1)], [cell("a | b", 0), cell("back\\slash", 1)], [cell("", 0), cell("2", 1)]]
  const table: TextLayout.Block = {
    type: "table",
    level: 0,
    bbox: [100, 100, 250, 160],
    text: rows.map((row) => row.map((c) => c.text).join("\t")).join("\n"),
    rows,
    header_rows: spans ? 2 : 1
  }
  const blocks = [{ type: "paragraph" as const, level: 0, bbox: [100, 50, 300, 80] as const, text: "Before." }, table]
  return { page: 0, width: 600, height: 800, source: "text", blocks, markdown: TextLayout.markdown(blocks) }
}

describe("a table block in markdown and markdown_det", () => {
  it("is a pipe table without spans and an HTML table with them, read back into the same rows", () => {
    for (const spans of [false, true]) {
      const page = handMade(spans)
      const table = page.blocks[1]!
      const markdown = TextLayout.blockMarkdown(table)
      if (spans) {
        expect(markdown).toBe(
          "<table>\n<tr><th rowspan=\"2\">Model</th><th colspan=\"2\">Scores &lt;%&gt;</th></tr>\n" +
            "<tr><th>a | b</th><th>c &amp; d</th></tr>\n<tr><td>x</td><td>1</td><td></td></tr>\n</table>"
        )
      } else {
        expect(markdown).toBe("| Name | Value |\n| --- | --- |\n| a \\| b | back\\\\slash |\n|  | 2 |")
      }
      const det = MarkdownDet.detMarkdown(page)
      const parsed = MarkdownDet.parseMarkdownDet(det)
      expect(parsed.map((b) => b.type)).toEqual(["paragraph", "table"])
      expect(parsed[1]!.bbox).toEqual(MarkdownDet.normalise(table.bbox, page))
      expect(parsed[1]!.markdown).toBe(markdown)
      const withoutBoxes = table.rows!.map((row) => row.map(({ bbox: _, ...cell }) => cell))
      expect(parsed[1]!.table).toEqual({ rows: withoutBoxes, header_rows: table.header_rows })
      expect(parsed[0]!.table).toBeUndefined()
    }
  })

  it("without an evident header, writes an empty header line and reads back no header", () => {
    const page = handMade(false)
    const table = { ...page.blocks[1]!, header_rows: 0 }
    const markdown = TextLayout.blockMarkdown(table)
    expect(markdown.split("\n").slice(0, 3)).toEqual(["|  |  |", "| --- | --- |", "| Name | Value |"])
    const [parsed] = MarkdownDet.parseMarkdownDet(MarkdownDet.detMarkdown({ ...page, blocks: [table] }))
    expect(parsed!.table?.header_rows).toBe(0)
    expect(parsed!.table?.rows.map((row) => row.map((c) => c.text))).toEqual(
      table.rows!.map((row) => row.map((c) => c.text))
    )
  })

  it.live(`round-trips the corpus's tables through markdown_det${skipped}`, () =>
    Effect.gen(function*() {
      if (!haveCorpus) return
      for (const name of ["docling_2305.03393v1-pg9", "docling_redp5110_sampled", "docling_table_mislabeled_as_picture"]) {
        const pages = yield* layOut(`pdfs-digital/${name}.pdf`)
        for (const page of pages.filter((p) => p.blocks.some((b) => b.type === "table"))) {
          const parsed = MarkdownDet.parseMarkdownDet(MarkdownDet.detMarkdown(page))
          expect(parsed.map((b) => b.type)).toEqual(page.blocks.map((b) => b.type))
          page.blocks.forEach((block, i) => {
            if (block.type !== "table") return
            const rows = block.rows!.map((row) => row.map(({ bbox: _, ...cell }) => cell))
            expect(parsed[i]!.table, `${name} p${page.page + 1}`).toEqual({ rows, header_rows: block.header_rows })
          })
          // the stored checkpoint (and document.json's page) keeps the rows and header
          const stored = Schema.decodeUnknownSync(DocumentHandler.PageResult)(JSON.parse(JSON.stringify(page)))
          expect(stored.blocks.filter((b) => b.type === "table")).toEqual(page.blocks.filter((b) => b.type === "table"))
        }
      }
    }).pipe(Effect.provide(PdfEngine.layer())))
})
