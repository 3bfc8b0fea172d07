/**
 * The body of a PDF reading thread: pdf.js runs here, never on the main thread, so a pathological PDF that spins or
 * allocates without bound stalls or kills only this thread. The engine sends a document's bytes, asks for its pages
 * one at a time, then closes it; the thread answers each request with one message, and may be given another
 * document afterwards (pdf.js runs much faster once the thread has warmed it up).
 *
 * Memory has two limits, both `workerData.memoryLimitMb`: the JS heap (V8 enforces it through the Worker's
 * resourceLimits) and ArrayBuffers, which V8 does not count against the heap. Decompressed streams live in
 * ArrayBuffers, so a flate bomb would grow the process by gigabytes under any heap limit: the guard below ends the
 * thread with `memoryExitCode` instead.
 *
 * Pages are also rendered here (`render`): pdf.js draws on an @napi-rs/canvas canvas, and the pixels go back to the
 * engine in a transferred ArrayBuffer, so neither the drawing nor a copy of the pixels happens on the event loop.
 *
 * This module only types what the engine imports from it (`import type`): importing it for real would install the
 * guard and load pdf.js on the importing thread.
 */
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { parentPort, workerData } from "node:worker_threads"
import { asClause } from "../../internal/ErrorText.js"
import type { PageDrawing, PageText, TextItem } from "../PdfEngine.js"

/** What the engine sends to the thread. */
export type ThreadRequest =
  | { readonly type: "open"; readonly bytes: Uint8Array }
  | { readonly type: "page"; readonly page: number }
  | { readonly type: "render"; readonly page: number; readonly dpi: number; readonly maxPixels: number }
  | { readonly type: "close" }

/** What the thread answers: one reply per request. */
export type ThreadReply =
  | { readonly type: "opened"; readonly pageCount: number }
  | { readonly type: "page"; readonly page: PageText }
  | {
    readonly type: "rendered"
    /** RGBA, row after row, `width * 4` bytes a row; transferred, not copied. */
    readonly data: ArrayBuffer
    readonly width: number
    readonly height: number
    /** The resolution it was rendered at: the one asked for, or less when `maxPixels` required it. */
    readonly dpi: number
  }
  | { readonly type: "closed" }
  | { readonly type: "failed"; readonly kind: "encrypted" | "corrupt"; readonly reason: string }

/** What the engine passes when it starts the thread. */
export interface ThreadData {
  readonly memoryLimitMb: number
  /** The exit code that tells the engine this thread stopped itself for going over the memory limit. */
  readonly memoryExitCode: number
}

// The parts of pdf.js's text content this thread reads (its own types are wider and change between versions).
interface PdfTextItem {
  readonly str: string
  readonly transform: ReadonlyArray<number>
  readonly width: number
  readonly height: number
  readonly fontName: string
}
interface PdfTextStyle {
  readonly ascent?: number
  readonly descent?: number
  readonly vertical?: boolean
}

const data = workerData as ThreadData
const limitBytes = data.memoryLimitMb * 1024 * 1024

/** Ends the thread; the engine reads the exit code as "needs more memory than the limit". */
const outOfMemory = (): never => process.exit(data.memoryExitCode)

const overLimit = (extra: number): boolean => process.memoryUsage().arrayBuffers + extra > limitBytes

/**
 * Stream decoders grow one buffer by doubling inside synchronous code, where no timer can run: check the big
 * allocations as they happen. Only allocations of 1 MB or more are checked, so the many small arrays pdf.js makes
 * cost nothing. `instanceof` keeps answering for arrays made before the swap (Buffers, transferred bytes).
 */
const guardAllocations = (name: "Uint8Array" | "Uint8ClampedArray"): void => {
  const Native = globalThis[name] as unknown as new(...args: Array<unknown>) => object
  class Guarded extends Native {
    constructor(...args: Array<unknown>) {
      const size = args[0]
      if (typeof size === "number" && size >= 1 << 20 && overLimit(size)) outOfMemory()
      super(...args)
    }
    static override [Symbol.hasInstance](value: unknown): boolean {
      return value instanceof Native
    }
  }
  ;(globalThis as Record<string, unknown>)[name] = Guarded
}
guardAllocations("Uint8Array")
guardAllocations("Uint8ClampedArray")
// Native decompression (DecompressionStream) collects its output over event-loop turns, where a timer can watch it.
setInterval(() => {
  if (overLimit(0)) outOfMemory()
}, 50).unref()

const pdfjsRoot = dirname(createRequire(import.meta.url).resolve("pdfjs-dist/package.json"))

/**
 * Loads pdf.js with its worker code in this same thread (no nested worker: this thread is the isolation).
 * The legacy build's core-js polyfills replace `Array.prototype.push` on Node 20 (for a V8 edge case with
 * non-writable array lengths that pdf.js never meets); the interpreted replacement took 10% of the thread's time on
 * born-digital pages, so the native one is put back once pdf.js is loaded.
 */
const loadPdfjs = async () => {
  const push = Array.prototype.push
  const workerModule: string = "pdfjs-dist/legacy/build/pdf.worker.mjs"
  ;(globalThis as Record<string, unknown>).pdfjsWorker = await import(workerModule)
  const api = await import("pdfjs-dist/legacy/build/pdf.mjs")
  Object.defineProperty(Array.prototype, "push", { value: push, writable: true, configurable: true })
  return api
}
const pdfjs = loadPdfjs()

type Pdfjs = Awaited<typeof pdfjs>
type Document = Awaited<ReturnType<Pdfjs["getDocument"]>["promise"]>

let document: Document | undefined

const open = async (bytes: Uint8Array): Promise<ThreadReply> => {
  const { getDocument } = await pdfjs
  await close()
  const task = getDocument({
    data: bytes,
    verbosity: 0,
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    // CJK text needs the predefined CMaps to map glyphs to Unicode
    cMapUrl: join(pdfjsRoot, "cmaps") + "/",
    cMapPacked: true,
    standardFontDataUrl: join(pdfjsRoot, "standard_fonts") + "/",
    stopAtErrors: false
  })
  // a document that fails to open leaves its loading task behind: end it, this thread may read more documents
  document = await task.promise.catch(async (error: unknown) => {
    await task.destroy()
    throw error
  })
  return { type: "opened", pageCount: document.numPages }
}

/** More separately placed runs of text than any real page holds (dense pages have about 10,000). */
const MAX_ITEMS = 200_000

/** More characters than any real page holds (a dense page has about 10,000). */
const MAX_CHARACTERS = 2_000_000

/** Lets the document go, so the thread can take another. */
const close = async (): Promise<ThreadReply> => {
  const open = document
  document = undefined
  await open?.destroy()
  return { type: "closed" }
}

const readPage = async (index: number): Promise<ThreadReply> => {
  const { Util } = await pdfjs
  if (document === undefined) throw new Error("no document is open")
  const page = await document.getPage(index + 1)
  const viewport = page.getViewport({ scale: 1 })
  const content = await page.getTextContent()
  // the reply is copied to the main thread whole: refuse a page no real page could be (a fuzzed content stream)
  if (content.items.length > MAX_ITEMS) throw new Error(`it holds more than ${MAX_ITEMS} pieces of text`)
  const characters = content.items.reduce((n, item) => n + ("str" in item ? item.str.length : 0), 0)
  if (characters > MAX_CHARACTERS) throw new Error(`it holds more than ${MAX_CHARACTERS} characters of text`)
  const styles = content.styles as Record<string, PdfTextStyle | undefined>
  const items: Array<TextItem> = []
  for (const raw of content.items) {
    if (!("str" in raw)) continue
    const item = toItem(raw as PdfTextItem, styles[raw.fontName], viewport.transform, Util.transform)
    if (item !== undefined) items.push(item)
  }
  const drawing = await readDrawing(page, viewport.transform, viewport.width, viewport.height).catch(() => undefined)
  page.cleanup()
  return {
    type: "page",
    page: {
      page: index,
      width: round(viewport.width),
      height: round(viewport.height),
      rotation: page.rotate,
      items,
      ...(drawing === undefined ? {} : { drawing })
    }
  }
}

type Page = Awaited<ReturnType<Document["getPage"]>>

/** The side of the grid image coverage is measured on: a cell counts as covered when its centre is under an image. */
const GRID = 64

/** An image painted over this much of the page hides the text drawn before it (an OCR'd scan's text layer). */
const COVERING_IMAGE = 0.85

/** More operators than a page is walked for: its drawing is left unknown rather than take seconds. */
const MAX_OPERATORS = 2_000_000

/**
 * What the page's content stream draws, from pdf.js's operator list: the characters shown and how many of them no
 * one can see (text render mode 3 or 7, as OCR tools write their text layer, or painted over afterwards by an image
 * covering most of the page), how much of the page images cover, and how many paths it fills or strokes. Building
 * the list parses the content stream again and decodes the page's images (the cost of knowing what is drawn).
 */
const readDrawing = async (page: Page, viewport: Matrix, width: number, height: number): Promise<PageDrawing> => {
  const { OPS, Util } = await pdfjs
  const list = await page.getOperatorList({ intent: "display", annotationMode: ANNOTATION_MODE })
  if (list.fnArray.length > MAX_OPERATORS) throw new Error("too many operators")
  const covered = new Uint8Array(GRID * GRID)
  let ctm: Array<number> = [1, 0, 0, 1, 0, 0]
  const stack: Array<{ ctm: Array<number>; mode: number }> = []
  let mode = 0
  let annotationDepth = 0
  let glyphs = 0
  let invisible = 0
  let hiddenBelow = 0
  let images = 0
  let paths = 0
  const cover = (m: ReadonlyArray<number>): number => {
    const d = Util.transform([...viewport], [...m])
    const xs = [d[4]!, d[0]! + d[4]!, d[2]! + d[4]!, d[0]! + d[2]! + d[4]!]
    const ys = [d[5]!, d[1]! + d[5]!, d[3]! + d[5]!, d[1]! + d[3]! + d[5]!]
    const [x0, x1] = [Math.min(...xs) / width, Math.max(...xs) / width]
    const [y0, y1] = [Math.min(...ys) / height, Math.max(...ys) / height]
    let cells = 0
    for (let gy = Math.max(0, Math.ceil(y0 * GRID - 0.5)); gy < GRID && (gy + 0.5) / GRID <= y1; gy++) {
      for (let gx = Math.max(0, Math.ceil(x0 * GRID - 0.5)); gx < GRID && (gx + 0.5) / GRID <= x1; gx++) {
        covered[gy * GRID + gx] = 1
        cells++
      }
    }
    images++
    return cells / (GRID * GRID)
  }
  const image = (m: ReadonlyArray<number>) => {
    // text drawn so far is under this image if it covers most of the page
    if (cover(m) >= COVERING_IMAGE) hiddenBelow = glyphs - invisible
  }
  const { fnArray, argsArray } = list
  for (let i = 0; i < fnArray.length; i++) {
    const fn = fnArray[i]
    const args = argsArray[i] as Array<unknown> | null
    if (fn === OPS.beginAnnotation) annotationDepth++
    else if (fn === OPS.endAnnotation) annotationDepth = Math.max(0, annotationDepth - 1)
    if (annotationDepth > 0) continue
    switch (fn) {
      case OPS.save:
        stack.push({ ctm, mode })
        break
      case OPS.restore: {
        const state = stack.pop()
        if (state !== undefined) ({ ctm, mode } = state)
        break
      }
      case OPS.transform:
        ctm = Util.transform(ctm, args as Array<number>)
        break
      case OPS.paintFormXObjectBegin:
        stack.push({ ctm, mode })
        if (Array.isArray(args?.[0])) ctm = Util.transform(ctm, args[0] as Array<number>)
        break
      case OPS.paintFormXObjectEnd: {
        const state = stack.pop()
        if (state !== undefined) ({ ctm, mode } = state)
        break
      }
      case OPS.setTextRenderingMode:
        mode = typeof args?.[0] === "number" ? args[0] : 0
        break
      case OPS.showText:
      case OPS.showSpacedText:
      case OPS.nextLineShowText:
      case OPS.nextLineSetSpacingShowText: {
        const shown = countGlyphs(args?.[0])
        glyphs += shown
        // 3: neither fill nor stroke; 7: clip only
        if (mode === 3 || mode === 7) invisible += shown
        break
      }
      case OPS.paintImageXObject:
      case OPS.paintInlineImageXObject:
      case OPS.paintImageMaskXObject:
      case OPS.paintSolidColorImageMask:
        image(ctm)
        break
      case OPS.paintImageXObjectRepeat:
      case OPS.paintImageMaskXObjectRepeat: {
        // copies of one image at several places: [objId, scaleX, scaleY, positions] for images,
        // [image, scaleX, skewX, skewY, scaleY, positions] for masks
        const a = (args ?? []) as Array<unknown>
        const [scaleX, skewX, skewY, scaleY, positions] = fn === OPS.paintImageXObjectRepeat
          ? [a[1], 0, 0, a[2], a[3]]
          : [a[1], a[2], a[3], a[4], a[5]]
        if (typeof scaleX !== "number" || typeof scaleY !== "number") break
        const at = positions as ArrayLike<number> | undefined
        for (let p = 0; at !== undefined && p + 1 < at.length; p += 2) {
          image(Util.transform(ctm, [scaleX, Number(skewX) || 0, Number(skewY) || 0, scaleY, at[p]!, at[p + 1]!]))
        }
        break
      }
      case OPS.paintInlineImageXObjectGroup:
      case OPS.paintImageMaskXObjectGroup: {
        const group = (fn === OPS.paintInlineImageXObjectGroup ? args?.[1] : args?.[0]) as
          | ReadonlyArray<{ transform?: Array<number> }>
          | undefined
        for (const placed of Array.isArray(group) ? group : []) {
          if (Array.isArray(placed?.transform)) image(Util.transform(ctm, placed.transform))
        }
        break
      }
      case OPS.constructPath:
      case OPS.fill:
      case OPS.eoFill:
      case OPS.stroke:
      case OPS.fillStroke:
      case OPS.eoFillStroke:
        paths++
        break
    }
  }
  let coveredCells = 0
  for (const cell of covered) coveredCells += cell
  return {
    glyphs,
    hiddenGlyphs: invisible + hiddenBelow,
    invisibleGlyphs: invisible,
    images,
    imageCoverage: round(coveredCells / covered.length),
    paths
  }
}

/** Annotations as displayed with their form fields, the same for reading the drawing and rendering. */
const ANNOTATION_MODE = 2 // AnnotationMode.ENABLE_FORMS

/** Characters drawn by a text-showing operator's glyph array, not counting spaces. */
const countGlyphs = (glyphs: unknown): number => {
  if (!Array.isArray(glyphs)) return 0
  let n = 0
  for (const glyph of glyphs) {
    if (glyph === null || typeof glyph !== "object") continue
    const { unicode, isSpace } = glyph as { unicode?: unknown; isSpace?: unknown }
    if (isSpace === true) continue
    if (typeof unicode !== "string" || unicode.trim() !== "") n++
  }
  return n
}

/** The largest side a canvas may have. */
const MAX_SIDE = 32_000

/**
 * A raster is held three times while it is handed over (the canvas, its bytes, the buffer that moves): the most
 * pixels that fit in this share of the memory limit, so a raster alone never takes the thread over its limit.
 */
const RASTER_SHARE = 0.6

/**
 * Renders a page to RGBA pixels at `dpi` (72 is the page's size in points), on an opaque white background; a page
 * whose raster would exceed `maxPixels` (or a side of MAX_SIDE, or what the memory limit allows) renders at the
 * resolution that fits instead, never more. The pixels are copied once out of the canvas, in this thread, into a
 * buffer that is transferred to the engine.
 */
const renderPage = async (index: number, dpi: number, maxPixels: number): Promise<ThreadReply> => {
  if (document === undefined) throw new Error("no document is open")
  const page = await document.getPage(index + 1)
  const base = page.getViewport({ scale: 1 })
  const memoryBound = Math.floor((limitBytes * RASTER_SHARE) / (3 * 4))
  const scale = fitScale(base.width, base.height, dpi / 72, Math.min(maxPixels, memoryBound))
  const viewport = page.getViewport({ scale })
  const width = pixels(base.width, scale)
  const height = pixels(base.height, scale)
  const { createCanvas } = await canvasModule
  const canvas = createCanvas(width, height)
  const context = canvas.getContext("2d")
  try {
    await page.render({
      canvas: canvas as never,
      canvasContext: context as never,
      viewport,
      background: "white",
      annotationMode: ANNOTATION_MODE
    }).promise
    // the canvas's own RGBA bytes (premultiplied, which on an opaque page is the same), about 4 times faster than
    // getImageData; they live in native memory, which postMessage would copy on the receiving side (on the event
    // loop): copy them here, in this thread, into a buffer that moves
    const rgba = canvas.data()
    const data = new ArrayBuffer(rgba.byteLength)
    new Uint8Array(data).set(rgba)
    return { type: "rendered", data, width, height, dpi: round(scale * 72) }
  } finally {
    // the canvas's pixels are native memory: give them back now, not at the next garbage collection
    canvas.width = 0
    canvas.height = 0
    page.cleanup()
  }
}

/** Pixels of a side of `points` at `scale`: whole pixels, a rounding error below a whole number not lost. */
const pixels = (points: number, scale: number): number => Math.max(1, Math.floor(points * scale + 1e-6))

/**
 * The scale (pixels per point) for `wanted`, lowered when needed so the raster holds at most `maxPixels` and has no
 * side longer than MAX_SIDE.
 */
const fitScale = (width: number, height: number, wanted: number, maxPixels: number): number => {
  let scale = wanted
  if (width * height * scale * scale > maxPixels) scale = Math.sqrt(maxPixels / (width * height))
  if (Math.max(width, height) * scale > MAX_SIDE) scale = MAX_SIDE / Math.max(width, height)
  // whole pixels can round a bound over by a hair: step down until they fit
  while (
    scale < wanted && (pixels(width, scale) * pixels(height, scale) > maxPixels ||
      Math.max(pixels(width, scale), pixels(height, scale)) > MAX_SIDE)
  ) scale *= 0.999
  return scale
}

const canvasModule = import("@napi-rs/canvas")

type Matrix = ReadonlyArray<number>

/**
 * One pdf.js text item in displayed page coordinates: the item's box in text space (advance width by ascent to
 * descent) is mapped through its text matrix and the viewport (which applies /Rotate and the crop box), and the
 * result is the axis-aligned box of the four corners, so rotated pages give boxes as a reader sees them.
 */
const toItem = (
  raw: PdfTextItem,
  style: PdfTextStyle | undefined,
  viewport: Matrix,
  multiply: (a: Array<number>, b: Array<number>) => Array<number>
): TextItem | undefined => {
  if (raw.str.trim() === "") return undefined
  const m = multiply([...viewport], [...raw.transform])
  const size = Math.hypot(m[2]!, m[3]!)
  const scaleX = Math.hypot(m[0]!, m[1]!)
  if (!(size > 0) || !(scaleX > 0)) return undefined
  const ascent = style?.ascent !== undefined && style.ascent > 0 ? style.ascent : 0.8
  const descent = style?.descent !== undefined && style.descent < 0 ? style.descent : -0.2
  const corners = boxCorners(raw, style, ascent, descent).map(([u, v]) => [
    m[0]! * u + m[2]! * v + m[4]!,
    m[1]! * u + m[3]! * v + m[5]!
  ] as const)
  const xs = corners.map((c) => c[0])
  const ys = corners.map((c) => c[1])
  const x = Math.min(...xs)
  const y = Math.min(...ys)
  return {
    text: raw.str,
    x: round(x),
    y: round(y),
    width: round(Math.max(...xs) - x),
    height: round(Math.max(...ys) - y),
    fontName: raw.fontName,
    fontSize: round(size),
    // displayed y grows downwards, so a positive angle turns clockwise
    angle: Math.round((Math.atan2(m[1]!, m[0]!) * 180) / Math.PI)
  }
}

/**
 * The item's box in its own text space, where one unit along x is |transform[0..1]| and one along y the font size.
 * pdf.js gives the advance in user space: along the baseline for horizontal fonts (width), downwards from the origin
 * for vertical ones (height), where glyphs are centred on the origin.
 */
const boxCorners = (
  raw: PdfTextItem,
  style: PdfTextStyle | undefined,
  ascent: number,
  descent: number
): ReadonlyArray<readonly [number, number]> => {
  const [a, b, c, d] = raw.transform as [number, number, number, number]
  if (style?.vertical === true) {
    const down = raw.height / Math.hypot(c, d)
    return [[-0.5, 0], [0.5, 0], [-0.5, -down], [0.5, -down]]
  }
  const advance = raw.width / Math.hypot(a, b)
  return [[0, descent], [0, ascent], [advance, descent], [advance, ascent]]
}

const round = (n: number): number => Math.round(n * 100) / 100

/** pdf.js errors as the engine's kinds: a password is "encrypted", anything else is "corrupt" with a short reason. */
const describe = (error: unknown): ThreadReply => {
  const name = error instanceof Error ? error.name : ""
  if (name === "PasswordException") return { type: "failed", kind: "encrypted", reason: "a password is required" }
  return { type: "failed", kind: "corrupt", reason: asClause(error) }
}

const answer = async (request: ThreadRequest): Promise<ThreadReply> => {
  try {
    switch (request.type) {
      case "open":
        return await open(request.bytes)
      case "page":
        return await readPage(request.page)
      case "render":
        return await renderPage(request.page, request.dpi, request.maxPixels)
      case "close":
        return await close()
    }
  } catch (error) {
    const reply = describe(error)
    // a page's failure names the page, counted from 1 as readers do
    return (request.type === "page" || request.type === "render") && reply.type === "failed" &&
        reply.kind === "corrupt"
      ? { ...reply, reason: `page ${request.page + 1}: ${reply.reason}` }
      : reply
  }
}

parentPort?.on("message", (request: ThreadRequest) => {
  void answer(request).then((reply) =>
    parentPort?.postMessage(reply, reply.type === "rendered" ? [reply.data] : undefined)
  )
})
