/**
 * Pictures on scanned pages, end to end: a page of docling's picture test file rendered at 150 DPI, saved as a JPEG
 * and wrapped as a one-page scanned PDF (no text layer), goes through the facade, a real Worker, SQLite, local
 * storage, pdf.js and OCR. Its bar chart, found on the page image (layout/RasterFigures), is a picture block where
 * the chart is, cropped from the page and stored as `images/0_0.jpg`, listed among the job's outputs (what the
 * images route serves) and linked from the markdown between the paragraph above it and the caption below; the
 * chart's labels, which OCR read, are kept in the page's OCR lines but are not paragraphs. An uploaded photo of a
 * receipt gets no picture that hides its text. (A born-digital page read by OCR keeps the pictures its text-layer
 * reading has, each once: DocumentHandler.test's `ocr: "always"` test.)
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { collectBytes, DocumentHandler, OcrEngine, PdfEngine, Scriptorium, Worker } from "@scriptorium/core"
import { LocalBlobStore } from "@scriptorium/storage-local"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { Effect, Exit, Layer, Scope } from "effect"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import sharp from "sharp"
import { pdfFile } from "./pdfFile.js"

const corpus = new URL("../../../../shared/corpus/", import.meta.url)
const haveCorpus = existsSync(corpus)
const file = (path: string) => new Uint8Array(readFileSync(new URL(path, corpus)))

/** The OCR engine, built once for the file and shared by the tests. */
const ocrScope = Effect.runSync(Scope.make())
let ocrEngine: OcrEngine.OcrEngine | undefined
beforeAll(async () => {
  ocrEngine = await Effect.runPromise(Scope.extend(OcrEngine.make(), ocrScope))
})
afterAll(() => Effect.runPromise(Scope.close(ocrScope, Exit.void)))

/** SQLite and local storage in a temp folder, the PdfEngine and OcrEngine, a Worker and the facade. */
const stack = () => {
  const dir = mkdtempSync(join(tmpdir(), "scriptorium-pictures-"))
  const services = Layer.mergeAll(
    SqliteJobStore.layer({ filename: join(dir, "jobs.db") }),
    LocalBlobStore.layer({ root: join(dir, "blobs") }),
    PdfEngine.layer({ memoryLimitMb: 512 }),
    Layer.effect(OcrEngine.OcrEngine, Effect.suspend(() => Effect.fromNullable(ocrEngine).pipe(Effect.orDie)))
  )
  const worker = Worker.layer(DocumentHandler.handler, { concurrency: 1, pollMs: 50, jobTimeoutMs: 60_000 })
  return Layer.provideMerge(Layer.merge(Scriptorium.layer, worker), services)
}

/** A page of a PDF rendered at 150 DPI and saved as JPEG, as a scanner would: its bytes and pixel size. */
const scanned = (pdf: Uint8Array, page: number) =>
  Effect.scoped(Effect.gen(function*() {
    const engine = yield* PdfEngine.PdfEngine
    const handle = yield* engine.open(pdf, { filename: "source.pdf" })
    const image = yield* handle.renderPage(page)
    const jpeg = yield* Effect.promise(() =>
      sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
        .flatten({ background: "#ffffff" })
        .jpeg({ quality: 90 })
        .toBuffer()
    )
    return { jpeg, width: image.width, height: image.height }
  })).pipe(Effect.provide(PdfEngine.layer()))

/** A one-page PDF (US Letter) whose page is a JPEG image and nothing else: a scan. */
const scanPdf = ({ height, jpeg, width }: { jpeg: Buffer; width: number; height: number }): Uint8Array => {
  const content = "q 612 0 0 792 0 0 cm /Scan Do Q"
  return pdfFile([
    Buffer.from("<< /Type /Catalog /Pages 2 0 R >>"),
    Buffer.from("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
    Buffer.from("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Scan 4 0 R >> >> /Contents 5 0 R >>"),
    Buffer.concat([
      Buffer.from(
        `<< /Type /XObject /Subtype /Image /Width ${width} /Height ${height} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length ${jpeg.length} >>\nstream\n`
      ),
      jpeg,
      Buffer.from("\nendstream")
    ]),
    Buffer.from(`<< /Length ${content.length} >>\nstream\n${content}\nendstream`)
  ])
}

const text = (s: Scriptorium.Scriptorium, jobId: string, name: string) =>
  Effect.map(collectBytes(s.result(jobId, name)), (bytes) => new TextDecoder().decode(bytes))

type Box = [number, number, number, number]
interface StoredPage {
  readonly source: string
  readonly blocks: ReadonlyArray<{ type: string; bbox: Box; text: string; image?: string }>
  readonly ocr_lines?: ReadonlyArray<{ text: string; bbox: Box }>
}

const iou = (a: Box, b: Box) => {
  const overlap = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0])) *
    Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]))
  const size = (box: Box) => (box[2] - box[0]) * (box[3] - box[1])
  return overlap / (size(a) + size(b) - overlap)
}

/** Whether a box's centre is inside another. */
const inside = (box: Box, outer: Box) => {
  const [x, y] = [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]
  return x >= outer[0] && x <= outer[2] && y >= outer[1] && y <= outer[3]
}

describe.skipIf(!haveCorpus)(`Scanned pictures${haveCorpus ? "" : " (skipped: ../shared/corpus is absent)"}`, () => {
  it.live("a scanned page's chart is a picture block, its image stored, listed and linked, its labels no paragraphs", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      const scan = yield* scanned(file("pdfs-digital/docling_picture_classification.pdf"), 0)
      const job = yield* s.submit({ filename: "scan.pdf", content: scanPdf(scan) })
      expect((yield* s.wait(job.job_id, { timeoutMs: 60_000 })).status).toBe("completed")

      const [page] = JSON.parse(yield* text(s, job.job_id, "document.json")).pages as Array<StoredPage>
      expect(page!.source).toBe("ocr")
      const pictures = page!.blocks.filter((b) => b.type === "picture")
      expect(pictures).toHaveLength(1)
      const picture = pictures[0]!
      expect(picture).toMatchObject({ image: "0_0.jpg", text: "![](images/0_0.jpg)" })
      // where docling's reference has the chart (its box in points, from the bottom-left corner: l 134.9, t 487.7,
      // r 475.7, b 282.2 on a 792-point page)
      expect(iou(picture.bbox, [134.9, 304.3, 475.7, 509.8])).toBeGreaterThan(0.7)

      // the image: the chart cropped from the page at 150 DPI
      expect((yield* s.outputs(job.job_id)).filter((name) => name.startsWith("images/"))).toEqual(["images/0_0.jpg"])
      const jpeg = yield* collectBytes(s.result(job.job_id, "images/0_0.jpg"))
      const meta = yield* Effect.promise(() => sharp(jpeg).metadata())
      expect(meta.format).toBe("jpeg")
      expect(Math.abs(meta.width! - (picture.bbox[2] - picture.bbox[0]) * 150 / 72)).toBeLessThanOrEqual(2)
      expect(Math.abs(meta.height! - (picture.bbox[3] - picture.bbox[1]) * 150 / 72)).toBeLessThanOrEqual(2)

      // the link stands where the chart does: after the paragraph above it, before its caption
      const markdown = yield* text(s, job.job_id, "markdown.md")
      const link = markdown.indexOf("![](images/0_0.jpg)")
      expect(link).toBeGreaterThan(markdown.indexOf("Lorem ipsum"))
      expect(link).toBeLessThan(markdown.indexOf("This is an example image"))
      // the chart's labels (its axis's ticks, its legend) were read, and belong to the picture: no block is in it
      const labels = page!.ocr_lines!.filter((line) => inside(line.bbox, picture.bbox))
      expect(labels.map((line) => line.text)).toEqual(expect.arrayContaining(["100", "50", "10"]))
      expect(page!.blocks.filter((b) => b !== picture && inside(b.bbox, picture.bbox))).toEqual([])
      expect(markdown).not.toMatch(/100 90 80/)
      expect(markdown).toContain("Stet clita kasd gubergren")
    }).pipe(Effect.provide(stack())), 90_000)

  it.live("a receipt's photo keeps its text: no picture hides its lines", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      const job = yield* s.submit({ filename: "receipt.jpg", content: file("sroie-dev/sroie_192.jpg") })
      expect((yield* s.wait(job.job_id, { timeoutMs: 60_000 })).status).toBe("completed")
      const [page] = JSON.parse(yield* text(s, job.job_id, "document.json")).pages as Array<StoredPage>
      const pictures = page!.blocks.filter((b) => b.type === "picture")
      expect(page!.ocr_lines!.filter((line) => pictures.some(({ bbox }) => inside(line.bbox, bbox)))).toEqual([])
      expect(yield* text(s, job.job_id, "markdown.md")).toContain("GST")
    }).pipe(Effect.provide(stack())), 90_000)
})
