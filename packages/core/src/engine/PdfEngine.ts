/**
 * PdfEngine: reading a PDF's page count, each page's text layer (text, position, font size) with what the page draws
 * (invisible text, image coverage: what routing to OCR needs), and rendering pages to pixels for OCR; the one place
 * pdf.js is used. pdf.js never runs on the main thread: a pathological PDF can spin or allocate without bound in
 * synchronous code, which would freeze the event loop the worker's heartbeats and the HTTP server live on, and no
 * Effect timeout could stop it. A document is read in a `node:worker_threads` thread of its own while it is open,
 * with a memory limit; a request that is interrupted (per-job time limit, cancel) terminates the thread, and a
 * thread that runs out of memory fails only its document. At most `maxThreads` documents are read at once
 * (admission checks included), so memory is bounded by that many limits. A thread that finished a document cleanly
 * may read another one: pdf.js warmed up is about three times faster than in a fresh thread.
 *
 * The images a page paints come out as figures (`pageImages`): their boxes from the same walk of pdf.js's operator
 * list that measures what the page draws, their pixels from pdf.js's decoded images, or cropped from a render.
 *
 * Coordinates are PDF points with a top-left origin, on the page as displayed (after /Rotate and the crop box).
 * Pages are numbered from 0, like the job's checkpoints.
 */
import { CorruptPdf, EmptyFile, EncryptedPdf, NotAPdf } from "@scriptorium/api"
import { Context, Effect, Layer, Schema, type Scope } from "effect"
import { existsSync } from "node:fs"
import { availableParallelism } from "node:os"
import { fileURLToPath } from "node:url"
import { Worker } from "node:worker_threads"
// types only: the thread module's body must run in the thread alone
import { MAX_RASTER_PIXELS, positiveOr as positive } from "../internal/Limits.js"
import type { ThreadData, ThreadReply, ThreadRequest } from "./internal/pdfThread.js"

/** The exit code of a thread that stopped itself for going over its memory limit. */
const MEMORY_EXIT_CODE = 75

/** A run of text on a page, as pdf.js positioned it. */
export interface TextItem {
  readonly text: string
  /** Left edge of the item's box, in points from the left of the displayed page. */
  readonly x: number
  /** Top edge of the item's box, in points from the top of the displayed page. */
  readonly y: number
  readonly width: number
  readonly height: number
  /** pdf.js's name for the font within this document (not the font's real name). */
  readonly fontName: string
  /** The displayed font size in points. */
  readonly fontSize: number
  /** The baseline's direction in degrees, clockwise from left-to-right as displayed: 0 for ordinary text. */
  readonly angle: number
}

/**
 * What a page's content stream draws, beside its text: what routing between the text layer and OCR needs. Glyphs
 * are the characters text operators show (spaces not counted), so they can be compared with the text items.
 */
export interface PageDrawing {
  /** Characters the content stream shows, spaces excepted. */
  readonly glyphs: number
  /**
   * Of those, the ones no one sees: drawn invisible (text render mode 3 or 7, as OCR tools write the text layer of a
   * scan), or drawn before an image that then covers most of the page.
   */
  readonly hiddenGlyphs: number
  /** Of those, the ones drawn in render mode 3 or 7. */
  readonly invisibleGlyphs: number
  /** Images painted (masks and inline images included). */
  readonly images: number
  /** The fraction of the page under images, 0 to 1 (measured on a 64 x 64 grid). */
  readonly imageCoverage: number
  /** Path-painting operators: vector drawing, or text drawn as outlines. */
  readonly paths: number
}

/**
 * A straight line or an upright rectangle the page strokes or fills (from pdf.js's operator list), in displayed
 * points with a top-left origin: what tables are ruled with (rules, cell borders) and checkboxes are drawn with.
 * A line is its two ends as a box (one side of it 0 wide); a rectangle is its box.
 */
export interface PageShape {
  readonly kind: "line" | "rect"
  readonly bbox: readonly [x1: number, y1: number, x2: number, y2: number]
  /** Filled (a rectangle's area painted), rather than stroked (its outline, or the line, drawn). */
  readonly filled: boolean
}

/** The text layer of one page. */
export interface PageText {
  /** The page number, from 0. */
  readonly page: number
  /** The displayed page size in points (after rotation). */
  readonly width: number
  readonly height: number
  /** The page's /Rotate, in degrees clockwise. */
  readonly rotation: number
  readonly items: ReadonlyArray<TextItem>
  /** What the page draws; absent when its operators could not be read (the text layer is still given). */
  readonly drawing?: PageDrawing | undefined
  /**
   * The upright lines and rectangles it paints, in paint order (at most 5,000: a page that paints more, a chart or a
   * map, gives none); absent when its operators could not be read.
   */
  readonly shapes?: ReadonlyArray<PageShape> | undefined
  /**
   * The regions drawn with vector graphics that are figures (charts, diagrams: layout/Figure), with their labels;
   * `pageImages` gives each cropped from the page's render. Absent when its operators could not be read.
   */
  readonly figures?: ReadonlyArray<readonly [x1: number, y1: number, x2: number, y2: number]> | undefined
}

/** A page rendered to pixels. */
export interface RenderedPage {
  /** From 0. */
  readonly page: number
  /** RGBA, 8 bits a channel, row after row with no padding: `width * height * channels` bytes. */
  readonly data: Uint8Array
  readonly width: number
  readonly height: number
  readonly channels: 4
  /** The resolution of the raster: the one asked for, or lower when `maxPixels` required it. */
  readonly dpi: number
}

/** An image a page paints, with its pixels as displayed there (turned and mirrored as painted, clipped to the page). */
export interface PageImage {
  /** Where it is on the displayed page: left, top, right, bottom in points, top-left origin (as text items). */
  readonly bbox: readonly [x1: number, y1: number, x2: number, y2: number]
  /** 8 bits a channel, row after row with no padding: `width * height * channels` bytes. */
  readonly data: Uint8Array
  readonly width: number
  readonly height: number
  /** 1 grey, 3 RGB, 4 RGBA (alpha not premultiplied: the image's soft mask). */
  readonly channels: 1 | 3 | 4
  /** The image's own pixels (resampled only to fit a bound), or its region cropped from a render of the page. */
  readonly source: "embedded" | "render"
}

/** Which images `pageImages` gives, and how large. */
export interface PageImageOptions {
  /** Images covering more of the page than this fraction are left out (a scan's page image); default 1, none. */
  readonly maxArea?: number | undefined
  /** The resolution of the render regions are cropped from; default 150. */
  readonly dpi?: number | undefined
  /**
   * The most pixels the page's images may hold together (larger images come downscaled, or cropped from the
   * render), and the render; default 40 million, lowered further by the thread's memory limit.
   */
  readonly maxPixels?: number | undefined
}

/** How a page is rendered. */
export interface RenderOptions {
  /** Pixels per inch (a point is 1/72 inch); default 150, good for OCR. */
  readonly dpi?: number | undefined
  /**
   * The most pixels the raster may have; a page that would have more renders at a lower DPI. Default 40 million;
   * lowered further when the thread's memory limit requires it (a raster may take 60% of it, at 12 bytes a pixel).
   */
  readonly maxPixels?: number | undefined
}

/** The resolution pages are rendered at when not told: enough for OCR of body text. */
export const DEFAULT_DPI = 150

/** The most pixels a rendered page has when not told (a 40 megapixel RGBA raster is 160 MB). */
export const DEFAULT_MAX_PIXELS = MAX_RASTER_PIXELS

/** An open document; valid until the scope it was opened in closes. */
export interface PdfHandle {
  readonly pageCount: number
  /** The text layer of a page (from 0). Interrupting it terminates the document's thread: later calls fail. */
  readonly page: (page: number) => Effect.Effect<PageText, PdfReadError>
  /**
   * Renders a page (from 0) to pixels in the document's thread (@napi-rs/canvas); the pixels are moved to the caller,
   * not copied. Interrupting it terminates the document's thread, like `page`.
   */
  readonly renderPage: (page: number, options?: RenderOptions) => Effect.Effect<RenderedPage, PdfReadError>
  /**
   * The images a page (from 0) paints, as figures, in paint order: those of at least 32 pixels a side and 1% of the
   * page (smaller ones are decorations: bullets, rules, icons), with their boxes and pixels (moved to the caller,
   * not copied). The pixels are the image's own where pdf.js decoded them; a stencil mask, an image painted at a
   * slant, or images layered in one place are cropped from a render at `dpi` instead. Called right after `page` for
   * the same page it builds nothing again (the thread keeps the page's decoded images until its next request).
   * Interrupting it terminates the document's thread, like `page`.
   */
  readonly pageImages: (
    page: number,
    options?: PageImageOptions
  ) => Effect.Effect<ReadonlyArray<PageImage>, PdfReadError>
}

/** What `inspect` learns about an uploaded file. */
export interface PdfInfo {
  readonly pages: number
}

/** How a document is opened. */
export interface OpenOptions {
  /** Names the file in error messages. */
  readonly filename: string
  /**
   * Moves `bytes` to the reading thread instead of copying them: the caller's array is left empty (detached).
   * For callers that read the file only to open it.
   */
  readonly transfer?: boolean | undefined
}

/** A document that needed more memory than the engine's limit. */
export class PdfOutOfMemory extends Schema.TaggedError<PdfOutOfMemory>()("PdfOutOfMemory", {
  filename: Schema.String,
  limit_mb: Schema.Number
}) {
  override get message() {
    return `The PDF '${this.filename}' needs more memory than the limit of ${this.limit_mb} MB to read, so it was ` +
      `stopped; it may be damaged or built to exhaust memory. Re-save it from a PDF viewer or split it.`
  }
}

/** Why a page could not be read. */
export type PdfReadError = CorruptPdf | PdfOutOfMemory

/** Why a document could not be opened. */
export type PdfOpenError = EmptyFile | NotAPdf | EncryptedPdf | PdfReadError

/** Reads PDFs, off the main thread. */
export interface PdfEngine {
  /**
   * Opens a document for the life of the scope; when the scope closes, its thread closes it and is kept for another
   * document, or is terminated. An empty file or one without a PDF header fails at once, without a thread.
   */
  readonly open: (bytes: Uint8Array, options: OpenOptions) => Effect.Effect<PdfHandle, PdfOpenError, Scope.Scope>
  /** A quick check of an upload: not empty, a PDF by its header, openable, and its page count. Copies `bytes`. */
  readonly inspect: (bytes: Uint8Array, filename: string) => Effect.Effect<PdfInfo, PdfOpenError>
  /** The reading threads alive now: working on a document, and waiting for one. */
  readonly threads: Effect.Effect<ThreadCounts>
}

/** Reading threads by what they are doing; a thread counts until it has exited. */
export interface ThreadCounts {
  readonly busy: number
  readonly idle: number
}

/** The PdfEngine service. */
export const PdfEngine = Context.GenericTag<PdfEngine>("@scriptorium/core/PdfEngine")

/** How the engine runs its threads. Every field has a default. */
export interface PdfEngineConfig {
  /** Memory limit of one document's thread, for its JS heap and again for its buffers; default 1024 MB. */
  readonly memoryLimitMb?: number | undefined
  /** Documents read at once; more wait for a free thread. Default the CPU count, at least 2. */
  readonly maxThreads?: number | undefined
  /**
   * Threads kept started between documents, warm; default 2. With 0, each document gets a fresh thread that ends
   * with it (complete isolation, about three times slower on short documents).
   */
  readonly idleThreads?: number | undefined
  /** Documents one thread reads before it is replaced, bounding what it can accumulate; default 100. */
  readonly documentsPerThread?: number | undefined
  /** The compiled thread script; default `internal/pdfThread.js` next to this module (see `threadScript`). */
  readonly threadScript?: URL | undefined
}

/**
 * Where the thread script is. Compiled, it sits next to this module (`dist/engine/internal/pdfThread.js`). When this
 * module runs from its TypeScript source (the tests, through the "source" export condition), the source file cannot
 * be a thread's entry (Node 20 does not run TypeScript), so the built file is used: `src/engine/X.ts` maps to
 * `dist/engine/X.js`. `npm test` builds first.
 */
export const threadScript = (): URL =>
  import.meta.url.endsWith(".ts")
    ? new URL("../../dist/engine/internal/pdfThread.js", import.meta.url)
    : new URL("./internal/pdfThread.js", import.meta.url)

/** A PDF starts with `%PDF-`; readers accept it anywhere in the first 1024 bytes (some files have junk before it). */
export const hasPdfHeader = (bytes: Uint8Array): boolean =>
  Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 1024)).includes("%PDF-")

/** What a file that is not a PDF looks like, by its first bytes: "a PNG image", "an HTML page", ... */
export const describeContent = (bytes: Uint8Array): string => {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 4096))
  const starts = (...b: Array<number>) => b.every((v, i) => head[i] === v)
  const ascii = head.toString("latin1")
  if (starts(0x89, 0x50, 0x4e, 0x47)) return "a PNG image"
  if (starts(0xff, 0xd8, 0xff)) return "a JPEG image"
  if (ascii.startsWith("GIF8")) return "a GIF image"
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a)) return "a TIFF image"
  if (ascii.startsWith("RIFF") && ascii.slice(8, 12) === "WEBP") return "a WebP image"
  if (ascii.startsWith("BM")) return "a BMP image"
  if (starts(0x50, 0x4b, 0x03, 0x04)) return describeZip(ascii)
  if (starts(0xd0, 0xcf, 0x11, 0xe0)) return "a legacy Microsoft Office document (DOC, XLS or PPT)"
  if (starts(0x1f, 0x8b)) return "a gzip archive"
  if (starts(0x37, 0x7a, 0xbc, 0xaf)) return "a 7-Zip archive"
  if (ascii.startsWith("Rar!")) return "a RAR archive"
  if (ascii.startsWith("%!PS")) return "a PostScript file"
  if (ascii.startsWith("{\\rtf")) return "an RTF document"
  return describeText(head)
}

const describeZip = (ascii: string): string => {
  if (ascii.includes("word/")) return "a Word document (DOCX)"
  if (ascii.includes("xl/")) return "an Excel workbook (XLSX)"
  if (ascii.includes("ppt/")) return "a PowerPoint presentation (PPTX)"
  if (ascii.includes("application/epub+zip")) return "an EPUB book"
  return "a ZIP archive"
}

const describeText = (head: Buffer): string => {
  const text = head.toString("utf8").replace(/^\uFEFF/, "").trimStart().toLowerCase()
  if (text.startsWith("<!doctype html") || text.startsWith("<html")) return "an HTML page"
  if (text.startsWith("<svg") || (text.startsWith("<?xml") && text.includes("<svg"))) return "an SVG image"
  if (text.startsWith("<?xml")) return "an XML document"
  if (text.startsWith("{") || text.startsWith("[")) return "JSON or other text"
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000e-\u001f\ufffd]/.test(head.toString("utf8")) ? "binary data" : "plain text"
}

/** The thread answered that it failed, or it died. */
type ThreadFailure =
  | { readonly kind: "encrypted" }
  | { readonly kind: "corrupt"; readonly reason: string }
  | { readonly kind: "memory" }

/** The error of a failure to open a named file. */
const openError = (filename: string, limitMb: number) => (failure: ThreadFailure): PdfReadError | EncryptedPdf =>
  failure.kind === "encrypted" ? new EncryptedPdf({ filename }) : readError(filename, limitMb)(failure)

/** The error of a failure to read a page of an open file (where a password can no longer be the reason). */
const readError = (filename: string, limitMb: number) => (failure: ThreadFailure): PdfReadError =>
  failure.kind === "memory"
    ? new PdfOutOfMemory({ filename, limit_mb: limitMb })
    : new CorruptPdf({ filename, reason: failure.kind === "corrupt" ? failure.reason : "a password is required" })

/** A reading thread, spoken to one request at a time. */
interface ReadingThread {
  readonly id: number
  /** Sends a request and waits for its reply; interrupting the wait terminates the thread. */
  readonly ask: (
    request: ThreadRequest,
    transfer?: ReadonlyArray<ArrayBuffer>
  ) => Effect.Effect<ThreadReply, ThreadFailure>
  /** Whether the thread has not ended (an idle thread can die too). */
  readonly alive: () => boolean
  /** How many documents it has opened. */
  readonly served: () => number
  /** Terminates the thread; done once it has exited. */
  readonly stop: Effect.Effect<void>
}

/**
 * Starts a thread with its listeners attached at once: an idle thread that dies must not become an unhandled
 * 'error' event (which would take the process down), and its end must be known to whoever takes it next. The end
 * (an exit, an out-of-memory error) is remembered, so the request in flight and every later one fail with it.
 */
const startThread = (script: URL, limitMb: number, onExit: (id: number) => void): ReadingThread => {
  const data: ThreadData = { memoryLimitMb: limitMb, memoryExitCode: MEMORY_EXIT_CODE }
  const worker = new Worker(script, { workerData: data, resourceLimits: { maxOldGenerationSizeMb: limitMb } })
  // an idle thread does not keep the process alive; a request in flight does (see send)
  worker.unref()
  const id = worker.threadId
  const lock = Effect.unsafeMakeSemaphore(1)
  let ended: ThreadFailure | undefined
  let pending: ((outcome: ThreadReply | ThreadFailure) => void) | undefined
  let served = 0
  const settle = (outcome: ThreadReply | ThreadFailure) => {
    const resume = pending
    pending = undefined
    resume?.(outcome)
  }
  const end = (failure: ThreadFailure) => {
    ended ??= failure
    settle(ended)
  }
  worker.on("message", (reply: ThreadReply) => settle(reply))
  worker.on("error", (error: Error & { code?: string }) =>
    end(error.code === "ERR_WORKER_OUT_OF_MEMORY"
      ? { kind: "memory" }
      : { kind: "corrupt", reason: `the PDF reader stopped: ${error.message}` }))
  worker.on("exit", (code) => {
    end(code === MEMORY_EXIT_CODE ? { kind: "memory" } : { kind: "corrupt", reason: "the PDF reader stopped" })
    onExit(id)
  })

  const send = (request: ThreadRequest, transfer: ReadonlyArray<ArrayBuffer>) =>
    Effect.async<ThreadReply, ThreadFailure>((resume) => {
      if (ended !== undefined) return resume(Effect.fail(ended))
      if (request.type === "open") served++
      pending = (outcome) => resume("type" in outcome ? Effect.succeed(outcome) : Effect.fail(outcome))
      worker.ref()
      worker.postMessage(request, [...transfer])
      // pdf.js cannot be stopped mid-request: an interrupted request ends the thread
      return Effect.sync(() => {
        ended ??= { kind: "corrupt", reason: "the PDF reader was stopped" }
        pending = undefined
        void worker.terminate()
      })
    }).pipe(Effect.ensuring(Effect.sync(() => worker.unref())))

  return {
    id,
    ask: (request, transfer = []) => lock.withPermits(1)(send(request, transfer)),
    alive: () => ended === undefined,
    served: () => served,
    stop: Effect.asVoid(Effect.promise(() => worker.terminate()))
  }
}

/** How the pool keeps threads. */
interface PoolConfig {
  readonly maxThreads: number
  readonly idleThreads: number
  readonly documentsPerThread: number
}

/**
 * The engine's threads: at most `maxThreads` documents at once (each may use up to the memory limit). A thread that
 * finished a document cleanly closes it and waits for the next one, warm (pdf.js code already optimised: about
 * three times faster than a fresh thread); one that was interrupted, crashed or went over a limit is never reused,
 * and none serves more than `documentsPerThread`. Up to `idleThreads` wait, the warmest kept, and until that many
 * are started a spare is started ahead, so a document does not wait for pdf.js to load.
 */
const makePool = (start: (onExit: (id: number) => void) => ReadingThread, config: PoolConfig) => {
  const slots = Effect.unsafeMakeSemaphore(config.maxThreads)
  let idle: Array<ReadingThread> = []
  // busy: taken and not yet back or exited
  const busy = new Set<number>()
  const spawn = () =>
    start((id) => {
      busy.delete(id)
      idle = idle.filter((t) => t.id !== id)
    })
  // a spare only while fewer threads are started than may wait: once they are all warm and busy, a new document
  // waits for pdf.js to load rather than have a cold spare started and stopped around every document
  const keepSpare = () => {
    if (idle.length === 0 && busy.size < config.idleThreads) idle.push(spawn())
  }
  const take = (): ReadingThread => {
    idle = idle.filter((t) => t.alive()).sort((a, b) => a.served() - b.served())
    const thread = idle.pop() ?? spawn()
    busy.add(thread.id)
    keepSpare()
    return thread
  }
  /** Back to the idle threads when the thread closed its document cleanly; stopped otherwise. */
  const giveBack = (thread: ReadingThread): Effect.Effect<void> =>
    Effect.gen(function*() {
      const reusable = config.idleThreads > 0 && thread.alive() && thread.served() < config.documentsPerThread
      const closed = reusable &&
        (yield* Effect.interruptible(thread.ask({ type: "close" })).pipe(
          Effect.timeout(2_000),
          Effect.map((reply) => reply.type === "closed"),
          Effect.orElseSucceed(() => false)
        ))
      busy.delete(thread.id)
      if (!closed) return yield* thread.stop
      idle.push(thread)
      // too many waiting: stop the coldest
      idle.sort((a, b) => a.served() - b.served())
      while (idle.length > config.idleThreads) yield* idle.shift()!.stop
    })
  keepSpare()
  return {
    /** A thread for the life of the scope; waits for a free slot (interruptibly), freed once the thread is back. */
    acquire: Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        yield* restore(slots.take(1))
        const thread = take()
        yield* Effect.addFinalizer(() => Effect.zipRight(giveBack(thread), slots.release(1)))
        return thread
      })
    ),
    threads: Effect.sync((): ThreadCounts => ({ busy: busy.size, idle: idle.length })),
    close: Effect.suspend(() => Effect.forEach(idle, (t) => t.stop, { discard: true }))
  }
}

/** Builds the engine; its idle threads are stopped when the scope closes. */
export const make = (config: PdfEngineConfig = {}): Effect.Effect<PdfEngine, never, Scope.Scope> =>
  Effect.gen(function*() {
    const limitMb = Math.max(16, Math.floor(config.memoryLimitMb ?? 1024))
    const script = config.threadScript ?? threadScript()
    if (!existsSync(fileURLToPath(script))) {
      return yield* Effect.dieMessage(
        `The PDF reading thread's script ${fileURLToPath(script)} is missing: build the packages first (npx tsc -b).`
      )
    }
    const pool = makePool((onExit) => startThread(script, limitMb, onExit), {
      maxThreads: Math.max(1, Math.floor(config.maxThreads ?? Math.max(2, availableParallelism()))),
      idleThreads: Math.max(0, Math.floor(config.idleThreads ?? 2)),
      documentsPerThread: Math.max(1, Math.floor(config.documentsPerThread ?? 100))
    })
    yield* Effect.addFinalizer(() => pool.close)

    const open = (bytes: Uint8Array, options: OpenOptions) =>
      Effect.gen(function*() {
        yield* checkHeader(bytes, options.filename)
        const thread = yield* pool.acquire
        const [data, transfer] = options.transfer === true ? movable(bytes) : [bytes, []]
        const opened = yield* thread.ask({ type: "open", bytes: data }, transfer).pipe(
          Effect.flatMap(expect("opened")),
          Effect.mapError(openError(options.filename, limitMb))
        )
        const page = (index: number) =>
          thread.ask({ type: "page", page: index }).pipe(
            Effect.flatMap(expect("page")),
            Effect.map((reply) => reply.page),
            Effect.mapError(readError(options.filename, limitMb))
          )
        const renderPage = (index: number, render: RenderOptions = {}) =>
          thread.ask({
            type: "render",
            page: index,
            dpi: positive(render.dpi, DEFAULT_DPI),
            maxPixels: positive(render.maxPixels, DEFAULT_MAX_PIXELS)
          }).pipe(
            Effect.flatMap(expect("rendered")),
            Effect.map((reply): RenderedPage => ({
              page: index,
              data: new Uint8Array(reply.data),
              width: reply.width,
              height: reply.height,
              channels: 4,
              dpi: reply.dpi
            })),
            Effect.mapError(readError(options.filename, limitMb))
          )
        const pageImages = (index: number, images: PageImageOptions = {}) =>
          thread.ask({
            type: "images",
            page: index,
            dpi: positive(images.dpi, DEFAULT_DPI),
            maxPixels: positive(images.maxPixels, DEFAULT_MAX_PIXELS),
            maxArea: positive(images.maxArea, 1)
          }).pipe(
            Effect.flatMap(expect("images")),
            Effect.map((reply) =>
              reply.images.map((image): PageImage => ({ ...image, data: new Uint8Array(image.data) }))
            ),
            Effect.mapError(readError(options.filename, limitMb))
          )
        return { pageCount: opened.pageCount, page, renderPage, pageImages }
      })

    const inspect = (bytes: Uint8Array, filename: string) =>
      Effect.scoped(Effect.map(open(bytes, { filename }), (pdf) => ({ pages: pdf.pageCount })))

    return { open, inspect, threads: pool.threads }
  })

/** The engine as a layer. */
export const layer = (config: PdfEngineConfig = {}): Layer.Layer<PdfEngine> => Layer.scoped(PdfEngine, make(config))

/** Fails without starting a thread when the bytes are empty or are not a PDF by their header. */
const checkHeader = (bytes: Uint8Array, filename: string): Effect.Effect<void, EmptyFile | NotAPdf> => {
  if (bytes.byteLength === 0) return Effect.fail(new EmptyFile({ filename }))
  if (!hasPdfHeader(bytes)) return Effect.fail(new NotAPdf({ filename, detected: describeContent(bytes) }))
  return Effect.void
}

/** Narrows a reply to the expected type; another reply (a failure) becomes the failure it reports. */
const expect = <T extends "opened" | "page" | "rendered" | "images">(type: T) =>
(reply: ThreadReply): Effect.Effect<Extract<ThreadReply, { type: T }>, ThreadFailure> => {
  if (reply.type === type) return Effect.succeed(reply as Extract<ThreadReply, { type: T }>)
  if (reply.type === "failed") {
    return Effect.fail(reply.kind === "encrypted" ? { kind: "encrypted" } : { kind: "corrupt", reason: reply.reason })
  }
  return Effect.fail({ kind: "corrupt", reason: `the PDF reader answered '${reply.type}' to a '${type}' request` })
}

/** The bytes and the buffer to transfer: the array's own buffer when it spans it whole, else a copy's. */
const movable = (bytes: Uint8Array): readonly [Uint8Array, ReadonlyArray<ArrayBuffer>] => {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
  const owned = whole ? bytes : bytes.slice()
  return [owned, [owned.buffer as ArrayBuffer]]
}
