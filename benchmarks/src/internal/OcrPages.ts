/**
 * The OCR benchmark's pages, prepared once by the parent and read by every engine's child process from a temp
 * folder, so each engine gets the very same pixels:
 *
 * - sroie: the receipts of `sroie-dev` (sorted by name), decoded by core's ImageInput (`decodePage`, as an image job
 *   is: 8-bit RGB, EXIF orientation applied); ground truth the receipt's `.txt`.
 * - pdf: pages of `pdfs-digital` chosen round-robin over the files in name order (the first page of every file, then
 *   the second page of every file that has one, ...), taking only pages PageRouting sends to the text layer, until
 *   there are enough; each rendered by PdfEngine (`renderPage`, 150 DPI, RGBA, as DocumentHandler renders a page for
 *   OCR). Ground truth: the page's own text layer (PdfEngine's `page`), its upright items in TextLayout's reading
 *   order, line by line.
 *
 * Each page is kept as raw pixels (`.raw`, what OcrEngine.recognize takes) and as a binary PPM of the same pixels
 * flattened to RGB (`.ppm`, which tesseract.js reads without a compressed format's decoding cost).
 */
import { DocumentHandler, ImageInput, PdfEngine, TextLayout } from "@scriptorium/core"
import { Effect } from "effect"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"

export type PageSet = "sroie" | "pdf"

/** A prepared page. */
export interface PageSpec {
  readonly set: PageSet
  /** `sroie_000.jpg`, or `mineru_demo1.pdf p1` (pages from 1). */
  readonly name: string
  /** For a PDF page: the file and its page from 0. */
  readonly file?: string | undefined
  readonly page?: number | undefined
  readonly width: number
  readonly height: number
  readonly channels: 3 | 4
  readonly rawPath: string
  readonly ppmPath: string
  /** Resolution of the raster when known (rendered PDF pages). */
  readonly dpi?: number | undefined
  readonly truth: string
}

/** The raw pixels of a page, as OcrEngine.recognize takes them. */
export const loadRaw = (spec: PageSpec) => ({
  data: new Uint8Array(readFileSync(spec.rawPath)),
  width: spec.width,
  height: spec.height,
  channels: spec.channels
})

/** RGB (alpha flattened on white, as OcrEngine does it) as a binary PPM. */
const ppm = (data: Uint8Array, width: number, height: number, channels: 3 | 4): Buffer => {
  const header = Buffer.from(`P6\n${width} ${height}\n255\n`, "latin1")
  const out = Buffer.allocUnsafe(header.length + width * height * 3)
  header.copy(out, 0)
  let o = header.length
  for (let i = 0; i < width * height; i++) {
    const a = channels === 4 ? data[i * 4 + 3]! : 255
    for (let c = 0; c < 3; c++) {
      const v = data[i * channels + c]!
      out[o++] = a === 255 ? v : Math.round((v * a + 255 * (255 - a)) / 255)
    }
  }
  return out
}

const save = (dir: string, id: string, data: Uint8Array, width: number, height: number, channels: 3 | 4) => {
  const rawPath = join(dir, `${id}.raw`)
  const ppmPath = join(dir, `${id}.ppm`)
  writeFileSync(rawPath, data)
  writeFileSync(ppmPath, ppm(data, width, height, channels))
  return { rawPath, ppmPath }
}

/** The first `count` receipts of `corpus` (sorted), decoded into `dir`. */
export const prepareReceipts = (corpus: string, count: number, dir: string): Effect.Effect<Array<PageSpec>, Error> =>
  Effect.gen(function*() {
    const names = readdirSync(corpus).filter((n) => n.endsWith(".jpg")).sort().slice(0, count)
    if (names.length === 0) return yield* Effect.fail(new Error(`No receipt (.jpg) in ${corpus}`))
    const out: Array<PageSpec> = []
    for (const [i, name] of names.entries()) {
      const image = yield* Effect.mapError(
        ImageInput.decodePage(new Uint8Array(readFileSync(join(corpus, name))), name, 0),
        (e) => new Error(e.message)
      )
      const paths = save(dir, `sroie-${i}`, image.data, image.width, image.height, 3)
      out.push({
        set: "sroie",
        name,
        width: image.width,
        height: image.height,
        channels: 3,
        ...paths,
        truth: readFileSync(join(corpus, name.replace(/\.jpg$/, ".txt")), "utf8")
      })
    }
    return out
  })

/** A text layer's upright text in TextLayout's reading order, one line per output line. */
export const textLayerLines = (items: ReadonlyArray<PdfEngine.TextItem>): string =>
  TextLayout.readingOrder(items.filter((item) => item.angle === 0 && item.text.trim() !== ""))
    .flatMap((region) => TextLayout.lines(region))
    .map((line) => line.text)
    .join("\n")

/** `count` text-layer pages of the PDFs in `corpus`, chosen round-robin (see above), rendered at `dpi` into `dir`. */
export const preparePdfPages = (
  corpus: string,
  count: number,
  dpi: number,
  dir: string
): Effect.Effect<Array<PageSpec>, Error, PdfEngine.PdfEngine> =>
  Effect.gen(function*() {
    const engine = yield* PdfEngine.PdfEngine
    const names = readdirSync(corpus).filter((n) => n.toLowerCase().endsWith(".pdf")).sort()
    if (names.length === 0) return yield* Effect.fail(new Error(`No PDF in ${corpus}`))
    const bytes = (name: string) => new Uint8Array(readFileSync(join(corpus, name)))
    const failure = (e: { readonly message: string }) => new Error(e.message)
    // every page's text layer, a document at a time (each open document holds a pdf.js thread)
    const documents = yield* Effect.forEach(names, (name) =>
      Effect.scoped(Effect.gen(function*() {
        const pdf = yield* Effect.mapError(engine.open(bytes(name), { filename: name }), failure)
        const pages = yield* Effect.forEach(
          Array.from({ length: pdf.pageCount }, (_, i) => i),
          (page) => Effect.mapError(pdf.page(page), failure)
        )
        return { name, pages }
      })))
    // round-robin: page 1 of every document, then page 2 of every document that has one, ...
    const chosen: Array<{ readonly name: string; readonly text: PdfEngine.PageText }> = []
    const most = Math.max(...documents.map((d) => d.pages.length))
    for (let page = 0; page < most && chosen.length < count; page++) {
      for (const { name, pages } of documents) {
        const text = pages[page]
        // a page the pipeline would not read from its text layer has no ground truth here
        if (chosen.length < count && text !== undefined && DocumentHandler.pageResult(text).source === "text") {
          chosen.push({ name, text })
        }
      }
    }
    const out: Array<PageSpec> = []
    for (const name of names) {
      const mine = chosen.filter((c) => c.name === name)
      if (mine.length === 0) continue
      yield* Effect.scoped(Effect.gen(function*() {
        const pdf = yield* Effect.mapError(engine.open(bytes(name), { filename: name }), failure)
        for (const { text } of mine) {
          const rendered = yield* Effect.mapError(pdf.renderPage(text.page, { dpi }), failure)
          const paths = save(dir, `pdf-${out.length}`, rendered.data, rendered.width, rendered.height, 4)
          out.push({
            set: "pdf",
            name: `${name} p${text.page + 1}`,
            file: join(corpus, name),
            page: text.page,
            width: rendered.width,
            height: rendered.height,
            channels: 4,
            ...paths,
            dpi: rendered.dpi,
            truth: textLayerLines(text.items)
          })
        }
      }))
    }
    return out
  })
