/**
 * Rendering pages to pixels in the PdfEngine's thread: a born-digital page at 150 DPI has the size its points say
 * and is not blank; the event loop stays responsive while a heavy page renders (the work is in the thread, the
 * pixels are moved, not copied); a huge page renders under `maxPixels`, at a lower DPI, never more. The median render
 * time per page is printed. The thread script is the built one: run `npx tsc -b` first.
 */
import { describe, expect, it } from "@effect/vitest"
import { PdfEngine } from "@scriptorium/core"
import { Effect } from "effect"
import { existsSync, readFileSync } from "node:fs"
import type { RenderedPage } from "../src/engine/PdfEngine.js"

const corpus = new URL("../../../../shared/corpus/", import.meta.url)
const haveCorpus = existsSync(corpus)
const file = (path: string) => new Uint8Array(readFileSync(new URL(path, corpus)))

/** A one-page PDF of `size` x `size` points with a line of text in the middle and a box around the page. */
const hugePagePdf = (size: number): Uint8Array => {
  const content = Buffer.from(
    `BT /F1 ${size / 20} Tf ${size / 10} ${size / 2} Td (A very large page) Tj ET\n` +
      `${size / 50} w ${size / 40} ${size / 40} ${size * 0.95} ${size * 0.95} re S\n`
  )
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${size} ${size}] /Contents 5 0 R ` +
    "/Resources << /Font << /F1 4 0 R >> >> >>",
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    `<< /Length ${content.length} >>\nstream\n${content.toString("latin1")}\nendstream`
  ]
  let pdf = "%PDF-1.4\n"
  const offsets: Array<number> = []
  objects.forEach((body, i) => {
    offsets.push(pdf.length)
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`
  })
  const xref = pdf.length
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n` +
    offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("") +
    `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`
  return new Uint8Array(Buffer.from(pdf, "latin1"))
}

/** The variance of the pixels' grey level (0 for a blank page). */
const variance = (page: RenderedPage): number => {
  let sum = 0
  let squares = 0
  const n = page.width * page.height
  for (let i = 0; i < page.data.length; i += 4) {
    const grey = (page.data[i]! + page.data[i + 1]! + page.data[i + 2]!) / 3
    sum += grey
    squares += grey * grey
  }
  return squares / n - (sum / n) ** 2
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

/** Runs `effect` while a 10 ms interval measures how late the event loop runs it: the result and the worst lag. */
const withLoopLag = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const state = { worst: 0, last: performance.now(), timer: undefined as NodeJS.Timeout | undefined }
      state.timer = setInterval(() => {
        const now = performance.now()
        state.worst = Math.max(state.worst, now - state.last - 10)
        state.last = now
      }, 10)
      return state
    }),
    (state) => Effect.map(effect, (a) => [a, state] as const),
    (state) => Effect.sync(() => clearInterval(state.timer))
  ).pipe(Effect.map(([a, state]) => [a, state.worst] as const))

describe.skipIf(!haveCorpus)(`Rasterise${haveCorpus ? "" : " (skipped: ../shared/corpus is absent)"}`, () => {
  it.live("a born-digital page renders at 150 DPI to the size its points say, with ink on it", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const pdf = yield* engine.open(file("pdfs-digital/pdfjs_tracemonkey.pdf"), { filename: "tracemonkey.pdf" })
      const text = yield* pdf.page(0)
      const page = yield* pdf.renderPage(0, { dpi: 150 })
      expect(page.channels).toBe(4)
      expect(page.dpi).toBeCloseTo(150, 3)
      expect(Math.abs(page.width - (text.width * 150) / 72)).toBeLessThanOrEqual(1)
      expect(Math.abs(page.height - (text.height * 150) / 72)).toBeLessThanOrEqual(1)
      expect(page.data.byteLength).toBe(page.width * page.height * 4)
      // white paper with black text: a blank raster has variance 0
      expect(variance(page)).toBeGreaterThan(100)
      // opaque: every alpha is 255
      expect(page.data.filter((_, i) => i % 4 === 3 && page.data[i] !== 255).length).toBe(0)

      // every page, timed (the first includes pdf.js's warm-up of this thread)
      const times: Array<number> = []
      for (let i = 0; i < pdf.pageCount; i++) {
        const started = performance.now()
        const rendered = yield* pdf.renderPage(i)
        times.push(performance.now() - started)
        expect([rendered.width, rendered.height]).toEqual([page.width, page.height])
      }
      process.stdout.write(
        `\nrender at 150 DPI, ${pdf.pageCount} pages of tracemonkey: median ${median(times).toFixed(0)} ms, ` +
          `max ${Math.max(...times).toFixed(0)} ms\n`
      )
    }).pipe(Effect.scoped, Effect.provide(PdfEngine.layer())))

  it.live("a scanned page renders with its image, and an OCR'd page (invisible text) renders blank of text", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const scan = yield* engine.open(file("pdfs-real/mineru_small_ocr.pdf"), { filename: "scan.pdf" })
      expect(variance(yield* scan.renderPage(0, { dpi: 100 }))).toBeGreaterThan(100)
      // its text is in render mode 3: nothing of it is drawn, which is why it goes to OCR
      const ocrd = yield* engine.open(file("pdfs-real/issue4684.pdf"), { filename: "issue4684.pdf" })
      expect((yield* ocrd.page(0)).items.length).toBeGreaterThan(0)
      expect(variance(yield* ocrd.renderPage(0))).toBeLessThan(1)
    }).pipe(Effect.scoped, Effect.provide(PdfEngine.layer())))

  it.live("a huge page renders under maxPixels at a lower DPI, never more", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      // 200 x 200 inches: 900 megapixels at 150 DPI
      const pdf = yield* engine.open(hugePagePdf(14_400), { filename: "huge.pdf" })
      const small = yield* pdf.renderPage(0, { dpi: 150, maxPixels: 4_000_000 })
      expect(small.width * small.height).toBeLessThanOrEqual(4_000_000)
      expect(small.width * small.height).toBeGreaterThan(3_900_000)
      expect(small.dpi).toBeLessThan(150)
      expect(Math.abs(small.width - (14_400 * small.dpi) / 72)).toBeLessThanOrEqual(1)
      expect(variance(small)).toBeGreaterThan(10)
      // the default bound
      const bounded = yield* pdf.renderPage(0, { dpi: 150 })
      expect(bounded.width * bounded.height).toBeLessThanOrEqual(PdfEngine.DEFAULT_MAX_PIXELS)
      expect(bounded.dpi).toBeLessThan(150)
      // a normal page is not scaled up to fill the bound
      const normal = yield* pdf.renderPage(0, { dpi: 1, maxPixels: 100_000_000 })
      expect(normal.dpi).toBeCloseTo(1, 3)
    }).pipe(Effect.scoped, Effect.provide(PdfEngine.layer())))

  it.live("the event loop stays responsive while a heavy page renders in its thread", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const pdf = yield* engine.open(hugePagePdf(14_400), { filename: "huge.pdf" })
      const paper = yield* engine.open(file("pdfs-digital/pdfjs_tracemonkey.pdf"), { filename: "tracemonkey.pdf" })
      // warm both threads up, so what is measured is the rendering
      yield* pdf.renderPage(0, { dpi: 10 })
      yield* paper.renderPage(0, { dpi: 10 })
      const started = performance.now()
      const [pages, lag] = yield* withLoopLag(Effect.all([
        pdf.renderPage(0, { dpi: 150, maxPixels: 40_000_000 }),
        paper.renderPage(1, { dpi: 600 })
      ], { concurrency: 2 }))
      const elapsed = performance.now() - started
      expect(pages[0].width * pages[0].height).toBeGreaterThan(30_000_000)
      expect(pages[1].width).toBe(Math.floor((612 * 600) / 72))
      // the renders took a while, and meanwhile the loop was never held up for long
      process.stdout.write(`\nheavy renders: ${elapsed.toFixed(0)} ms, worst event-loop lag ${lag.toFixed(0)} ms\n`)
      // (on the event loop, the same work would hold it up for the whole render: about a second here)
      expect(lag).toBeLessThan(250)
      expect(elapsed).toBeGreaterThan(lag * 3)
    }).pipe(Effect.scoped, Effect.provide(PdfEngine.layer())))
})
