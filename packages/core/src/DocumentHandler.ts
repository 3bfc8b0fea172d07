/**
 * DocumentHandler: the JobHandler that turns an uploaded PDF into markdown. It opens the file with the PdfEngine,
 * records the page count, then takes the pages one at a time: text layer, blocks in reading order, markdown, stored
 * as the page's checkpoint (`pages/{page}/page.json`) before the page is checkpointed, so a resumed attempt skips
 * it. Each page is routed (PageRouting, under the job's `ocr` option) and its route kept in its result: a page
 * routed to OCR (scanned, image-only, invisible or garbage text layer) is stored empty (`source: "none"`) for now;
 * OCR fills those in. An uploaded image (PNG, JPEG, TIFF, WebP) is a job of its pages (a multi-page TIFF's frames),
 * each routed to OCR. Once every page is stored, the results are assembled from the checkpoints, read back one at a
 * time, so memory stays bounded whatever the page count: `markdown.md`, `markdown_det.md` (each block with its type
 * and box) and `document.json`.
 *
 * A file the user must fix (not a PDF, encrypted, unreadable, too demanding) fails the job with the error's sentence
 * and no retry; a store hiccup fails the attempt and the Worker retries it.
 */
import { BlobNotFound, type CorruptPdf, type EmptyFile, type EncryptedPdf, type NotAPdf } from "@scriptorium/api"
import { Effect, ParseResult, Schema, Stream } from "effect"
import { type BlobError, BlobStore, readBytes, readText } from "./BlobStore.js"
import * as ImageInput from "./engine/ImageInput.js"
import * as PageRouting from "./engine/PageRouting.js"
import * as TextLayout from "./engine/TextLayout.js"
import { type PageText, PdfEngine, type PdfOutOfMemory } from "./engine/PdfEngine.js"
import * as JobFiles from "./JobFiles.js"
import { type JobContext, JobFailure, type JobHandler } from "./JobHandler.js"

/** A block as stored: type, level, box in points (top-left origin) and text. */
export const Block = Schema.Struct({
  type: Schema.Literal("heading", "paragraph"),
  level: Schema.Number,
  bbox: Schema.Tuple(Schema.Number, Schema.Number, Schema.Number, Schema.Number),
  text: Schema.String
})

/** How a page was routed: its text layer, OCR, or neither (blank), and why, for debugging. */
export const PageRoute = Schema.Struct({
  decision: Schema.Literal("text", "ocr", "none"),
  reason: Schema.String
})

/** The result of one page, stored as its checkpoint. */
export const PageResult = Schema.Struct({
  /** From 0. */
  page: Schema.Number,
  /** The displayed page size in points. */
  width: Schema.Number,
  height: Schema.Number,
  /** Where the text came from: the PDF's text layer, or nowhere yet (a scanned page). */
  source: Schema.Literal("text", "none"),
  /** The routing decision (absent in checkpoints stored before routing existed). */
  route: Schema.optional(PageRoute),
  blocks: Schema.Array(Block),
  markdown: Schema.String
})

/** The result of one page. */
export type PageResult = typeof PageResult.Type

/** The name of a page's checkpoint file. */
export const PAGE_FILE = "page.json"

/** The result files of a job, under its output folder. */
export const outputs = {
  markdown: "markdown.md",
  markdownDet: "markdown_det.md",
  document: "document.json"
} as const

/**
 * The result of one page from its text layer, routed by PageRouting: a page routed to the text layer has its blocks;
 * one routed to OCR (or to nothing) is empty, `source: "none"`, until OCR fills it in.
 */
export const pageResult = (text: PageText, mode: PageRouting.OcrMode = "auto"): PageResult => {
  const route = PageRouting.route(text, mode)
  const base = { page: text.page, width: text.width, height: text.height, route }
  if (route.decision !== "text" || !TextLayout.hasUsableText(text.items)) {
    return { ...base, source: "none", blocks: [], markdown: "" }
  }
  const blocks = TextLayout.blocks(text.items)
  return { ...base, source: "text", blocks, markdown: TextLayout.markdown(blocks) }
}

/**
 * A page as markdown with each block annotated: `<|ref|>{type}<|/ref|><|det|>[[x1, y1, x2, y2]]<|/det|>` (the box in
 * thousandths of the page, 0 to 999) on the line before the block's markdown.
 */
export const detMarkdown = (page: PageResult): string =>
  page.blocks.map((block) =>
    `<|ref|>${block.type}<|/ref|><|det|>[[${normalise(block.bbox, page).join(", ")}]]<|/det|>\n` +
    TextLayout.blockMarkdown(block)
  ).join("\n\n")

const normalise = (bbox: TextLayout.BBox, page: PageResult): ReadonlyArray<number> => {
  const scale = (value: number, size: number) =>
    size > 0 ? Math.min(999, Math.max(0, Math.round((value / size) * 999))) : 0
  const [x1, y1, x2, y2] = bbox
  return [scale(x1, page.width), scale(y1, page.height), scale(x2, page.width), scale(y2, page.height)]
}

/** The document handler: PDF in, page checkpoints and the three result files out. */
export const handler: JobHandler<BlobStore | PdfEngine> = (context) =>
  Effect.gen(function*() {
    const blobs = yield* BlobStore
    // the document's thread lives only while pages are read; assembling needs no PDF
    const pageCount = yield* Effect.scoped(readPages(context, blobs))
    yield* writeOutputs(blobs, context.job.job_id, pageCount)
  }).pipe(Effect.catchTags({
    EmptyFile: userError,
    NotAPdf: userError,
    EncryptedPdf: userError,
    CorruptPdf: userError,
    PdfOutOfMemory: userError,
    ImageTooLarge: userError,
    ImageUnreadable: userError,
    BlobNotFound: (e) => Effect.fail(new JobFailure({ message: missingFile(e), retryable: false })),
    ParseError: () =>
      Effect.fail(
        new JobFailure({
          message: "A stored page result of this job could not be read back; delete the job and submit the file again.",
          retryable: false
        })
      )
  }))

type UserError =
  | EmptyFile
  | NotAPdf
  | EncryptedPdf
  | CorruptPdf
  | PdfOutOfMemory
  | ImageInput.ImageTooLarge
  | ImageInput.ImageUnreadable

const userError = (e: UserError) =>
  Effect.fail(new JobFailure({ message: e.message, retryable: false }))

const missingFile = (e: BlobNotFound): string =>
  e.key.endsWith("/input")
    ? "The job's uploaded file is missing from storage (deleted or lost); submit the file again."
    : e.message

/** Opens the input, records the page count, and stores every page not done before; returns the page count. */
const readPages = (context: JobContext, blobs: BlobStore) =>
  Effect.gen(function*() {
    const engine = yield* PdfEngine
    const jobId = context.job.job_id
    const bytes = yield* readBytes(blobs, yield* JobFiles.inputKey(jobId))
    const mode = PageRouting.ocrMode(context.job.options)
    const format = ImageInput.sniff(bytes)
    if (format !== undefined) return yield* readImagePages(context, blobs, bytes, format, mode)
    // the bytes were read for this alone: move them to the reading thread rather than copy them
    const pdf = yield* engine.open(bytes, { filename: context.job.filename, transfer: true })
    yield* context.setTotalPages(pdf.pageCount)
    for (let page = 0; page < pdf.pageCount; page++) {
      if (context.done.has(page)) continue
      const result = pageResult(yield* pdf.page(page), mode)
      yield* blobs.put(yield* JobFiles.pageKey(jobId, page, PAGE_FILE), encodePage(result))
      yield* context.checkpoint(page)
    }
    return pdf.pageCount
  })

/**
 * An uploaded image: its pages are the image's frames (one, or a multi-page TIFF's), each routed to OCR and stored
 * empty until OCR lands; the page size is in pixels.
 */
const readImagePages = (
  context: JobContext,
  blobs: BlobStore,
  bytes: Uint8Array,
  format: ImageInput.ImageFormat,
  mode: PageRouting.OcrMode
) =>
  Effect.gen(function*() {
    const jobId = context.job.job_id
    const filename = context.job.filename
    const info = yield* ImageInput.inspect(bytes, filename)
    yield* context.setTotalPages(info.pages)
    for (let page = 0; page < info.pages; page++) {
      if (context.done.has(page)) continue
      const size = page === 0 ? info : yield* ImageInput.pageSize(bytes, filename, page)
      const result: PageResult = {
        page,
        width: size.width,
        height: size.height,
        source: "none",
        route: PageRouting.imageRoute(format, mode),
        blocks: [],
        markdown: ""
      }
      yield* blobs.put(yield* JobFiles.pageKey(jobId, page, PAGE_FILE), encodePage(result))
      yield* context.checkpoint(page)
    }
    return info.pages
  })

const encoder = new TextEncoder()

const encodePage = (result: PageResult): Uint8Array => encoder.encode(JSON.stringify(result))

const decodePage = Schema.decodeUnknown(Schema.parseJson(PageResult))

/** The stored page results, read back one at a time. */
const storedPages = (blobs: BlobStore, jobId: string, pageCount: number) =>
  (pageCount === 0 ? Stream.empty : Stream.range(0, pageCount - 1)).pipe(
    Stream.mapEffect((page) =>
      JobFiles.pageKey(jobId, page, PAGE_FILE).pipe(
        Effect.flatMap((key) => readText(blobs, key)),
        Effect.flatMap(decodePage)
      )
    )
  )

/** Writes the three result files, each streamed from the page checkpoints. */
const writeOutputs = (blobs: BlobStore, jobId: string, pageCount: number) =>
  Effect.gen(function*() {
    const pages = storedPages(blobs, jobId, pageCount)
    const write = (name: string, body: Stream.Stream<string, ParseResult.ParseError | BlobNotFound | BlobError>) =>
      Effect.flatMap(JobFiles.outputKey(jobId, name), (key) => blobs.put(key, Stream.encodeText(body)))
    yield* write(outputs.markdown, joinNonEmpty(Stream.map(pages, (page) => page.markdown)))
    yield* write(outputs.markdownDet, joinNonEmpty(Stream.map(pages, detMarkdown)))
    yield* write(
      outputs.document,
      pages.pipe(
        Stream.map(({ markdown: _, ...page }) => JSON.stringify(page)),
        Stream.intersperseAffixes({ start: "{\"pages\":[", middle: ",", end: "]}" })
      )
    )
  })

/** Page texts separated by a blank line; empty pages leave no gap. */
const joinNonEmpty = <E>(texts: Stream.Stream<string, E>): Stream.Stream<string, E> =>
  texts.pipe(Stream.filter((text) => text !== ""), Stream.intersperse("\n\n"))
