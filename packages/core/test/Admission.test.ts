/**
 * The PDF admission check reads a well-formed PDF's page count from its structure (engine/internal/PdfStructure.ts)
 * instead of opening it with pdf.js. That reader must never disagree with pdf.js: on every PDF of the corpus (real
 * files, fuzzed and damaged ones among them) it gives pdf.js's page count or defers to pdf.js; files it is unsure of
 * still get pdf.js's errors; and the common upload is admitted without a reading thread.
 */
import { describe, expect, it } from "@effect/vitest"
import { Admission, PdfAdmission, PdfEngine } from "@scriptorium/core"
import { Effect, Either, Layer } from "effect"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { deflateSync } from "node:zlib"
import * as PdfStructure from "../src/engine/internal/PdfStructure.js"
import { pdfFile } from "./pdfFile.js"

const corpus = new URL("../../../../shared/corpus/", import.meta.url)
const haveCorpus = existsSync(corpus)
const file = (path: string) => new Uint8Array(readFileSync(new URL(path, corpus)))

const corpusPdfs = (): ReadonlyArray<string> =>
  ["pdfs-digital", "pdfs-real"].flatMap((folder) =>
    readdirSync(new URL(`${folder}/`, corpus))
      .filter((name) => name.endsWith(".pdf"))
      .map((name) => `${folder}/${name}`)
  )

/** A one-page PDF whose cross-reference is a Flate stream, its entries followed by `padding` zero bytes. */
const withXrefStream = (padding: number): Uint8Array => {
  const parts = [
    "%PDF-1.5\n",
    "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n",
    "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n",
    "3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>\nendobj\n"
  ]
  const offsets = parts.map((_, i) => parts.slice(0, i).join("").length)
  const xrefAt = parts.join("").length
  // W [1 4 2]: type, offset, generation; object 0 free, 1-3 at their offsets, 4 (this stream) at xrefAt
  const row = (type: number, offset: number) => {
    const r = Buffer.alloc(7)
    r.writeUInt8(type, 0)
    r.writeUInt32BE(offset, 1)
    return r
  }
  const rows = Buffer.concat([row(0, 0), row(1, offsets[1]!), row(1, offsets[2]!), row(1, offsets[3]!), row(1, xrefAt)])
  const data = deflateSync(Buffer.concat([rows, Buffer.alloc(padding)]))
  return new Uint8Array(Buffer.concat([
    Buffer.from(parts.join("")),
    Buffer.from(`4 0 obj\n<< /Type /XRef /Size 5 /W [1 4 2] /Root 1 0 R /Length ${data.length} ` +
      "/Filter /FlateDecode >>\nstream\n"),
    data,
    Buffer.from(`\nendstream\nendobj\nstartxref\n${xrefAt}\n%%EOF\n`)
  ]))
}

const page = (parent: number) => Buffer.from(`<< /Type /Page /Parent ${parent} 0 R /MediaBox [0 0 612 792] >>`)

describe.skipIf(!haveCorpus)(`PDF admission${haveCorpus ? "" : " (skipped: ../shared/corpus is absent)"}`, () => {
  it.live("the structure reader gives pdf.js's page count, or defers to pdf.js, on every corpus PDF", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const answered: Array<string> = []
      for (const path of corpusPdfs()) {
        const bytes = file(path)
        const read = PdfStructure.pageCount(bytes)
        const opened = yield* Effect.either(engine.inspect(bytes, path))
        const byPdfjs = Either.isRight(opened) ? opened.right.pages : opened.left._tag
        if (read === undefined) continue
        answered.push(path)
        expect({ path, pages: read }).toEqual({ path, pages: byPdfjs })
      }
      // most well-formed files are answered (the digital ones all but one), or the reader saves nothing
      expect(answered).toContain("pdfs-digital/pdfjs_tracemonkey.pdf")
      expect(answered.length).toBeGreaterThanOrEqual(35)
    }).pipe(Effect.provide(PdfEngine.layer())), 120_000)

  it.live("admits a well-formed PDF with its page count and no reading thread; refuses the others as pdf.js does", () =>
    Effect.gen(function*() {
      const admission = yield* Admission
      const engine = yield* PdfEngine.PdfEngine
      const check = (path: string) => admission.check({ filename: "f.pdf", bytes: file(path) })
      expect(yield* check("pdfs-digital/pdfjs_tracemonkey.pdf")).toEqual({ total_pages: 14 })
      expect(yield* check("pdfs-real/pdkids.pdf")).toEqual({ total_pages: 55 })
      expect(yield* engine.threads).toEqual({ busy: 0, idle: 0 })
      expect((yield* Effect.flip(check("pdfs-real/issue6010_1.pdf")))._tag).toBe("EncryptedPdf")
      expect((yield* Effect.flip(check("pdfs-real/bug1020226.pdf")))._tag).toBe("CorruptPdf")
      const whole = file("pdfs-digital/pdfjs_tracemonkey.pdf")
      const halfFile = whole.slice(0, whole.length / 2)
      const half = yield* Effect.flip(admission.check({ filename: "half.pdf", bytes: halfFile }))
      expect(half._tag).toBe("CorruptPdf")
      // with an empty user password pdf.js opens it: the reader defers (it never decides on encryption)
      expect(PdfStructure.pageCount(file("pdfs-real/issue7665.pdf"))).toBeUndefined()
      expect(yield* check("pdfs-real/issue7665.pdf")).toEqual({ total_pages: 1 })
    }).pipe(Effect.provide(PdfAdmission.layer().pipe(Layer.provideMerge(PdfEngine.layer({ idleThreads: 0 }))))))

  it.live("defers on a /Count that lies, a missing page, and a compressed table that inflates too far", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const catalog = Buffer.from("<< /Type /Catalog /Pages 2 0 R >>")
      const pages = (kids: string, count: number) => Buffer.from(`<< /Type /Pages /Kids [${kids}] /Count ${count} >>`)
      const honest = pdfFile([catalog, pages("3 0 R 4 0 R", 2), page(2), page(2)])
      expect(PdfStructure.pageCount(honest)).toBe(2)
      expect(yield* engine.inspect(honest, "honest.pdf")).toEqual({ pages: 2 })
      // says 5 pages and has 2: pdf.js counts the tree itself
      const lying = pdfFile([catalog, pages("3 0 R 4 0 R", 5), page(2), page(2)])
      expect(PdfStructure.pageCount(lying)).toBeUndefined()
      expect(yield* engine.inspect(lying, "lying.pdf")).toEqual({ pages: 2 })
      // its last page is an object that is not there
      const missing = pdfFile([catalog, pages("3 0 R 9 0 R", 2), page(2)])
      expect(PdfStructure.pageCount(missing)).toBeUndefined()
      // the same file with a compressed cross-reference stream is read; padded with 64 MB of zeros that deflate to
      // a few kilobytes, the reader stops at its bound and defers
      expect(PdfStructure.pageCount(withXrefStream(0))).toBe(1)
      const bomb = withXrefStream(64 * 1024 * 1024)
      expect(bomb.length).toBeLessThan(200_000)
      expect(PdfStructure.pageCount(bomb)).toBeUndefined()
    }).pipe(Effect.provide(PdfEngine.layer())))
})
