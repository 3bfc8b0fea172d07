/**
 * PageRouting on real pages: every page of every file of pdfs-real and pdfs-digital is read by the PdfEngine and
 * routed, and the decisions are asserted file by file: born-digital papers go through their text layer, scans and
 * image-only pages to OCR, OCR'd PDFs whose text layer is invisible (issue4684, issue5421, scan-bad) to OCR, garbage
 * text layers (TAMReview's unmapped fonts) to OCR, blank pages nowhere. The options force or forbid OCR. Set
 * SCRIPTORIUM_ROUTING_TABLE=1 to print the table of file -> decisions. The thread script is the built one: run
 * `npx tsc -b` first.
 */
import { describe, expect, it } from "@effect/vitest"
import { PdfEngine } from "@scriptorium/core"
import { Effect } from "effect"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import * as PageRouting from "../src/engine/PageRouting.js"
import type { PageText } from "../src/engine/PdfEngine.js"

const corpus = new URL("../../../../shared/corpus/", import.meta.url)
const haveCorpus = existsSync(corpus)
const file = (path: string) => new Uint8Array(readFileSync(new URL(path, corpus)))

/** A file's pages by decision ("text:12 ocr:2"), or the tag of the error it fails with. */
type Outcome = { readonly name: string; readonly summary: string; readonly reasons: ReadonlyArray<string> }

const summarise = (routes: ReadonlyArray<PageRouting.Route>): string => {
  const counts = new Map<string, number>()
  for (const r of routes) counts.set(r.decision, (counts.get(r.decision) ?? 0) + 1)
  return (["text", "ocr", "none"] as const).filter((d) => counts.has(d)).map((d) => `${d}:${counts.get(d)}`).join(
    " "
  )
}

/** Routes every page of a corpus file. */
const routeFile = (engine: PdfEngine.PdfEngine, path: string, mode: PageRouting.OcrMode = "auto") =>
  Effect.scoped(Effect.gen(function*() {
    const pdf = yield* engine.open(file(path), { filename: path, transfer: true })
    const routes: Array<PageRouting.Route> = []
    for (let page = 0; page < pdf.pageCount; page++) routes.push(PageRouting.route(yield* pdf.page(page), mode))
    return routes
  })).pipe(
    Effect.map((routes): Outcome => ({
      name: path,
      summary: summarise(routes),
      reasons: [...new Set(routes.map((r) => `${r.decision}: ${r.reason.replace(/\d+/g, "N")}`))]
    })),
    Effect.catchAll((e) => Effect.succeed<Outcome>({ name: path, summary: e._tag, reasons: [] }))
  )

/** What each file of the robustness corpus is, page by page (a PDF that cannot be opened: its error). */
const expectedReal: Record<string, string> = {
  "ArabicCIDTrueType.pdf": "text:1",
  "Brotli-Prototype-FileA.pdf": "text:25",
  "GHOSTSCRIPT-698804-1-fuzzed.pdf": "none:1",
  "PDFBOX-3148-2-fuzzed.pdf": "none:1",
  "REDHAT-1531897-0.pdf": "CorruptPdf",
  // a cover page with a usable font, then 21 pages in fonts without a Unicode mapping (control characters)
  "TAMReview.pdf": "text:2 ocr:21",
  "ZapfDingbats.pdf": "text:2",
  "alphatrans.pdf": "text:1",
  "bad-PageLabels.pdf": "text:1",
  "bitmap-p32-eof.pdf": "ocr:1",
  "bomb_giant.pdf": "text:1",
  "bug1020226.pdf": "CorruptPdf",
  "bug1065245.pdf": "ocr:1",
  "bug_jpx.pdf": "ocr:1",
  "canvas.pdf": "text:2",
  "ccitt_EndOfBlock_false.pdf": "ocr:1",
  "empty.pdf": "none:1",
  "empty_protected.pdf": "none:1",
  "file_pdfjs_test.pdf": "text:5",
  "helloworld-bad.pdf": "text:1",
  "issue1293r.pdf": "text:1",
  // a scanned book with an OCR text layer: invisible, or painted over by the page image
  "issue12963.pdf": "ocr:8",
  // two pages of text, then a scan with a few words of text layer
  "issue1350.pdf": "text:2 ocr:1",
  "issue15590.pdf": "none:1",
  "issue17147.pdf": "ocr:1",
  "issue3371.pdf": "EncryptedPdf",
  "issue4461.pdf": "none:1",
  "issue4684.pdf": "ocr:1",
  "issue5421.pdf": "ocr:1",
  "issue5481.pdf": "ocr:3",
  "issue5549.pdf": "ocr:1",
  "issue6010_1.pdf": "EncryptedPdf",
  "issue6010_2.pdf": "EncryptedPdf",
  "issue6127.pdf": "text:3",
  "issue7665.pdf": "text:1",
  "issue840.pdf": "text:2",
  "issue9418.pdf": "text:1",
  "mineru_small_ocr.pdf": "ocr:8",
  "pdkids.pdf": "text:55",
  "poppler-395-0-fuzzed.pdf": "CorruptPdf",
  "poppler-85140-0.pdf": "none:1",
  "prefilled_f1040.pdf": "text:2",
  "print_protection.pdf": "EncryptedPdf",
  "rotation.pdf": "text:2",
  "saslprep-r6.pdf": "EncryptedPdf",
  "scan-bad.pdf": "ocr:1",
  "standard_fonts.pdf": "text:14",
  // one page of vertical text, two of vector drawing only
  "vertical.pdf": "text:1 ocr:2",
  "xfa_issue14315.pdf": "text:1",
  "xref_command_missing.pdf": "text:1"
}

const printTable = (outcomes: ReadonlyArray<Outcome>) => {
  const width = Math.max(...outcomes.map((o) => o.name.length))
  const lines = outcomes.map((o) => `${o.name.padEnd(width)}  ${o.summary.padEnd(16)}  ${o.reasons.join(" | ")}`)
  process.stdout.write(`\n${"file".padEnd(width)}  ${"decisions".padEnd(16)}  reasons\n${lines.join("\n")}\n`)
}

describe.skipIf(!haveCorpus)(`PageRouting${haveCorpus ? "" : " (skipped: ../shared/corpus is absent)"}`, () => {
  it.live("every page of the robustness corpus is routed as the file is known to need", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const names = readdirSync(new URL("pdfs-real/", corpus)).filter((n) => n.endsWith(".pdf")).sort()
      const outcomes = yield* Effect.forEach(names, (name) => routeFile(engine, `pdfs-real/${name}`), {
        concurrency: 4
      })
      if (process.env.SCRIPTORIUM_ROUTING_TABLE === "1") printTable(outcomes)
      const got = Object.fromEntries(outcomes.map((o) => [o.name.replace("pdfs-real/", ""), o.summary]))
      expect(got).toEqual(expectedReal)
      const reasons = (name: string) => outcomes.find((o) => o.name === `pdfs-real/${name}`)!.reasons
      // OCR'd PDFs: a text layer no one sees is not the page's text
      for (const name of ["issue4684.pdf", "issue5421.pdf", "scan-bad.pdf"]) {
        expect(reasons(name), name).toEqual(["ocr: text layer drawn invisible (render mode N): N% of N glyphs"])
      }
      expect(reasons("mineru_small_ocr.pdf")).toEqual(["ocr: no text layer; images cover N% of the page"])
      expect(reasons("TAMReview.pdf")).toContain(
        "ocr: text layer is garbage: N% bad characters (N replacement/control)"
      )
      expect(reasons("empty.pdf")).toEqual(["none: blank page: no text, images or drawing"])
    }).pipe(Effect.provide(PdfEngine.layer({ memoryLimitMb: 512 }))), 180_000)

  it.live("born-digital papers go through their text layer, never OCR", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const names = readdirSync(new URL("pdfs-digital/", corpus)).filter((n) => n.endsWith(".pdf")).sort()
      expect(names.length).toBeGreaterThanOrEqual(11)
      const outcomes = yield* Effect.forEach(names, (name) => routeFile(engine, `pdfs-digital/${name}`), {
        concurrency: 4
      })
      if (process.env.SCRIPTORIUM_ROUTING_TABLE === "1") printTable(outcomes)
      for (const o of outcomes) {
        // the IBM Redbook sample has one blank page (routed nowhere); every other page of every paper is text
        const expected = o.name.endsWith("docling_redp5110_sampled.pdf") ? "text:17 none:1" : expect.stringMatching(
          /^text:\d+$/
        )
        expect(o.summary, o.name).toEqual(expected)
      }
    }).pipe(Effect.provide(PdfEngine.layer({ memoryLimitMb: 512 }))), 120_000)

  it.live("the job's options force OCR on every page or forbid it", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const paper = yield* routeFile(engine, "pdfs-digital/docling_multi_page.pdf", "always")
      expect(paper.summary).toBe("ocr:5")
      expect(paper.reasons).toEqual(["ocr: OCR forced by the job's options (ocr: always)"])
      const scan = yield* routeFile(engine, "pdfs-real/mineru_small_ocr.pdf", "never")
      expect(scan.summary).toBe("none:8")
      const ocrd = yield* routeFile(engine, "pdfs-real/issue4684.pdf", "never")
      expect(ocrd.summary).toBe("text:1")
      expect(PageRouting.ocrMode({ ocr: "always" })).toBe("always")
      expect(PageRouting.ocrMode({ ocr: "never" })).toBe("never")
      expect(PageRouting.ocrMode({ ocr: "sometimes" })).toBe("auto")
      expect(PageRouting.ocrMode({})).toBe("auto")
    }).pipe(Effect.provide(PdfEngine.layer({ memoryLimitMb: 512 }))))
})

/** A page of synthetic text items, with what it draws. */
const page = (texts: ReadonlyArray<string>, drawing?: Partial<NonNullable<PageText["drawing"]>>): PageText => ({
  page: 0,
  width: 612,
  height: 792,
  rotation: 0,
  items: texts.map((text, i) => ({
    text,
    x: 72,
    y: 72 + i * 14,
    width: text.length * 6,
    height: 12,
    fontName: "f1",
    fontSize: 12,
    angle: 0
  })),
  ...(drawing === undefined
    ? {}
    : {
      drawing: {
        glyphs: 0,
        hiddenGlyphs: 0,
        invisibleGlyphs: 0,
        images: 0,
        imageCoverage: 0,
        paths: 0,
        ...drawing
      }
    })
})

describe("PageRouting on synthetic pages", () => {
  const sentence = "The quick brown fox jumps over the lazy dog, again and again, for the sake of the test."
  it("a readable text layer is text; replacement, private-use and mojibake characters make it garbage", () => {
    expect(PageRouting.route(page([sentence])).decision).toBe("text")
    expect(PageRouting.route(page(["\uFFFD\uFFFD\uFFFD ab \uFFFD\uFFFD"])).reason).toMatch(/garbage: .* replacement/)
    expect(PageRouting.route(page(["\uE001\uE002\uE003\uE004 x"])).reason).toMatch(/private-use/)
    expect(PageRouting.route(page(["Ã©tÃ© Ã  lâ€™Ã©cole dÃ©jÃ "])).reason).toMatch(/mojibake/)
    expect(PageRouting.route(page(["%$#@!*&^%$#@ ~~ ++ == a"])).reason).toMatch(/only \d+% letters or digits/)
  })

  it("text lying off the page is garbage", () => {
    const off = page([sentence])
    const moved = { ...off, items: off.items.map((i) => ({ ...i, x: 2000 })) }
    expect(PageRouting.route(moved).reason).toMatch(/outside the page/)
  })

  it("a page of images with little text is a scan; one with a full text layer on a background is text", () => {
    expect(PageRouting.route(page(["p. 12"], { glyphs: 4, images: 1, imageCoverage: 1 })).decision).toBe("ocr")
    const long = Array(10).fill(sentence)
    expect(PageRouting.route(page(long, { glyphs: 700, images: 1, imageCoverage: 1 })).decision).toBe("text")
    // the same text drawn before the image that covers it, or in render mode 3, is an OCR layer
    expect(PageRouting.route(page(long, { glyphs: 700, hiddenGlyphs: 700, images: 1, imageCoverage: 1 })).reason)
      .toMatch(/hidden under an image/)
    expect(PageRouting.route(page(long, { glyphs: 700, hiddenGlyphs: 700, invisibleGlyphs: 700 })).reason)
      .toMatch(/render mode 3/)
  })

  it("without text: images or vector drawing go to OCR, an empty page nowhere", () => {
    expect(PageRouting.route(page([], { images: 2, imageCoverage: 0.4 })).decision).toBe("ocr")
    expect(PageRouting.route(page([], { paths: 40 })).decision).toBe("ocr")
    expect(PageRouting.route(page([], {})).decision).toBe("none")
    // the drawing unknown (its operators unreadable): OCR, to be safe
    expect(PageRouting.route(page([])).decision).toBe("ocr")
  })
})
