/**
 * Layout quality and speed on the born-digital corpus (`pdfs-digital`), side by side with docling's reference
 * outputs where the corpus has them (`docling-groundtruth/`: docling's own regression references, made by its layout
 * model, TableFormer and its markdown serializer; a reference from another system, not human ground truth).
 *
 * Each PDF is read with PdfEngine (pdf.js in its thread) and each page laid out as the pipeline does it:
 * DocumentHandler's `pageResult` (routing, then the built-in LayoutEngine), its figures (`readFigures`: embedded
 * images and vector figures, placed as picture blocks by `pageWithPictures`), then the document pass (LayoutEngine's
 * `notePage`, `documentPass`, `applyDocumentPass`: furniture and heading levels; and the markdown flow that joins
 * paragraphs across breaks).
 * No server, no job store. Per document with a reference:
 * - headings: ours (title and section headers) against docling's (title and section_header items), matched one to
 *   one on their letters and digits; F1, and the share of matched headings whose level agrees. Docling's references
 *   give every section header level 1 (its markdown writes them all as `##`), so level agreement mostly says how
 *   many of ours are level 1.
 * - tables and pictures: how many blocks of each type we produce against docling's `tables` (its tables of
 *   contents, `document_index`, left out) and `pictures`; and the cell text F1 of our tables' cells against docling's
 *   (matched one to one on letters and digits).
 * - reading order: docling's body `text` items in its order, each found among our paragraph blocks (after the
 *   document pass) by its first 40 letters and digits; Kendall's tau-b over the matched ones (a key that occurs in
 *   two texts of either side, as the repeated lorem ipsum does, is left out; "matched" says how many counted).
 * - markdown similarity: 1 - Levenshtein distance / longer length, on both whole markdowns normalised (NFKC, quotes,
 *   dashes, blanks, lower case; docling's `<!-- image -->` and formula placeholders and our image links dropped;
 *   tables written one way, HTML rows as pipe rows and `| --- |` lines dropped).
 * - layout time: LayoutEngine's `layoutPage` alone on each page's text items (routing and pdf.js not counted),
 *   the median of R runs per page; the table gives the median page and the slowest.
 *
 * The two-column papers without a reference (pdfjs_tracemonkey, mineru_demo1-3) get a geometric reading-order check
 * instead: on every page, the blocks of prose (paragraphs, list items, headings, captions, footnotes; 20 characters
 * or more, mostly words: not a table's cells) lying wholly in the left or right half are compared in pairs within each
 * band of the page (between blocks spanning both columns); a left-column block should come before a right-column
 * one, and in one column an upper block before a lower one. tau = (in order - out of order) / pairs. This trusts
 * the page's geometry (two columns split at the middle), not our own reading order or the content stream's. Tests
 * (`packages/core/test/Layout.test.ts`) hand-check chosen pages.
 *
 * Run: `npm run bench:layout` (about 30 s on 2 idle cores; `--quick`: one layout run per page), or after
 * `npx tsc -b`:
 *   node benchmarks/dist/layout.js [--quick] [--repeats R] [--corpus DIR] [--details]
 * `--details` lists on stderr, per document, the headings only one side has and the paragraphs out of docling's
 * order.
 */
import { DocumentHandler, LayoutEngine, PdfEngine } from "@scriptorium/core"
import { Effect, Logger, LogLevel, ManagedRuntime } from "effect"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { loadavg } from "node:os"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import * as Metrics from "./internal/LayoutMetrics.js"
import { runMain } from "./internal/Main.js"
import { machineLine, median, ms, nowMs, positive } from "./internal/Stats.js"

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    repeats: { type: "string" },
    corpus: { type: "string" },
    details: { type: "boolean", default: false },
    help: { type: "boolean", default: false }
  }
})

if (flags.help) {
  process.stdout.write(
    "node benchmarks/dist/layout.js [--quick] [--repeats R] [--corpus DIR] [--details]\n" +
      "  --corpus: a folder of born-digital PDFs with docling-groundtruth/ (default ../shared/corpus/pdfs-digital)\n" +
      "  --details: list on stderr the headings that differ and the paragraphs out of docling's order\n"
  )
  process.exit(0)
}

const defaultCorpus = fileURLToPath(new URL("../../../shared/corpus/pdfs-digital/", import.meta.url))
const options = {
  repeats: Math.floor(positive("--repeats", flags.repeats, flags.quick ? 1 : 5)),
  corpus: resolve(flags.corpus ?? defaultCorpus)
}

const log = (line: string) => process.stderr.write(`${line}\n`)

/** The two-column papers without a docling reference, checked by geometry. */
const TWO_COLUMN = /^(?:pdfjs_tracemonkey|mineru_demo\d)\.pdf$/

interface Laid {
  readonly name: string
  readonly pages: ReadonlyArray<DocumentHandler.PageResult>
  readonly markdown: string
  /** Layout time of each page routed to its text layer, ms. */
  readonly times: ReadonlyArray<number>
}

type Page = DocumentHandler.PageResult

/** A document read and laid out as the pipeline does it, with the document pass. */
const layOut = (name: string, bytes: Uint8Array) =>
  Effect.scoped(Effect.gen(function*() {
    const engine = yield* PdfEngine.PdfEngine
    const pdf = yield* engine.open(bytes, { filename: name })
    const pages: Array<Page> = []
    const times: Array<number> = []
    for (let index = 0; index < pdf.pageCount; index++) {
      const text = yield* pdf.page(index)
      const laid = DocumentHandler.pageResult(text)
      // the pictures as the pipeline makes them: images and vector figures, placed among the blocks
      const figures = yield* DocumentHandler.readFigures(pdf, text, laid.route.decision)
      const result = DocumentHandler.pageWithPictures(laid, figures).page
      pages.push(result)
      if (result.source !== "text") continue
      const input = {
        items: DocumentHandler.outsideFigures(text),
        width: text.width,
        height: text.height,
        page: index,
        source: "text" as const,
        shapes: text.shapes
      }
      const runs: Array<number> = []
      for (let r = 0; r < options.repeats; r++) {
        const started = nowMs()
        LayoutEngine.layoutPage(input)
        runs.push(nowMs() - started)
      }
      times.push(median(runs))
    }
    const pass = LayoutEngine.documentPass(pages.map((page, i) => LayoutEngine.notePage(page, i)))
    const final = pages.map((page) => LayoutEngine.applyDocumentPass(page, pass))
    const flow = LayoutEngine.markdownFlow()
    const parts = [...final.flatMap((page) => flow.page(page.blocks)), ...flow.end()]
    return { name, pages: final, markdown: parts.join("\n\n"), times } satisfies Laid
  }))

const headingsOf = (pages: ReadonlyArray<Page>): Array<Metrics.Heading> =>
  pages.flatMap((page) => page.blocks)
    .filter((b) => b.type === "title" || b.type === "section_header" || b.type === "heading")
    .map((b) => ({ text: b.text, level: b.type === "title" ? 1 : b.level }))

/** The texts of the cells of a document's tables. */
const tableCells = (pages: ReadonlyArray<Page>): Array<string> =>
  pages.flatMap((page) => page.blocks).flatMap((b) => (b.rows ?? []).flatMap((row) => row.map((cell) => cell.text)))

const count = (pages: ReadonlyArray<Page>, type: string) =>
  pages.reduce((n, page) => n + page.blocks.filter((b) => b.type === type).length, 0)

const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "–")

const main = async () => {
  const started = nowMs()
  const load = loadavg()[0]!
  const names = readdirSync(options.corpus).filter((n) => n.toLowerCase().endsWith(".pdf")).sort()
  if (names.length === 0) throw new Error(`No PDF in ${options.corpus}`)
  const runtime = ManagedRuntime.make(PdfEngine.layer())
  try {
    const laid: Array<Laid> = []
    for (const name of names) {
      log(`laying out ${name}`)
      const bytes = new Uint8Array(readFileSync(join(options.corpus, name)))
      laid.push(await runtime.runPromise(layOut(name, bytes).pipe(Logger.withMinimumLogLevel(LogLevel.Error))))
    }

    const referenced: Array<string> = []
    const unreferenced: Array<string> = []
    const totals = { matched: 0, sameLevel: 0, ours: 0, theirs: 0, similarity: [] as Array<number> }
    const cellTotals = { matched: 0, ours: 0, theirs: 0 }
    for (const doc of laid) {
      const stem = doc.name.replace(/^docling_/, "").replace(/\.pdf$/i, "")
      const jsonPath = join(options.corpus, "docling-groundtruth", `${stem}.json`)
      const mdPath = join(options.corpus, "docling-groundtruth", `${stem}.md`)
      const timing = `${ms(median(doc.times))} (${ms(Math.max(0, ...doc.times))})`
      if (existsSync(jsonPath) && existsSync(mdPath)) {
        log(`comparing ${doc.name} with docling's reference`)
        const reference = Metrics.readReference(readFileSync(jsonPath, "utf8"), readFileSync(mdPath, "utf8"))
        const headings = Metrics.headingScore(headingsOf(doc.pages), reference.headings)
        const paragraphs = doc.pages.flatMap((page) => page.blocks).filter((b) => b.type === "paragraph").map((b) => b.text)
        const ourTexts = doc.pages.flatMap((page) => page.blocks).map((b) => b.text)
        const order = Metrics.paragraphOrder(paragraphs, reference.paragraphs, ourTexts, reference.texts)
        const cells = Metrics.cellScore(tableCells(doc.pages), reference.tableCells)
        cellTotals.matched += cells.matched
        cellTotals.ours += cells.ours
        cellTotals.theirs += cells.theirs
        const similarity = Metrics.editSimilarity(
          Metrics.comparableMarkdown(doc.markdown),
          Metrics.comparableMarkdown(reference.markdown)
        )
        if (flags.details) {
          for (const h of headings.extra) log(`  heading only ours: ${h.level} ${JSON.stringify(h.text)}`)
          for (const h of headings.missed) log(`  heading only docling's: ${h.level} ${JSON.stringify(h.text)}`)
          order.pairs.forEach((pair, i) => {
            const later = order.pairs.slice(i + 1).filter((p) => p.at < pair.at).length
            const earlier = order.pairs.slice(0, i).filter((p) => p.at > pair.at).length
            if (later > 0) log(`  paragraph before ${later} that docling puts after it: ${pair.key}`)
            if (earlier > 2) log(`  paragraph after ${earlier} that docling puts before it: ${pair.key}`)
          })
        }
        totals.matched += headings.matched
        totals.sameLevel += headings.levelAgreement * headings.matched
        totals.ours += headings.ours
        totals.theirs += headings.theirs
        totals.similarity.push(similarity)
        referenced.push(
          `| ${doc.name} | ${doc.pages.length} | ${headings.ours} / ${headings.theirs} | ${f2(headings.f1)} | ` +
            `${f2(headings.levelAgreement)} | ${count(doc.pages, "table")} / ${reference.tables} | ` +
            `${f2(cells.f1)} (${cells.matched}/${cells.ours}/${cells.theirs}) | ` +
            `${count(doc.pages, "picture")} / ${reference.pictures} | ${f2(order.tau)} (${order.matched}/${order.total}) | ` +
            `${f2(similarity)} | ${timing} |`
        )
      } else {
        let concordant = 0
        let discordant = 0
        for (const page of doc.pages) {
          const pairs = Metrics.columnOrder(page.blocks, page.width)
          concordant += pairs.concordant
          discordant += pairs.discordant
        }
        const pairs = concordant + discordant
        const tau = pairs === 0 ? Number.NaN : (concordant - discordant) / pairs
        const kind = TWO_COLUMN.test(doc.name) ? "two-column" : "other"
        unreferenced.push(
          `| ${doc.name} | ${kind} | ${doc.pages.length} | ${headingsOf(doc.pages).length} | ${f2(tau)} (${pairs} pairs) | ` +
            `${timing} |`
        )
      }
    }
    const [p, r] = [totals.matched / totals.ours, totals.matched / totals.theirs]
    const microF1 = p + r === 0 ? 0 : (2 * p * r) / (p + r)
    const allTimes = laid.flatMap((doc) => doc.times)
    const sortedTimes = [...allTimes].sort((a, b) => a - b)
    const out = [
      `#### Layout against docling's reference (${new Date().toISOString().slice(0, 10)})`,
      "",
      machineLine(load),
      `Layout runs per page: ${options.repeats} (median taken). Whole run ${((nowMs() - started) / 1000).toFixed(0)} s.`,
      "",
      "| document | pages | headings ours / docling | heading F1 | level agr. | tables ours / docling | " +
        "table cell F1 (matched/ours/docling) | pictures ours / docling | " +
        "paragraph order tau (matched) | markdown similarity | layout ms/page median (max) |",
      "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
      ...referenced,
      `| **all** | | ${totals.ours} / ${totals.theirs} | ${f2(microF1)} | ${f2(totals.sameLevel / totals.matched)} | | ` +
        `${f2((2 * cellTotals.matched) / (cellTotals.ours + cellTotals.theirs))} ` +
        `(${cellTotals.matched}/${cellTotals.ours}/${cellTotals.theirs}) | | | ` +
        `${f2(totals.similarity.reduce((a, b) => a + b, 0) / totals.similarity.length)} (mean) | |`,
      "",
      "Heading F1 and level agreement of the \"all\" row: over every heading of the seven documents (micro); a document " +
        "where docling has no heading scores 0 for any of ours. Docling gives every section header level 1.",
      "",
      "Tables: docling's tables labelled `table` (its tables of contents, `document_index`, left out). Table cell F1: " +
        "every cell of our tables against every cell of docling's, one to one on letters and digits (case, spaces " +
        "and punctuation aside), cells without a letter or digit left out; – where neither side has a table.",
      "",
      "#### Reading order on the papers without a reference (geometric column check)",
      "",
      "| document | layout | pages | headings | column-order tau (pairs) | layout ms/page median (max) |",
      "|---|---|--:|--:|--:|--:|",
      ...unreferenced,
      "",
      `Layout time over all ${allTimes.length} text pages: median ${ms(median(allTimes))} ms, ` +
        `p95 ${ms(sortedTimes[Math.floor(sortedTimes.length * 0.95)] ?? Number.NaN)} ms, ` +
        `max ${ms(sortedTimes[sortedTimes.length - 1] ?? Number.NaN)} ms.`
    ]
    process.stdout.write(`${out.join("\n")}\n`)
  } finally {
    await runtime.dispose()
  }
}

runMain("Layout", main, async () => {})
