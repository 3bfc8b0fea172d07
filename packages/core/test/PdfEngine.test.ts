/**
 * PdfEngine on real pdf.js and real files: admission checks (a PDF's page count; other files named for what they
 * are; encrypted and truncated PDFs), text items in displayed coordinates, and the threads: reused warm after a
 * clean close, ended by an interrupted request, bounded in number, and a document over the memory limit (heap or
 * decompressed buffers) fails cleanly while the engine carries on. The thread script is the built one: run
 * `npx tsc -b` first (`npm test` does).
 */
import { describe, expect, it } from "@effect/vitest"
import { PdfEngine } from "@scriptorium/core"
import { Effect, Fiber, Schedule } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { deflateSync } from "node:zlib"
import { pdfFile } from "./pdfFile.js"

const corpus = new URL("../../../../shared/corpus/", import.meta.url)
const haveCorpus = existsSync(corpus)
const file = (path: string) => new Uint8Array(readFileSync(new URL(path, corpus)))

/** A one-page PDF whose content stream is `text` followed by `blankMb` MB of spaces, deflated (a flate bomb). */
const bombPdf = (blankMb: number): Uint8Array => {
  const content = Buffer.concat([
    Buffer.from("BT /F1 12 Tf 50 700 Td (Hello from the bomb) Tj ET\n"),
    Buffer.alloc(blankMb * 1024 * 1024, 0x20)
  ])
  const stream = deflateSync(content, { level: 9 })
  const objects = [
    Buffer.from("<< /Type /Catalog /Pages 2 0 R >>"),
    Buffer.from("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
    Buffer.from("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R " +
      "/Resources << /Font << /F1 4 0 R >> >> >>"),
    Buffer.from("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
    Buffer.concat([Buffer.from(`<< /Length ${stream.length} /Filter /FlateDecode >>\nstream\n`), stream,
      Buffer.from("\nendstream")])
  ]
  return pdfFile(objects)
}

/** Waits until no thread is busy with a document (each given back or exited), then counts the threads. */
const threadsGone = (engine: PdfEngine.PdfEngine, ms: number) =>
  engine.threads.pipe(
    Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (n) => n.busy === 0 }),
    Effect.timeout(ms),
    Effect.zipRight(engine.threads)
  )

/** Runs `effect` and samples the process's resident memory meanwhile: the result and the peak growth in bytes. */
const withPeakRss = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const before = process.memoryUsage.rss()
    let peak = before
    const sampler = yield* Effect.fork(
      Effect.sync(() => void (peak = Math.max(peak, process.memoryUsage.rss()))).pipe(
        Effect.repeat(Schedule.spaced("10 millis"))
      )
    )
    const result = yield* effect
    yield* Fiber.interrupt(sampler)
    return [result, peak - before] as const
  })

describe.skipIf(!haveCorpus)(`PdfEngine${haveCorpus ? "" : " (skipped: ../shared/corpus is absent)"}`, () => {
  it.live("inspect gives a PDF's page count", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const paper = file("pdfs-digital/pdfjs_tracemonkey.pdf")
      expect(yield* engine.inspect(paper, "tracemonkey.pdf")).toEqual({ pages: 14 })
      expect(yield* engine.inspect(file("pdfs-real/pdkids.pdf"), "pdkids.pdf")).toEqual({ pages: 55 })
      // pdf.js never loaded on this thread
      expect((globalThis as Record<string, unknown>).pdfjsWorker).toBeUndefined()
    }).pipe(Effect.provide(PdfEngine.layer())))

  it.live("a file that is not a PDF is refused for what it is, without a thread", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
      const notPng = yield* Effect.flip(engine.inspect(png, "scan.png"))
      expect(notPng._tag).toBe("NotAPdf")
      expect(notPng.message).toBe("The file 'scan.png' is not a PDF (it looks like a PNG image); upload a PDF, or a page image (PNG, JPEG, TIFF, WebP).")
      const text = yield* Effect.flip(engine.inspect(new TextEncoder().encode("Dear reader,\nhello.\n"), "a.pdf"))
      expect(text.message).toContain("it looks like plain text")
      const html = yield* Effect.flip(engine.inspect(new TextEncoder().encode("\n<!DOCTYPE html><html>"), "b.pdf"))
      expect(html.message).toContain("it looks like an HTML page")
      const docx = new Uint8Array([0x50, 0x4b, 0x03, 0x04, ...Buffer.from("word/document.xml")])
      const zip = yield* Effect.flip(engine.inspect(docx, "c.pdf"))
      expect(zip.message).toContain("a Word document (DOCX)")
      const empty = yield* Effect.flip(engine.inspect(new Uint8Array(0), "empty.pdf"))
      expect(empty._tag).toBe("EmptyFile")
      expect(yield* engine.threads).toEqual({ busy: 0, idle: 0 })
    }).pipe(Effect.provide(PdfEngine.layer({ idleThreads: 0 }))))

  it.live("an encrypted PDF is EncryptedPdf; one with an empty user password opens", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      for (const name of ["issue6010_1.pdf", "issue3371.pdf", "saslprep-r6.pdf"]) {
        const error = yield* Effect.flip(engine.inspect(file(`pdfs-real/${name}`), name))
        expect(error._tag).toBe("EncryptedPdf")
        expect(error.message).toContain("needs a password")
      }
      expect(yield* engine.inspect(file("pdfs-real/issue7665.pdf"), "issue7665.pdf")).toEqual({ pages: 1 })
    }).pipe(Effect.provide(PdfEngine.layer())))

  it.live("a truncated or broken PDF is CorruptPdf with a short reason", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const whole = file("pdfs-digital/pdfjs_tracemonkey.pdf")
      const truncated = yield* Effect.flip(engine.inspect(whole.slice(0, whole.length / 2), "half.pdf"))
      expect(truncated._tag).toBe("CorruptPdf")
      expect(truncated.message).toBe(
        "The PDF 'half.pdf' cannot be read (invalid PDF structure); check that the file is complete, or re-save it " +
          "from a PDF viewer."
      )
      const broken = yield* Effect.flip(engine.inspect(file("pdfs-real/poppler-395-0-fuzzed.pdf"), "fuzzed.pdf"))
      expect(broken.message).toContain("(invalid Root reference)")
    }).pipe(Effect.provide(PdfEngine.layer())))

  it.live("pages come in displayed coordinates with a top-left origin, after /Rotate", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const paper = yield* engine.open(file("pdfs-digital/pdfjs_tracemonkey.pdf"), { filename: "t.pdf" })
      const first = yield* paper.page(0)
      expect([first.page, first.width, first.height, first.rotation]).toEqual([0, 612, 792, 0])
      const title = first.items.find((item) => item.text.startsWith("Trace-based Just-in-Time"))!
      // the title sits near the top of the page in a ~18 pt font
      expect(title.y).toBeGreaterThan(60)
      expect(title.y).toBeLessThan(110)
      expect(title.fontSize).toBeCloseTo(17.93, 1)
      expect(title.x + title.width).toBeLessThan(612)
      // a landscape page stored rotated: displayed 1224 x 792, with its text upright and inside the page
      const rotated = yield* engine.open(file("pdfs-real/Brotli-Prototype-FileA.pdf"), { filename: "b.pdf" })
      const page = yield* rotated.page(0)
      expect([page.rotation, page.width, page.height]).toEqual([270, 1224, 792])
      const upright = page.items.filter((item) => item.angle === 0)
      expect(upright.length).toBeGreaterThan(page.items.length * 0.9)
      for (const item of page.items) {
        expect(item.x).toBeGreaterThanOrEqual(-1)
        expect(item.y).toBeGreaterThanOrEqual(-1)
        expect(item.x + item.width).toBeLessThanOrEqual(page.width + 1)
        expect(item.y + item.height).toBeLessThanOrEqual(page.height + 1)
      }
    }).pipe(Effect.scoped, Effect.provide(PdfEngine.layer())))

  it.live("transfer moves the caller's bytes to the thread instead of copying them", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const bytes = file("pdfs-real/issue840.pdf")
      const pdf = yield* engine.open(bytes, { filename: "issue840.pdf", transfer: true })
      expect(bytes.byteLength).toBe(0)
      expect(pdf.pageCount).toBe(2)
      const kept = file("pdfs-real/issue840.pdf")
      yield* engine.open(kept, { filename: "issue840.pdf" })
      expect(kept.byteLength).toBeGreaterThan(0)
    }).pipe(Effect.scoped, Effect.provide(PdfEngine.layer())))

  it.live("a page that cannot be read names the page, counted from 1", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const pdf = yield* engine.open(file("pdfs-real/issue840.pdf"), { filename: "issue840.pdf" })
      const error = yield* Effect.flip(pdf.page(7))
      expect(error.message).toContain("cannot be read (page 8: invalid page request)")
      // the document stays open for its other pages
      expect((yield* pdf.page(1)).page).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(PdfEngine.layer())))

  it.live("at most maxThreads documents are read at once; a document waiting for a thread can be interrupted", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const first = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        yield* engine.open(file("pdfs-real/alphatrans.pdf"), { filename: "a.pdf" })
        yield* Effect.sleep(600)
      })))
      yield* Effect.sleep(200)
      // the second waits for the first's thread to exit
      const started = Date.now()
      expect(yield* engine.inspect(file("pdfs-real/alphatrans.pdf"), "b.pdf")).toEqual({ pages: 1 })
      expect(Date.now() - started).toBeGreaterThan(300)
      yield* Fiber.join(first)
      const blocker = yield* Effect.fork(Effect.scoped(Effect.zipRight(
        engine.open(file("pdfs-real/alphatrans.pdf"), { filename: "a.pdf" }),
        Effect.never
      )))
      yield* Effect.sleep(200)
      const waiting = yield* Effect.fork(engine.inspect(file("pdfs-real/alphatrans.pdf"), "c.pdf"))
      yield* Effect.sleep(100)
      yield* Fiber.interrupt(waiting).pipe(Effect.timeout(1_000))
      yield* Fiber.interrupt(blocker)
      expect((yield* threadsGone(engine, 2_000)).busy).toBe(0)
    }).pipe(Effect.provide(PdfEngine.layer({ maxThreads: 1 }))))

  it.live("interrupting a request mid-way terminates its thread, busy as it is", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      // 400 MB of content to scan: seconds of work inside pdf.js
      const slow = bombPdf(400)
      const reading = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        const pdf = yield* engine.open(slow, { filename: "slow.pdf", transfer: true })
        return yield* pdf.page(0)
      })))
      yield* Effect.sleep(800)
      // the document's thread, and the spare started when it was taken
      expect(yield* engine.threads).toEqual({ busy: 1, idle: 1 })
      const started = Date.now()
      yield* Fiber.interrupt(reading)
      expect(Date.now() - started).toBeLessThan(1_000)
      // the interrupted thread exited instead of going back to wait for work
      expect(yield* threadsGone(engine, 2_000)).toEqual({ busy: 0, idle: 1 })
    }).pipe(Effect.provide(PdfEngine.layer({ memoryLimitMb: 2048, idleThreads: 2 }))))

  it.live("closing a document gives its thread back for the next one, which reads the same", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const read = Effect.scoped(Effect.gen(function*() {
        const pdf = yield* engine.open(file("pdfs-real/pdkids.pdf"), { filename: "pdkids.pdf" })
        const page = yield* pdf.page(3)
        expect(yield* engine.threads).toEqual({ busy: 1, idle: 0 })
        return page
      }))
      const first = yield* read
      expect(yield* engine.threads).toEqual({ busy: 0, idle: 1 })
      // the warm thread serves the next document (pdf.js numbers the thread's documents in font names: d0, d1)
      const second = yield* read
      expect(first.items[0]!.fontName).toMatch(/^g_d0_/)
      expect(second.items[0]!.fontName).toMatch(/^g_d1_/)
      // and reads it the same
      const unnamed = (page: PdfEngine.PageText) => page.items.map(({ fontName: _, ...item }) => item)
      expect(unnamed(second)).toEqual(unnamed(first))
      expect(yield* engine.threads).toEqual({ busy: 0, idle: 1 })
    }).pipe(Effect.provide(PdfEngine.layer({ idleThreads: 1 }))))

  it.live("without idle threads, closing a document ends its thread", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      yield* Effect.scoped(Effect.gen(function*() {
        const pdf = yield* engine.open(file("pdfs-real/pdkids.pdf"), { filename: "pdkids.pdf" })
        yield* pdf.page(0)
        expect(yield* engine.threads).toEqual({ busy: 1, idle: 0 })
      }))
      expect(yield* engine.threads).toEqual({ busy: 0, idle: 0 })
    }).pipe(Effect.provide(PdfEngine.layer({ idleThreads: 0 }))))

  it.live("a document over the heap limit fails with PdfOutOfMemory, and the engine carries on", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const error = yield* Effect.flip(Effect.scoped(Effect.gen(function*() {
        const pdf = yield* engine.open(file("pdfs-real/issue840.pdf"), { filename: "issue840.pdf" })
        for (let page = 0; page < pdf.pageCount; page++) yield* pdf.page(page)
      })))
      expect(error._tag).toBe("PdfOutOfMemory")
      expect(error.message).toContain("needs more memory than the limit of 24 MB")
      expect(yield* engine.inspect(file("pdfs-real/alphatrans.pdf"), "alphatrans.pdf")).toEqual({ pages: 1 })
    }).pipe(Effect.provide(PdfEngine.layer({ memoryLimitMb: 24 }))))

  it.live("a flate bomb is stopped at the buffer limit, which a heap limit alone would not do", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const bomb = bombPdf(400)
      const [error, growth] = yield* withPeakRss(Effect.flip(Effect.scoped(Effect.gen(function*() {
        const pdf = yield* engine.open(bomb, { filename: "bomb.pdf", transfer: true })
        return yield* pdf.page(0)
      }))))
      expect(error._tag).toBe("PdfOutOfMemory")
      expect(error.message).toContain("limit of 128 MB")
      // the process grew by far less than the 400 MB the stream expands to
      expect(growth).toBeLessThan(300 * 1024 * 1024)
    }).pipe(Effect.provide(PdfEngine.layer({ memoryLimitMb: 128 }))))
})
