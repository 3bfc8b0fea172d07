/**
 * The document handler end to end: the facade, a real Worker, SQLite, local storage and pdf.js on corpus files.
 * A born-digital paper becomes markdown that contains what docling's reference has; a resumed job reads only the
 * pages its earlier attempt did not store; every file of the robustness corpus ends completed, or failed with a
 * sentence, within the per-job limit and with the process's memory bounded; admission refuses what is not a PDF.
 * Scanned PDFs go through OCR: their markdown holds the words printed on the page.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { StoreUnavailable } from "@scriptorium/api"
import {
  type BlobStore,
  collectBytes,
  DocumentHandler,
  type JobHandler,
  OcrEngine,
  PdfAdmission,
  PdfEngine,
  Scriptorium,
  Worker
} from "@scriptorium/core"
import { LocalBlobStore } from "@scriptorium/storage-local"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { Chunk, Effect, Exit, Fiber, Layer, Schedule, Scope, Stream } from "effect"
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import sharp from "sharp"

const corpus = new URL("../../../../shared/corpus/", import.meta.url)
const haveCorpus = existsSync(corpus)
const file = (path: string) => new Uint8Array(readFileSync(new URL(path, corpus)))

/** The per-job time limit of these tests. */
const JOB_LIMIT_MS = 30_000

/** The OCR engine, built once for the file (loading its models takes about half a second) and shared by the stacks. */
const ocrScope = Effect.runSync(Scope.make())
let ocrEngine: OcrEngine.OcrEngine | undefined
beforeAll(async () => {
  ocrEngine = await Effect.runPromise(Scope.extend(OcrEngine.make(), ocrScope))
})
afterAll(() => Effect.runPromise(Scope.close(ocrScope, Exit.void)))
const ocrLayer = Layer.effect(
  OcrEngine.OcrEngine,
  Effect.suspend(() => (ocrEngine === undefined ? Effect.dieMessage("OCR engine not built") : Effect.succeed(ocrEngine)))
)

interface StackOptions {
  readonly handler?: JobHandler<BlobStore | PdfEngine.PdfEngine | OcrEngine.OcrEngine>
  readonly engine?: Layer.Layer<PdfEngine.PdfEngine>
  readonly admission?: boolean
  readonly jobTimeoutMs?: number
}

/** SQLite + local storage in a temp folder, the PdfEngine, the OcrEngine, a Worker running the handler (2 at a time), the facade. */
const stack = (options: StackOptions = {}) => {
  const dir = mkdtempSync(join(tmpdir(), "scriptorium-documents-"))
  const storage = Layer.merge(
    SqliteJobStore.layer({
      filename: join(dir, "jobs.db"),
      retry: { max_attempts: 2, base_delay_ms: 50, max_delay_ms: 200 }
    }),
    LocalBlobStore.layer({ root: join(dir, "blobs") })
  )
  const engine = options.engine ?? PdfEngine.layer({ memoryLimitMb: 512 })
  const services = options.admission === true
    ? Layer.mergeAll(storage, Layer.provideMerge(PdfAdmission.layer(), engine), ocrLayer)
    : Layer.mergeAll(storage, engine, ocrLayer)
  const worker = Worker.layer(options.handler ?? DocumentHandler.handler, {
    concurrency: 2,
    pollMs: 100,
    jobTimeoutMs: options.jobTimeoutMs ?? JOB_LIMIT_MS,
    shutdownGraceMs: 300
  })
  return Layer.provideMerge(Layer.merge(Scriptorium.layer, worker), services)
}

const text = (s: Scriptorium.Scriptorium, jobId: string, name: string) =>
  Effect.map(collectBytes(s.result(jobId, name)), (bytes) => new TextDecoder().decode(bytes))

/** Straight quotes and dashes, single spaces: docling's markdown and ours differ in these alone. */
const plain = (s: string) =>
  s.replace(/[’‘]/g, "'").replace(/[“”]/g, "\"").replace(/[—–]/g, "-").replace(/\s+/g, " ").trim()

describe.skipIf(!haveCorpus)(`DocumentHandler${haveCorpus ? "" : " (skipped: ../shared/corpus is absent)"}`, () => {
  it.live("a born-digital paper ends completed, every page processed, with its text as markdown", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      const job = yield* s.submit({ filename: "tracemonkey.pdf", content: file("pdfs-digital/pdfjs_tracemonkey.pdf") })
      const done = yield* s.wait(job.job_id, { timeoutMs: JOB_LIMIT_MS })
      expect(done.status).toBe("completed")
      expect([done.total_pages, done.processed_pages]).toEqual([14, 14])
      // page 11's chart is a vector figure, cropped from the render (Figure.test.ts)
      expect([...yield* s.outputs(job.job_id)].sort()).toEqual(
        ["document.json", "images/10_0.jpg", "layout.pdf", "markdown.md", "markdown_det.md"]
      )

      const markdown = yield* text(s, job.job_id, "markdown.md")
      expect(markdown.startsWith("# Trace-based Just-in-Time Type Specialization for Dynamic Languages\n\n")).toBe(true)
      expect(markdown).toContain("## 1. Introduction")
      expect(markdown).toContain("We solve the nested loop problem by recording nested trace trees.")
      expect(markdown).toContain("In a naïve implementation, inner loops would become hot first")
      expect(markdown).not.toContain("<|ref|>")

      const det = yield* text(s, job.job_id, "markdown_det.md")
      expect(det.startsWith("<|ref|>title<|/ref|><|det|>[[")).toBe(true)
      const boxes = [...det.matchAll(/<\|det\|>\[\[(\d+), (\d+), (\d+), (\d+)\]\]<\|\/det\|>\n/g)]
      expect(boxes.length).toBeGreaterThan(100)
      for (const box of boxes) {
        const [x1, y1, x2, y2] = box.slice(1).map(Number) as [number, number, number, number]
        expect(0 <= x1 && x1 <= x2 && x2 <= 999 && 0 <= y1 && y1 <= y2 && y2 <= 999).toBe(true)
      }

      const document = JSON.parse(yield* text(s, job.job_id, "document.json")) as {
        pages: Array<{ page: number; width: number; height: number; source: string; blocks: Array<unknown> }>
      }
      expect(document.pages.map((p) => p.page)).toEqual([...Array(14).keys()])
      expect(document.pages.every((p) => p.source === "text" && p.width === 612 && p.blocks.length > 0)).toBe(true)
    }).pipe(Effect.provide(stack())))

  it.live("the markdown holds the paragraphs and headings of docling's reference for the same file", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      for (const name of ["multi_page", "2305.03393v1-pg9", "code_and_formula"]) {
        const job = yield* s.submit({ filename: `${name}.pdf`, content: file(`pdfs-digital/docling_${name}.pdf`) })
        expect((yield* s.wait(job.job_id, { timeoutMs: JOB_LIMIT_MS })).status).toBe("completed")
        const ours = plain(yield* text(s, job.job_id, "markdown.md"))
        const reference = readFileSync(new URL(`pdfs-digital/docling-groundtruth/${name}.md`, corpus), "utf8")
        const lines = reference.split("\n")
        // running text (no tables, list items or formulas, which docling renders its own way), and headings' text
        const paragraphs = lines.filter((l) => l.length > 80 && !/^([|#-]|\d+\.\s|\$\$)|\\_/.test(l))
        const headings = lines.filter((l) => l.startsWith("#")).map((l) => l.replace(/^#+ /, ""))
        const found = (l: string) => ours.includes(plain(l))
        expect(paragraphs.length).toBeGreaterThan(3)
        expect(paragraphs.filter(found).length / paragraphs.length).toBeGreaterThanOrEqual(0.9)
        expect(headings.filter(found)).toEqual(headings)
      }
    }).pipe(Effect.provide(stack())))

  it.live("every born-digital paper of the corpus completes, every page read through its text layer", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      const names = readdirSync(new URL("pdfs-digital/", corpus)).filter((n) => n.endsWith(".pdf"))
      expect(names.length).toBeGreaterThanOrEqual(11)
      const jobs = yield* Effect.forEach(names, (name) =>
        Effect.map(s.submit({ filename: name, content: file(`pdfs-digital/${name}`) }), (job) => [name, job] as const))
      for (const [name, job] of jobs) {
        const done = yield* s.wait(job.job_id, { timeoutMs: JOB_LIMIT_MS })
        expect(done.status, name).toBe("completed")
        expect(done.total_pages, name).toBeGreaterThan(0)
        expect(done.processed_pages, name).toBe(done.total_pages)
        const document = JSON.parse(yield* text(s, job.job_id, "document.json")) as {
          pages: ReadonlyArray<{ source: string }>
        }
        expect(document.pages.filter((p) => p.source === "text").length, name).toBeGreaterThan(0)
        expect((yield* text(s, job.job_id, "markdown.md")).length, name).toBeGreaterThan(500)
        const layout = yield* collectBytes(s.result(job.job_id, "layout.pdf"))
        expect(new TextDecoder().decode(layout.subarray(0, 5)), name).toBe("%PDF-")
      }
    }).pipe(Effect.provide(stack())), 120_000)

  it.live("scanned PDFs are read by OCR: the markdown holds the printed words, each line kept with its box", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      // a scanned book in Chinese (8 pages, no text layer) and a one-page scan of a logo's text
      const book = yield* s.submit({ filename: "book.pdf", content: file("pdfs-real/mineru_small_ocr.pdf") })
      const scan = yield* s.submit({ filename: "scan.pdf", content: file("pdfs-real/scan-bad.pdf") })
      for (const [job, pages, words] of [
        [book, 8, ["商品", "使用价值", "交换价值", "小麦"]],
        [scan, 1, ["pdf.js"]]
      ] as const) {
        const done = yield* s.wait(job.job_id, { timeoutMs: 60_000 })
        expect([done.status, done.processed_pages]).toEqual(["completed", pages])
        const markdown = (yield* text(s, job.job_id, "markdown.md")).toLowerCase()
        for (const word of words) expect(markdown).toContain(word)
        const document = JSON.parse(yield* text(s, job.job_id, "document.json")) as {
          pages: Array<{
            source: string
            width: number
            height: number
            route: { decision: string }
            ocr_lines?: Array<{ text: string; confidence: number; bbox: [number, number, number, number] }>
          }>
        }
        expect(document.pages.every((p) => p.source === "ocr" || p.source === "none")).toBe(true)
        expect(document.pages.every((p) => p.route.decision === "ocr")).toBe(true)
        const first = document.pages[0]!
        expect(first.source).toBe("ocr")
        expect(first.ocr_lines!.length).toBeGreaterThan(0)
        // boxes in points, inside the page
        for (const { bbox: [x1, y1, x2, y2], confidence } of first.ocr_lines!) {
          expect(0 <= x1 && x1 < x2 && x2 <= first.width + 1 && 0 <= y1 && y1 < y2 && y2 <= first.height + 1).toBe(true)
          expect(confidence).toBeGreaterThanOrEqual(0.5)
        }
      }
      const pages = JSON.parse(yield* text(s, book.job_id, "document.json")).pages as Array<{ source: string }>
      expect(pages.filter((p) => p.source === "ocr").length).toBeGreaterThanOrEqual(7)
    }).pipe(Effect.provide(stack({ jobTimeoutMs: 60_000 }))), 90_000)

  it.live("a page scanned sideways or upside down reads as the upright one, its boxes on the page as given", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      const upright = file("sroie-dev/sroie_000.jpg")
      const turned = yield* Effect.promise(() =>
        Promise.all([90, 180].map((angle) => sharp(upright).rotate(angle).png().toBuffer()))
      )
      const jobs = yield* Effect.forEach(
        [upright, ...turned.map((b) => new Uint8Array(b))],
        (content, i) => s.submit({ filename: `receipt-${i}.${i === 0 ? "jpg" : "png"}`, content })
      )
      type Page = { width: number; height: number; blocks: Array<{ bbox: [number, number, number, number] }> }
      const results: Array<{ markdown: string; page: Page }> = []
      for (const job of jobs) {
        expect((yield* s.wait(job.job_id, { timeoutMs: 60_000 })).status).toBe("completed")
        const markdown = yield* text(s, job.job_id, "markdown.md")
        const page = (JSON.parse(yield* text(s, job.job_id, "document.json")) as { pages: Array<Page> }).pages[0]!
        results.push({ markdown, page })
      }
      const [first, sideways, upsideDown] = results
      expect(first!.markdown.length).toBeGreaterThan(200)
      expect(sideways!.markdown).toBe(first!.markdown)
      expect(upsideDown!.markdown).toBe(first!.markdown)
      expect([sideways!.page.width, sideways!.page.height]).toEqual([first!.page.height, first!.page.width])
      for (const { page } of results) {
        for (const { bbox: [x1, y1, x2, y2] } of page.blocks) {
          expect(0 <= x1 && x1 < x2 && x2 <= page.width + 1 && 0 <= y1 && y1 < y2 && y2 <= page.height + 1).toBe(true)
        }
      }
      // the receipt's barcode is a picture, saved upright from every scan (its box is on the page as it lies)
      const barcodes = yield* Effect.forEach(jobs, (job) =>
        Effect.flatMap(collectBytes(s.result(job.job_id, "images/0_0.jpg")), (jpeg) =>
          Effect.promise(() => sharp(jpeg).metadata())))
      expect(barcodes[0]!.width!).toBeGreaterThan(2 * barcodes[0]!.height!)
      for (const turned of barcodes.slice(1)) {
        expect(Math.abs(turned.width! - barcodes[0]!.width!)).toBeLessThanOrEqual(2)
        expect(Math.abs(turned.height! - barcodes[0]!.height!)).toBeLessThanOrEqual(2)
      }
    }).pipe(Effect.provide(stack({ jobTimeoutMs: 60_000 }))), 120_000)

  it.live("a receipt photographed askew is laid out upright: each amount on its label's line, no heading of a long line", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      // sroie_288 lies about 2.7 degrees askew: its rows' two ends are 30 to 50 pixels apart in height
      const job = yield* s.submit({ filename: "receipt.jpg", content: file("sroie-dev/sroie_288.jpg") })
      expect((yield* s.wait(job.job_id, { timeoutMs: 60_000 })).status).toBe("completed")
      const markdown = (yield* text(s, job.job_id, "markdown.md")).replace(/\s+/g, " ")
      for (const row of ["FuelSave 95 RM 50.00 C", "Total RM 50.00", "Cash RM 50.00", "Total Gross C RM 50.00"]) {
        expect(markdown).toContain(row)
      }
      // upright bounds of the long lines made them look taller than the body, hence headings
      expect(markdown).not.toMatch(/#+ (Site|Telephone|given Relief)/)
      type Page = { width: number; height: number; blocks: Array<{ bbox: [number, number, number, number] }> }
      const page = (JSON.parse(yield* text(s, job.job_id, "document.json")) as { pages: Array<Page> }).pages[0]!
      for (const { bbox: [x1, y1, x2, y2] } of page.blocks) {
        expect(0 <= x1 && x1 < x2 && x2 <= page.width && 0 <= y1 && y1 < y2 && y2 <= page.height).toBe(true)
      }
    }).pipe(Effect.provide(stack({ jobTimeoutMs: 60_000 }))), 90_000)

  it.live("the job's ocr option: \"always\" reads a born-digital page by OCR, column by column; \"never\" leaves a scan unread", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      // a two-column page whose gutter is 20 pixels at the OCR resolution
      const digital = yield* s.submit({
        filename: "handbook.pdf",
        content: file("pdfs-digital/docling_amt_handbook_sample.pdf"),
        options: { ocr: "always" }
      })
      const scan = yield* s.submit({
        filename: "book.pdf",
        content: file("pdfs-real/mineru_small_ocr.pdf"),
        options: { ocr: "never" }
      })
      type Page = {
        source: string
        route: { decision: string; reason: string }
        markdown?: string
        blocks: Array<{ type: string; image?: string; bbox: ReadonlyArray<number> }>
        ocr_lines?: Array<{ text: string }>
      }
      const pagesOf = (id: string) =>
        Effect.map(text(s, id, "document.json"), (json) => (JSON.parse(json) as { pages: Array<Page> }).pages)
      expect((yield* s.wait(digital.job_id, { timeoutMs: 60_000 })).status).toBe("completed")
      const [forced] = yield* pagesOf(digital.job_id)
      expect([forced!.source, forced!.route.decision]).toEqual(["ocr", "ocr"])
      expect(forced!.route.reason).toContain("ocr: always")
      // the OCR'd text is the page's own: most words of its text layer are in it
      const ocrMarkdown = (yield* text(s, digital.job_id, "markdown.md")).toLowerCase()
      const ocrWords = new Set(ocrMarkdown.match(/[a-z]{4,}/g))
      const digitalAlone = yield* s.submit({
        filename: "handbook.pdf",
        content: file("pdfs-digital/docling_amt_handbook_sample.pdf")
      })
      expect((yield* s.wait(digitalAlone.job_id, { timeoutMs: JOB_LIMIT_MS })).status).toBe("completed")
      const layerMarkdown = (yield* text(s, digitalAlone.job_id, "markdown.md")).toLowerCase()
      const layerWords = [...new Set(layerMarkdown.match(/[a-z]{4,}/g))]
      expect(layerWords.length).toBeGreaterThan(10)
      expect(layerWords.filter((w) => ocrWords.has(w)).length / layerWords.length).toBeGreaterThan(0.7)
      // the paragraphs come in the text layer's order (left column, then right): the opening words of each long
      // paragraph of the text layer, found in the OCR's markdown, are found in that order
      const flat = (md: string) => md.replace(/[^a-z]+/g, " ")
      const openings = layerMarkdown.split("\n\n").map(flat).filter((p) => p.split(" ").length > 20)
        .map((p) => p.trim().split(" ").slice(0, 8).join(" "))
      const found = openings.map((o) => flat(ocrMarkdown).indexOf(o)).filter((at) => at >= 0)
      expect(openings.length).toBeGreaterThan(5)
      expect(found.length).toBeGreaterThan(openings.length / 2)
      expect(found).toEqual([...found].sort((a, b) => a - b))
      // the page's pictures (two framed photos the PDF paints as one image, also found on the render) are the text
      // layer's, each once; the photos' callouts, which OCR read, are the picture's, not paragraphs
      const [laid] = yield* pagesOf(digitalAlone.job_id)
      const pictures = (page: Page) => page.blocks.filter((b) => b.type === "picture").map((b) => [b.image, b.bbox])
      expect(pictures(forced!).length).toBeGreaterThan(0)
      expect(pictures(forced!)).toEqual(pictures(laid!))
      expect((yield* s.outputs(digital.job_id)).filter((name) => name.startsWith("images/")))
        .toEqual(pictures(forced!).map(([name]) => `images/${name}`))
      expect(forced!.ocr_lines!.map((line) => line.text)).toContain("Keyway")
      // (the callout is capitalised; the body's "keyway" is not)
      const asWritten = yield* text(s, digital.job_id, "markdown.md")
      expect(asWritten).not.toContain("Keyway")
      expect(asWritten).toContain("Elastic Stop Nut")

      expect((yield* s.wait(scan.job_id, { timeoutMs: JOB_LIMIT_MS })).status).toBe("completed")
      const unread = yield* pagesOf(scan.job_id)
      expect(unread.length).toBe(8)
      for (const page of unread) {
        expect([page.source, page.route.decision]).toEqual(["none", "none"])
        expect(page.route.reason).toContain("ocr: never")
      }
      expect(yield* text(s, scan.job_id, "markdown.md")).toBe("")
    }).pipe(Effect.provide(stack({ jobTimeoutMs: 60_000 }))), 90_000)

  it.live("a ruled table on a page read by OCR is a table: its rules are found on the page image", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      // docling's paper page 9: a table ruled above, below its header and below its last row, no verticals
      const job = yield* s.submit({
        filename: "paper.pdf",
        content: file("pdfs-digital/docling_2305.03393v1-pg9.pdf"),
        options: { ocr: "always" }
      })
      expect((yield* s.wait(job.job_id, { timeoutMs: 60_000 })).status).toBe("completed")
      type Cell = { text: string }
      type Block = { type: string; rows?: Array<Array<Cell>> }
      const [page] = JSON.parse(yield* text(s, job.job_id, "document.json")).pages as Array<{ source: string; blocks: Array<Block> }>
      expect(page!.source).toBe("ocr")
      const tables = page!.blocks.filter((b) => b.type === "table")
      expect(tables).toHaveLength(1)
      const rows = tables[0]!.rows!
      const cells = rows.flat().map((c) => c.text)
      // its eight columns (TEDs over three), the header's words and the figures in their cells
      expect(Math.max(...rows.map((r) => r.length))).toBe(8)
      for (const word of ["enc-layers", "dec-layers", "Language", "TEDs", "mAP"]) {
        expect(cells.some((c) => c.includes(word))).toBe(true)
      }
      for (const figure of ["0.965", "0.938", "0.952", "3.77", "1.97"]) expect(cells.some((c) => c.includes(figure))).toBe(true)
      // its header spans columns, so the markdown holds it as an HTML table
      expect(yield* text(s, job.job_id, "markdown.md")).toMatch(/<table>[\s\S]*TEDs[\s\S]*0\.965[\s\S]*<\/table>/)
    }).pipe(Effect.provide(stack({ jobTimeoutMs: 60_000 }))), 90_000)

  it.live("a resumed job reads only the pages its first attempt did not store", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      const job = yield* s.submit({ filename: "multi_page.pdf", content: file("pdfs-digital/docling_multi_page.pdf") })
      const done = yield* s.wait(job.job_id, { timeoutMs: JOB_LIMIT_MS })
      expect(done.status).toBe("completed")
      expect(done.attempts).toBe(2)
      expect([done.total_pages, done.processed_pages]).toEqual([5, 5])
      // attempt 1 read pages 0-2 and died after checkpointing page 2 (having read ahead at most two pages it never
      // stored); attempt 2 read 3 and 4 only: no stored page was read twice
      expect(pagesRead.slice(0, 3)).toEqual([0, 1, 2])
      expect(pagesRead.slice(-2)).toEqual([3, 4])
      expect(pagesRead.length).toBeLessThanOrEqual(7)
      for (const page of [0, 1, 2]) expect(pagesRead.filter((p) => p === page)).toEqual([page])
      const markdown = yield* text(s, job.job_id, "markdown.md")
      // the first page's text comes from its stored checkpoint
      expect(markdown.startsWith("## The Evolution of the Word Processor\n\n")).toBe(true)
      expect(markdown).toContain("From the clunky typewriters of the 19th century")
    }).pipe(Effect.provide(stack({ handler: crashAfterPage(2), engine: spiedEngine }))))

  it.live("every PDF of the robustness corpus ends completed or failed with a sentence, in time and memory", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      const names = readdirSync(new URL("pdfs-real/", corpus)).filter((n) => n.endsWith(".pdf")).sort()
      let peakRss = process.memoryUsage.rss()
      const sampler = yield* Effect.fork(
        Effect.sync(() => void (peakRss = Math.max(peakRss, process.memoryUsage.rss()))).pipe(
          Effect.repeat(Schedule.spaced("25 millis"))
        )
      )
      const started = Date.now()
      const outcomes = yield* Effect.forEach(names, (name) =>
        Effect.gen(function*() {
          // the text layer and its robustness only: OCR has a test of its own (above), and reading every scanned page
          // of this corpus at once, on one OCR page at a time, takes jobs past the per-job limit
          const job = yield* s.submit({ filename: name, content: file(`pdfs-real/${name}`), options: { ocr: "never" } })
          const states = Chunk.toReadonlyArray(
            yield* Stream.runCollect(s.watch(job.job_id)).pipe(Effect.timeout(JOB_LIMIT_MS * 3))
          )
          const last = states[states.length - 1]!
          const claimed = states.find((j) => j.status === "processing")?.updated_at ?? last.created_at
          const ms = (last.completed_at ?? last.updated_at).getTime() - claimed.getTime()
          return { name, job: last, ms }
        }), { concurrency: "unbounded" })
      const elapsed = Date.now() - started
      yield* Fiber.interrupt(sampler)

      if (process.env.SCRIPTORIUM_SWEEP_TABLE === "1") printTable(outcomes, elapsed, peakRss)
      for (const { name, job, ms } of outcomes) {
        expect([name, job.status]).toEqual([name, expect.stringMatching(/^(completed|failed)$/)])
        expect(ms).toBeLessThan(JOB_LIMIT_MS)
        if (job.status === "completed") {
          expect(job.processed_pages).toBe(job.total_pages)
        } else {
          const message = job.error_message ?? ""
          // one sentence for a person: no stack trace, no bare error class, ends like a sentence
          expect(message, name).toMatch(/^[A-Z].{20,}\.$/s)
          expect(message, name).not.toMatch(/\n|\bat .+:\d+:\d+|Error:|Exception/)
        }
      }
      const outcome = (name: string) => outcomes.find((o) => o.name === name)!.job
      // what this corpus is known to hold
      const encrypted = [
        "issue6010_1.pdf", "issue6010_2.pdf", "issue3371.pdf",
        "saslprep-r6.pdf", "print_protection.pdf"
      ]
      for (const name of encrypted) expect(outcome(name).error_message).toContain("is encrypted and needs a password")
      for (const name of ["bug1020226.pdf", "REDHAT-1531897-0.pdf", "poppler-395-0-fuzzed.pdf"]) {
        expect(outcome(name).error_message).toContain("cannot be read")
      }
      for (const name of ["issue7665.pdf", "empty_protected.pdf", "bomb_giant.pdf", "pdkids.pdf", "TAMReview.pdf"]) {
        expect(outcome(name).status).toBe("completed")
      }
      expect([outcome("pdkids.pdf").processed_pages, outcome("TAMReview.pdf").processed_pages]).toEqual([55, 23])
      // a scanned book without a text layer completes with empty pages when OCR is off
      const scanned = outcome("mineru_small_ocr.pdf")
      expect([scanned.status, scanned.processed_pages]).toEqual(["completed", 8])
      const document = JSON.parse(yield* text(s, scanned.job_id, "document.json")) as {
        pages: Array<{ source: string }>
      }
      expect(document.pages.map((p) => p.source)).toEqual(Array(8).fill("none"))
      // two document threads of at most 512 MB heap each, plus the test process itself
      expect(peakRss).toBeLessThan(1_500 * 1024 * 1024)
      expect(elapsed).toBeLessThan(120_000)
    }).pipe(Effect.provide(stack())), 180_000)

  it.live("a job past the per-job time limit fails with the Worker's sentence and leaves no thread busy", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      const engine = yield* PdfEngine.PdfEngine
      const job = yield* s.submit({ filename: "pdkids.pdf", content: file("pdfs-real/pdkids.pdf") })
      const failed = yield* s.wait(job.job_id, { timeoutMs: JOB_LIMIT_MS })
      expect(failed.status).toBe("failed")
      expect(failed.error_message).toContain("longer than the per-job time limit")
      expect(failed.processed_pages).toBeLessThan(55)
      yield* Effect.sleep(200)
      expect((yield* engine.threads).busy).toBe(0)
    }).pipe(Effect.provide(stack({ jobTimeoutMs: 400 }))))

  it.live("with PdfAdmission, submit refuses what is not a readable PDF and gives the page count at once", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      const job = yield* s.submit({ filename: "paper.pdf", content: file("pdfs-digital/pdfjs_tracemonkey.pdf") })
      expect([job.status, job.total_pages]).toEqual(["pending", 14])
      const png = yield* Effect.flip(s.submit({
        filename: "scan.png",
        content: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
      }))
      expect(png._tag).toBe("ImageUnreadable")
      expect(png.message).toContain("The PNG image 'scan.png' cannot be decoded")
      const locked = yield* Effect.flip(
        s.submit({ filename: "locked.pdf", content: file("pdfs-real/issue6010_1.pdf") })
      )
      expect(locked._tag).toBe("EncryptedPdf")
      const broken = yield* Effect.flip(s.submit({ filename: "broken.pdf", content: file("pdfs-real/bug1020226.pdf") }))
      expect(broken._tag).toBe("CorruptPdf")
      const empty = yield* Effect.flip(s.submit({ filename: "empty.pdf", content: new Uint8Array(0) }))
      expect(empty._tag).toBe("EmptyFile")
      // only the paper became a job
      expect((yield* s.list()).jobs.map((j) => j.filename)).toEqual(["paper.pdf"])
    }).pipe(Effect.provide(stack({ admission: true }))))

  it.live("without admission, a file that is not a PDF fails its job with the same sentence", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      const job = yield* s.submit({ filename: "notes.pdf", content: new TextEncoder().encode("just some notes\n") })
      const failed = yield* s.wait(job.job_id, { timeoutMs: JOB_LIMIT_MS })
      expect([failed.status, failed.attempts]).toEqual(["failed", 1])
      expect(failed.error_message).toBe("The file 'notes.pdf' is not a PDF (it looks like plain text); upload a PDF, or a page image (PNG, JPEG, TIFF, WebP).")
    }).pipe(Effect.provide(stack())))
})

/** Pages the spied engine was asked for, in order. */
const pagesRead: Array<number> = []

/** The real engine, recording every page read. */
const spiedEngine = Layer.effect(
  PdfEngine.PdfEngine,
  Effect.map(PdfEngine.PdfEngine, (engine): PdfEngine.PdfEngine => ({
    ...engine,
    open: (bytes, options) =>
      Effect.map(engine.open(bytes, options), (pdf) => ({
        ...pdf,
        page: (page) => Effect.tap(pdf.page(page), () => Effect.sync(() => pagesRead.push(page)))
      }))
  }))
).pipe(Layer.provide(PdfEngine.layer()))

/** The document handler, except that its first attempt dies (retryably) right after checkpointing `last`. */
const crashAfterPage = (last: number): JobHandler<BlobStore | PdfEngine.PdfEngine | OcrEngine.OcrEngine> => (context) =>
  DocumentHandler.handler(context.attempt > 1 ? context : {
    ...context,
    checkpoint: (page) =>
      Effect.zipRight(
        context.checkpoint(page),
        page === last ? Effect.fail(new StoreUnavailable({ reason: "simulated crash" })) : Effect.void
      )
  })

interface Outcome {
  readonly name: string
  readonly job: { readonly status: string; readonly total_pages: number; readonly error_message: string | null }
  readonly ms: number
}

/** The sweep as a markdown table (SCRIPTORIUM_SWEEP_TABLE=1), for reports. */
const printTable = (outcomes: ReadonlyArray<Outcome>, elapsed: number, peakRss: number) => {
  const rows = outcomes.map(({ name, job, ms }) =>
    `| ${name} | ${job.status} | ${job.total_pages} | ${ms} | ${job.error_message ?? ""} |`
  )
  process.stdout.write(
    ["| file | status | pages | ms | error |", "|---|---|---:|---:|---|", ...rows,
      `\nsweep: ${outcomes.length} files in ${elapsed} ms, peak RSS ${Math.round(peakRss / 1048576)} MB\n`].join("\n")
  )
}
