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
 * The images a page paints (`images`) are found by the same walk of the operator list that measures what the page
 * draws: reading a page keeps its decoded images (pdf.js's `page.objs`) until the next request, so asking for the
 * images of the page just read decodes and walks nothing again. See `pageImages`.
 *
 * This module only types what the engine imports from it (`import type`): importing it for real would install the
 * guard and load pdf.js on the importing thread.
 */
import { documentOptions } from "./pdfjsOptions.js"
import { parentPort, workerData } from "node:worker_threads"
import { asClause } from "../../internal/ErrorText.js"
import type { PageDrawing, PageImage, PageShape, PageText, TextItem } from "../PdfEngine.js"
import { MAX_MARKS, type PathMark, vectorFigures } from "./layout/Figure.js"

/** What the engine sends to the thread. */
export type ThreadRequest =
  | { readonly type: "open"; readonly bytes: Uint8Array }
  | { readonly type: "page"; readonly page: number }
  | { readonly type: "render"; readonly page: number; readonly dpi: number; readonly maxPixels: number }
  | {
    readonly type: "images"
    readonly page: number
    /** The resolution of the page render that regions are cropped from. */
    readonly dpi: number
    /** The most pixels the page's images hold together (and the page render, when one is needed). */
    readonly maxPixels: number
    /** Images covering more than this fraction of the page are left out (a scan's page image). */
    readonly maxArea: number
  }
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
  | {
    readonly type: "images"
    /** Each image's pixels in a buffer of its own (`data`), transferred, not copied. */
    readonly images: ReadonlyArray<Omit<PageImage, "data"> & { readonly data: ArrayBuffer }>
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
// No native decompression in this thread: pdf.js then inflates with its own JavaScript decoder (whose buffers the
// guard above checks). A thread terminated while Node's zlib was setting up a DecompressionStream took the whole
// process down (node_zlib.cc "close before init", then a fatal error in the thread's cleanup), and threads are
// terminated on purpose: at a time limit, on cancel, at shutdown.
delete (globalThis as Record<string, unknown>).DecompressionStream
// Anything else that grows over event-loop turns is watched by a timer.
setInterval(() => {
  if (overLimit(0)) outOfMemory()
}, 50).unref()


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
  const task = getDocument({ data: bytes, ...documentOptions })
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
  release()
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
  const found: Array<Placement> = []
  const shapes: Shapes = { list: [], overflow: false }
  const marks: Array<PathMark> = []
  const drawing = await readDrawing(page, viewport.transform, viewport.width, viewport.height, found, shapes, marks)
    .catch(() => undefined)
  // vector figures are cropped from the render, as stencil masks are
  const figures = drawing === undefined
    ? []
    : vectorFigures(marks, items, viewport.width, viewport.height, found.map((p) => clip(p.box, viewport.width, viewport.height)))
        .map(roundBox)
  for (const box of figures) found.push({ matrix: [], box, source: { kind: "render" }, pixelWidth: 0, pixelHeight: 0 })
  // the page's decoded images are kept for an `images` request, which usually comes next
  if (drawing !== undefined && found.length > 0) {
    walked = { index, page, width: viewport.width, height: viewport.height, placements: found }
  } else {
    walked = { index, page: undefined, width: viewport.width, height: viewport.height, placements: [] }
    page.cleanup()
  }
  return {
    type: "page",
    page: {
      page: index,
      width: round(viewport.width),
      height: round(viewport.height),
      rotation: page.rotate,
      items,
      ...(drawing === undefined ? {} : { drawing, shapes: shapes.overflow ? [] : shapes.list, figures })
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
 * The images large enough to be figures are added to `found` (see `place`).
 */
const readDrawing = async (
  page: Page,
  viewport: Matrix,
  width: number,
  height: number,
  found?: Array<Placement>,
  shapes?: Shapes,
  marks?: Array<PathMark>
): Promise<PageDrawing> => {
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
  const place = (m: ReadonlyArray<number>, source: Placement["source"], pixelWidth: unknown, pixelHeight: unknown) => {
    if (found === undefined || found.length >= MAX_PLACEMENTS) return
    if (typeof pixelWidth !== "number" || typeof pixelHeight !== "number") return
    if (pixelWidth < MIN_IMAGE_SIDE || pixelHeight < MIN_IMAGE_SIDE) return
    const matrix = Util.transform([...viewport], [...m])
    const box = unitSquareBox(matrix)
    if (area(clip(box, width, height)) < MIN_IMAGE_AREA * width * height) return
    found.push({ matrix, box, source, pixelWidth, pixelHeight })
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
        // [objId, width, height]
        image(ctm)
        if (typeof args?.[0] === "string") place(ctm, { kind: "object", objId: args[0] }, args[1], args[2])
        break
      case OPS.paintInlineImageXObject: {
        // [image data]
        image(ctm)
        const data = args?.[0] as PdfImageData | undefined
        if (data !== undefined && data !== null) place(ctm, { kind: "inline", image: data }, data.width, data.height)
        break
      }
      case OPS.paintImageMaskXObject: {
        // [{ data: objId, width, height }]: a stencil painted in the fill colour, seen only on the render
        image(ctm)
        const mask = args?.[0] as { width?: unknown; height?: unknown } | undefined
        place(ctm, { kind: "render" }, mask?.width, mask?.height)
        break
      }
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
        if (shapes !== undefined && !shapes.overflow) addShapes(shapes, args, Util.transform([...viewport], ctm), OPS)
        if (marks !== undefined && marks.length < MAX_MARKS) {
          const mark = pathMark(args, Util.transform([...viewport], ctm), OPS)
          if (mark !== undefined) marks.push(mark)
        }
        paths++
        break
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

// ---------------------------------------------------------------------------------------------------------------
// Shapes: the upright lines and rectangles a page paints, for layout's tables (rules, cell borders, checkboxes).

/** A page's shapes as they are collected; `overflow` once there are more than MAX_SHAPES (then none are given). */
interface Shapes {
  readonly list: Array<PageShape>
  overflow: boolean
}

/** More shapes than a page of tables paints: a chart, a map or a drawing, where rules mean nothing to layout. */
const MAX_SHAPES = 5_000

/** How far (points) a line may lean from horizontal or vertical and still count as upright. */
const UPRIGHT_SLACK = 0.5

/** pdf.js's path commands in a constructPath buffer (its DrawOPS) and how many numbers follow each. */
const MOVE_TO = 0
const LINE_TO = 1
const CURVE_TO = 2
const QUADRATIC_TO = 3
const CLOSE_PATH = 4

/**
 * The upright lines and rectangles of one constructPath operation (`[paintOp, [buffer], minMax]`, pdf.js 5), mapped
 * by `m` (viewport times the current transform) to displayed points. A subpath of one segment is a line; a closed
 * subpath of four upright sides is a rectangle; other stroked subpaths give their upright sides as lines, and
 * subpaths with curves nothing. Paths that are not painted (clips) give nothing.
 */
const addShapes = (shapes: Shapes, args: ReadonlyArray<unknown> | null, m: Matrix, ops: Record<string, number>) => {
  const paint = args?.[0]
  const buffer = (args?.[1] as ReadonlyArray<unknown> | undefined)?.[0]
  if (typeof paint !== "number" || !(buffer instanceof Float32Array)) return
  const stroked = paint === ops.stroke || paint === ops.closeStroke || paint === ops.fillStroke ||
    paint === ops.eoFillStroke || paint === ops.closeFillStroke || paint === ops.closeEOFillStroke
  const filled = paint === ops.fill || paint === ops.eoFill || paint === ops.fillStroke ||
    paint === ops.eoFillStroke || paint === ops.closeFillStroke || paint === ops.closeEOFillStroke
  if (!stroked && !filled) return
  const point = (x: number, y: number): readonly [number, number] =>
    [m[0]! * x + m[2]! * y + m[4]!, m[1]! * x + m[3]! * y + m[5]!]
  let points: Array<readonly [number, number]> = []
  let closed = false
  let curved = false
  const flush = () => {
    if (!curved && points.length >= 2) subpathShapes(shapes, points, closed, stroked, filled)
    points = []
    closed = false
    curved = false
  }
  for (let k = 0; k < buffer.length && !shapes.overflow;) {
    switch (buffer[k++]) {
      case MOVE_TO:
        flush()
        points.push(point(buffer[k]!, buffer[k + 1]!))
        k += 2
        break
      case LINE_TO:
        points.push(point(buffer[k]!, buffer[k + 1]!))
        k += 2
        break
      case CURVE_TO:
        curved = true
        k += 6
        break
      case QUADRATIC_TO:
        curved = true
        k += 4
        break
      case CLOSE_PATH:
        closed = true
        break
      default:
        // an unknown command: the rest of the buffer cannot be read
        k = buffer.length
    }
  }
  flush()
}

/**
 * A painted path of one constructPath operation as a figure mark (layout/Figure): its box on the displayed page and
 * how many of its segments are curves or slanted lines. Paths that are not painted (clips) give none.
 */
const pathMark = (args: ReadonlyArray<unknown> | null, m: Matrix, ops: Record<string, number>): PathMark | undefined => {
  const paint = args?.[0]
  const buffer = (args?.[1] as ReadonlyArray<unknown> | undefined)?.[0]
  if (typeof paint !== "number" || !(buffer instanceof Float32Array)) return undefined
  if (paint === ops.endPath || paint === undefined) return undefined
  const painted = [ops.stroke, ops.closeStroke, ops.fill, ops.eoFill, ops.fillStroke, ops.eoFillStroke,
    ops.closeFillStroke, ops.closeEOFillStroke].includes(paint)
  if (!painted) return undefined
  let [x1, y1, x2, y2] = [Infinity, Infinity, -Infinity, -Infinity]
  let complex = 0
  let last: readonly [number, number] | undefined
  let start: readonly [number, number] | undefined
  const at = (x: number, y: number) => {
    const p = [m[0]! * x + m[2]! * y + m[4]!, m[1]! * x + m[3]! * y + m[5]!] as const
    x1 = Math.min(x1, p[0])
    y1 = Math.min(y1, p[1])
    x2 = Math.max(x2, p[0])
    y2 = Math.max(y2, p[1])
    return p
  }
  const slanted = (a: readonly [number, number], b: readonly [number, number]) =>
    Math.abs(a[0] - b[0]) > UPRIGHT_SLACK && Math.abs(a[1] - b[1]) > UPRIGHT_SLACK
  for (let k = 0; k < buffer.length;) {
    switch (buffer[k++]) {
      case MOVE_TO:
        last = start = at(buffer[k]!, buffer[k + 1]!)
        k += 2
        break
      case LINE_TO: {
        const p = at(buffer[k]!, buffer[k + 1]!)
        if (last !== undefined && slanted(last, p)) complex++
        last = p
        k += 2
        break
      }
      case CURVE_TO:
        at(buffer[k]!, buffer[k + 1]!)
        at(buffer[k + 2]!, buffer[k + 3]!)
        last = at(buffer[k + 4]!, buffer[k + 5]!)
        complex++
        k += 6
        break
      case QUADRATIC_TO:
        at(buffer[k]!, buffer[k + 1]!)
        last = at(buffer[k + 2]!, buffer[k + 3]!)
        complex++
        k += 4
        break
      case CLOSE_PATH:
        if (last !== undefined && start !== undefined && slanted(last, start)) complex++
        last = start
        break
      default:
        k = buffer.length
    }
  }
  return x1 <= x2 && y1 <= y2 ? { bbox: [x1, y1, x2, y2], complex } : undefined
}

/** One subpath's shapes (see `addShapes`). */
const subpathShapes = (
  shapes: Shapes,
  points: ReadonlyArray<readonly [number, number]>,
  closed: boolean,
  stroked: boolean,
  filled: boolean
) => {
  const push = (shape: PageShape) => {
    if (shapes.list.length >= MAX_SHAPES) shapes.overflow = true
    else shapes.list.push(shape)
  }
  const box = (a: readonly [number, number], b: readonly [number, number]): Box =>
    roundBox([Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])])
  const upright = (a: readonly [number, number], b: readonly [number, number]) =>
    Math.abs(a[0] - b[0]) <= UPRIGHT_SLACK || Math.abs(a[1] - b[1]) <= UPRIGHT_SLACK
  // a rectangle: four corners (a fifth back at the first), every side upright
  const corners = points.length === 5 && samePoint(points[0]!, points[4]!) ? points.slice(0, 4) : points
  if (corners.length === 4 && (closed || filled)) {
    const sides = corners.every((p, i) => upright(p, corners[(i + 1) % 4]!))
    if (sides) {
      push({ kind: "rect", bbox: box(corners[0]!, corners[2]!), filled })
      return
    }
  }
  // a subpath that is only filled paints nothing along a line
  if (!stroked) return
  if (points.length === 2 && upright(points[0]!, points[1]!)) {
    push({ kind: "line", bbox: box(points[0]!, points[1]!), filled: false })
    return
  }
  const sides = closed ? [...points, points[0]!] : points
  for (let i = 1; i < sides.length; i++) {
    if (upright(sides[i - 1]!, sides[i]!) && !samePoint(sides[i - 1]!, sides[i]!)) {
      push({ kind: "line", bbox: box(sides[i - 1]!, sides[i]!), filled: false })
    }
  }
}

const samePoint = (a: readonly [number, number], b: readonly [number, number]): boolean =>
  Math.abs(a[0] - b[0]) < 0.01 && Math.abs(a[1] - b[1]) < 0.01

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

// ---------------------------------------------------------------------------------------------------------------
// Images: what a page paints, found by readDrawing's walk, and their pixels, from pdf.js's decoded images or, where
// those cannot be had, cropped from a render of the page.

/** A box in displayed points: left, top, right, bottom. */
type Box = readonly [number, number, number, number]

/** pdf.js's decoded image (`ImageKind`: 1 grey at 1 bit a pixel, 2 RGB, 3 RGBA), as the display side receives it. */
interface PdfImageData {
  readonly width: number
  readonly height: number
  readonly kind?: number
  readonly data?: Uint8Array | Uint8ClampedArray | null
  readonly bitmap?: unknown
}

/** An image the page paints, as its operator list places it. */
interface Placement {
  /** The image's unit square to the displayed page (the viewport times the current transform). */
  readonly matrix: ReadonlyArray<number>
  /** The box the image covers on the displayed page (not clipped to it). */
  readonly box: Box
  /** Where its pixels are: a decoded image by its pdf.js id, the image inline in the list, or only the render. */
  readonly source:
    | { readonly kind: "object"; readonly objId: string }
    | { readonly kind: "inline"; readonly image: PdfImageData }
    | { readonly kind: "render" }
  readonly pixelWidth: number
  readonly pixelHeight: number
}

/** Images with fewer pixels than this on a side are decorations (bullets, rules, icons). */
const MIN_IMAGE_SIDE = 32

/** Images covering less than this fraction of the page are decorations. */
const MIN_IMAGE_AREA = 0.01

/** The most images a page's walk records, and a page's `images` reply returns (the largest). */
const MAX_PLACEMENTS = 500
const MAX_PAGE_IMAGES = 64

/**
 * Two images whose boxes overlap this much (intersection over union) are one picture in layers (an image and its
 * shadow or soft-masked copy): what a reader sees there is their composite.
 */
const SAME_PLACE = 0.9

/** How long a decoded image is waited for once the operator list is built (pdf.js decodes them asynchronously). */
const IMAGE_WAIT_MS = 10_000

/**
 * The page last read and what its walk found: the page is kept (its decoded images with it) only when it paints
 * images, until the next request; `page` is absent when it had none (or its operators could not be read).
 */
let walked:
  | {
    readonly index: number
    readonly page: Page | undefined
    readonly width: number
    readonly height: number
    readonly placements: ReadonlyArray<Placement>
  }
  | undefined

/** Lets the kept page's decoded images go. */
const release = (): void => {
  const kept = walked
  walked = undefined
  kept?.page?.cleanup()
}

/**
 * The images a page paints, as figures: each image of at least MIN_IMAGE_SIDE pixels a side and MIN_IMAGE_AREA of
 * the page (smaller ones are decorations; stencil masks the size of glyphs too), up to `maxArea` of the page, with
 * its box on the displayed page clipped to it and its pixels as displayed (turned and mirrored as painted, the part
 * off the page cut away). The pixels are the image's own, from pdf.js's decoded image (grey 1 channel, RGB 3, RGBA 4
 * with its soft mask as alpha), resampled (nearest pixel) only to fit: the page's images together hold at most
 * `maxPixels`, so a huge image comes downscaled. Where the image's pixels cannot be had (a stencil mask, a kind
 * pdf.js gave no bytes for, an image painted at a slant, layers of images in one place: what a reader sees is their
 * composite) its region is cropped from a render of the page at `dpi`, RGB. An image pdf.js could not decode is
 * left out (nothing is drawn there). The walk is readDrawing's: the page's operator list is built once, when the
 * page is read, unless another request came between.
 */
const pageImages = async (index: number, dpi: number, maxPixels: number, maxArea: number): Promise<ThreadReply> => {
  if (document === undefined) throw new Error("no document is open")
  let held = walked?.index === index ? walked : undefined
  walked = undefined
  if (held === undefined) {
    const page = await document.getPage(index + 1)
    const viewport = page.getViewport({ scale: 1 })
    const found: Array<Placement> = []
    const read = await readDrawing(page, viewport.transform, viewport.width, viewport.height, found)
      .then(() => true, () => false)
    held = { index, page, width: viewport.width, height: viewport.height, placements: read ? found : [] }
  }
  const { page, width, height } = held
  try {
    if (page === undefined) return { type: "images", images: [] }
    const chosen = choose(held.placements, width, height, maxArea)
    const budget = { left: Math.min(maxPixels, memoryBound()) }
    const images: Array<(Omit<PageImage, "data"> & { readonly data: ArrayBuffer }) | undefined> = []
    const cropped: Array<number> = []
    for (const [k, { placement, box, layered }] of chosen.entries()) {
      const decoded = layered ? undefined : await decodedImage(page, placement)
      // null: pdf.js could not decode it, so the page shows nothing there
      if (decoded === null) continue
      const image = decoded === undefined ? undefined : resample(decoded, placement.matrix, box, budget)
      if (image === undefined) cropped.push(k)
      else images[k] = image
    }
    if (cropped.length > 0) {
      const { canvas, width: w, height: h, scale } = await drawPage(page, dpi, maxPixels)
      try {
        const rgba = canvas.data()
        for (const { first, box } of groupNear(cropped.map((k) => chosen[k]!.box))) {
          images[cropped[first]!] = crop(rgba, w, h, scale, box, budget)
        }
      } finally {
        freeCanvas(canvas)
      }
    }
    return { type: "images", images: images.filter((image) => image !== undefined) }
  } finally {
    page?.cleanup()
  }
}

/**
 * The placements that are figures, in paint order: boxes clipped to the page, those over `maxArea` of it left out,
 * one painted where another already is (see SAME_PLACE) or continuing it as a tile (see `tiles`) merged into the
 * first as a layered picture (and left out too when their union is over `maxArea`), and no more than
 * MAX_PAGE_IMAGES of them (the largest). Images that merely overlap stay apart: photos of one figure laid over one
 * another overlap, but so do the boxes of neighbouring figures' cut-outs.
 */
const choose = (placements: ReadonlyArray<Placement>, width: number, height: number, maxArea: number) => {
  let chosen: Array<{ placement: Placement; box: Box; layered: boolean }> = []
  for (const placement of placements) {
    const box = clip(placement.box, width, height)
    if (area(box) > maxArea * width * height) continue
    const same = chosen.find((c) => overlap(c.box, box) >= SAME_PLACE || tiles(c.box, box))
    if (same === undefined) chosen.push({ placement, box, layered: false })
    else Object.assign(same, { box: union(same.box, box), layered: true })
  }
  // a page image stored as strips is a page image too
  chosen = chosen.filter((c) => area(c.box) <= maxArea * width * height)
  if (chosen.length <= MAX_PAGE_IMAGES) return chosen
  const smallest = chosen.map((c) => area(c.box)).sort((a, b) => b - a)[MAX_PAGE_IMAGES - 1]!
  return chosen.filter((c) => area(c.box) >= smallest).slice(0, MAX_PAGE_IMAGES)
}

/** How close (points) pieces seen only on the render (stencil masks, vector figures) are to make one picture. */
const RENDERED_GAP = 6

/**
 * Boxes cropped from the render (stencil masks, images pdf.js gave no pixels for, vector figures) that touch or
 * come within RENDERED_GAP of one another, piece by piece, as one picture: a drawing made of masks is cropped whole,
 * as a reader sees it, not in the pieces its producer happened to write. Each group is given at its first member's
 * index (in `boxes`), with the box around its members.
 */
const groupNear = (boxes: ReadonlyArray<Box>): Array<{ readonly first: number; readonly box: Box }> => {
  const parent = boxes.map((_, i) => i)
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)))
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      if (near(boxes[i]!, boxes[j]!, RENDERED_GAP)) parent[Math.max(find(i), find(j))] = Math.min(find(i), find(j))
    }
  }
  const groups = new Map<number, Box>()
  boxes.forEach((box, i) => {
    const root = find(i)
    const seen = groups.get(root)
    groups.set(root, seen === undefined ? box : union(seen, box))
  })
  return [...groups].map(([first, box]) => ({ first, box }))
}

const near = (p: Box, q: Box, gap: number): boolean =>
  p[0] <= q[2] + gap && q[0] <= p[2] + gap && p[1] <= q[3] + gap && q[1] <= p[3] + gap

/**
 * A placement's decoded image: undefined when there are no bytes to use (only the render shows it), null when pdf.js
 * could not decode it.
 */
const decodedImage = async (page: Page, placement: Placement): Promise<PdfImageData | null | undefined> => {
  const { source } = placement
  if (source.kind === "render") return undefined
  if (source.kind === "inline") return source.image
  // images used on several pages are the document's ("g_" ids), the others the page's
  const objects = (source.objId.startsWith("g_") ? page.commonObjs : page.objs) as unknown as {
    get: (id: string, callback: (data: unknown) => void) => unknown
  }
  let timer: ReturnType<typeof setTimeout> | undefined
  const data = await Promise.race([
    new Promise<unknown>((resolve) => objects.get(source.objId, resolve)),
    new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), IMAGE_WAIT_MS)))
  ]).finally(() => clearTimeout(timer))
  if (data === null) return null
  return typeof data === "object" && data !== undefined ? data as PdfImageData : undefined
}

/** Channels of pdf.js's image kinds. */
const KIND_CHANNELS: Record<number, 1 | 3 | 4> = { 1: 1, 2: 3, 3: 4 }

/**
 * A decoded image's pixels as displayed within `box` (its placement clipped to the page), or undefined when they
 * cannot be taken from it: an unknown kind, bytes missing or short, a slanted placement. Painted upright or turned
 * a quarter, mirrored or not, each displayed pixel is a source pixel: one source index per column and one per row.
 * The size is the image's own resolution over the box, less when the budget requires it (`budget.left` pixels, which
 * it uses up).
 */
const resample = (
  image: PdfImageData,
  m: ReadonlyArray<number>,
  box: Box,
  budget: { left: number }
): (Omit<PageImage, "data"> & { readonly data: ArrayBuffer }) | undefined => {
  const { width: w, height: h, kind, data } = image
  const channels = kind === undefined ? undefined : KIND_CHANNELS[kind]
  if (channels === undefined || data === undefined || data === null || !(w > 0 && h > 0)) return undefined
  const rowBytes = channels === 1 ? (w + 7) >> 3 : w * channels
  if (data.length < rowBytes * h) return undefined
  const [a, b, c, d, e, f] = m as [number, number, number, number, number, number]
  const tolerance = 1e-3 * Math.max(Math.abs(a), Math.abs(b), Math.abs(c), Math.abs(d))
  const upright = Math.abs(b) <= tolerance && Math.abs(c) <= tolerance
  const turned = Math.abs(a) <= tolerance && Math.abs(d) <= tolerance
  if (!(upright || turned) || !(tolerance > 0)) return undefined
  // displayed x runs along the image's columns (upright) or rows (turned), y the other way
  const [alongX, alongY] = upright ? [a, d] : [c, b]
  const [sourceX, sourceY] = upright ? [w, h] : [h, w]
  let perPointX = sourceX / Math.abs(alongX)
  let perPointY = sourceY / Math.abs(alongY)
  let outWidth = Math.max(1, Math.round((box[2] - box[0]) * perPointX))
  let outHeight = Math.max(1, Math.round((box[3] - box[1]) * perPointY))
  if (outWidth * outHeight > budget.left) {
    const shrink = Math.sqrt(budget.left / (outWidth * outHeight))
    ;[perPointX, perPointY] = [perPointX * shrink, perPointY * shrink]
    outWidth = Math.floor((box[2] - box[0]) * perPointX)
    outHeight = Math.floor((box[3] - box[1]) * perPointY)
    if (outWidth < MIN_IMAGE_SIDE || outHeight < MIN_IMAGE_SIDE) return undefined
  }
  const bytes = outWidth * outHeight * channels
  if (overLimit(bytes)) return undefined
  // the unit square's coordinate (u along columns, v up the rows) of each displayed column and row
  const toSource = (n: number, start: number, perPoint: number, scale: number, offset: number) => {
    const coordinate = new Float64Array(n)
    for (let i = 0; i < n; i++) coordinate[i] = (start + (i + 0.5) / perPoint - offset) / scale
    return coordinate
  }
  // pdf.js draws an image's first row at the top of its unit square (v = 1)
  const column = (u: number) => Math.min(w - 1, Math.max(0, Math.floor(u * w)))
  const row = (v: number) => Math.min(h - 1, Math.max(0, Math.floor((1 - v) * h)))
  const xs = toSource(outWidth, box[0], perPointX, alongX, e)
  const ys = toSource(outHeight, box[1], perPointY, alongY, f)
  const sourceColumn = upright ? xs.map(column) : ys.map(column)
  const sourceRow = upright ? ys.map(row) : xs.map(row)
  const out = new ArrayBuffer(bytes)
  const pixels = new Uint8Array(out)
  let o = 0
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      const i = upright ? sourceColumn[x]! : sourceColumn[y]!
      const j = upright ? sourceRow[y]! : sourceRow[x]!
      if (channels === 1) {
        // 1 bit a pixel, rows padded to a byte, most significant bit first: 1 is white
        pixels[o++] = (data[j * rowBytes + (i >> 3)]! >> (7 - (i & 7))) & 1 ? 255 : 0
      } else {
        const s = j * rowBytes + i * channels
        for (let k = 0; k < channels; k++) pixels[o++] = data[s + k]!
      }
    }
  }
  budget.left -= outWidth * outHeight
  return { bbox: roundBox(box), width: outWidth, height: outHeight, channels, data: out, source: "embedded" }
}

/** A box's region of a page render (RGBA, `scale` pixels a point) as RGB, or undefined when over the budget. */
const crop = (
  rgba: Uint8Array,
  width: number,
  height: number,
  scale: number,
  box: Box,
  budget: { left: number }
): (Omit<PageImage, "data"> & { readonly data: ArrayBuffer }) | undefined => {
  const x0 = Math.max(0, Math.min(width - 1, Math.floor(box[0] * scale)))
  const y0 = Math.max(0, Math.min(height - 1, Math.floor(box[1] * scale)))
  const x1 = Math.max(x0 + 1, Math.min(width, Math.ceil(box[2] * scale)))
  const y1 = Math.max(y0 + 1, Math.min(height, Math.ceil(box[3] * scale)))
  const [w, h] = [x1 - x0, y1 - y0]
  if (w * h > budget.left || overLimit(w * h * 3)) return undefined
  budget.left -= w * h
  const out = new ArrayBuffer(w * h * 3)
  const pixels = new Uint8Array(out)
  let o = 0
  for (let y = y0; y < y1; y++) {
    for (let x = x0, s = (y * width + x0) * 4; x < x1; x++, s += 4) {
      pixels[o++] = rgba[s]!
      pixels[o++] = rgba[s + 1]!
      pixels[o++] = rgba[s + 2]!
    }
  }
  return { bbox: roundBox(box), width: w, height: h, channels: 3, data: out, source: "render" }
}

/** The box around the image of the unit square under `m`. */
const unitSquareBox = (m: ReadonlyArray<number>): Box => {
  const [a, b, c, d, e, f] = m as [number, number, number, number, number, number]
  const xs = [e, a + e, c + e, a + c + e]
  const ys = [f, b + f, d + f, b + d + f]
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)]
}

const clip = (box: Box, width: number, height: number): Box => [
  Math.max(0, Math.min(width, box[0])),
  Math.max(0, Math.min(height, box[1])),
  Math.max(0, Math.min(width, box[2])),
  Math.max(0, Math.min(height, box[3]))
]

const area = (box: Box): number => Math.max(0, box[2] - box[0]) * Math.max(0, box[3] - box[1])

/** How far (points) edges of tiles of one image may be from lining up, and tiles from touching. */
const TILE_SLACK = 2

/**
 * Whether two boxes are tiles of one picture: the same left and right edges, one right below the other or
 * overlapping it (an image stored in strips, as PDFium and scanners write them), or the same top and bottom, side
 * by side.
 */
const tiles = (p: Box, q: Box): boolean => {
  const near = (a: number, b: number) => Math.abs(a - b) <= TILE_SLACK
  const gapY = Math.max(p[1], q[1]) - Math.min(p[3], q[3])
  const gapX = Math.max(p[0], q[0]) - Math.min(p[2], q[2])
  return (near(p[0], q[0]) && near(p[2], q[2]) && gapY <= TILE_SLACK) ||
    (near(p[1], q[1]) && near(p[3], q[3]) && gapX <= TILE_SLACK)
}

/** Intersection over union. */
const overlap = (p: Box, q: Box): number => {
  const common = area([Math.max(p[0], q[0]), Math.max(p[1], q[1]), Math.min(p[2], q[2]), Math.min(p[3], q[3])])
  return common === 0 ? 0 : common / (area(p) + area(q) - common)
}

const union = (p: Box, q: Box): Box =>
  [Math.min(p[0], q[0]), Math.min(p[1], q[1]), Math.max(p[2], q[2]), Math.max(p[3], q[3])]

const roundBox = (box: Box): Box => [round(box[0]), round(box[1]), round(box[2]), round(box[3])]

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
  try {
    const { canvas, width, height, scale } = await drawPage(page, dpi, maxPixels)
    // the canvas's own RGBA bytes (premultiplied, which on an opaque page is the same), about 4 times faster than
    // getImageData; they live in native memory, which postMessage would copy on the receiving side (on the event
    // loop): copy them here, in this thread, into a buffer that moves
    try {
      const rgba = canvas.data()
      const data = new ArrayBuffer(rgba.byteLength)
      new Uint8Array(data).set(rgba)
      return { type: "rendered", data, width, height, dpi: round(scale * 72) }
    } finally {
      freeCanvas(canvas)
    }
  } finally {
    page.cleanup()
  }
}

/** The most pixels a raster may have within the memory limit (see RASTER_SHARE). */
const memoryBound = (): number => Math.floor((limitBytes * RASTER_SHARE) / (3 * 4))

/**
 * Draws a page on a new canvas at `dpi`, or at the resolution that fits `maxPixels` (see `renderPage`); the caller
 * frees the canvas (`freeCanvas`).
 */
const drawPage = async (page: Page, dpi: number, maxPixels: number) => {
  const base = page.getViewport({ scale: 1 })
  const scale = fitScale(base.width, base.height, dpi / 72, Math.min(maxPixels, memoryBound()))
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
  } catch (error) {
    freeCanvas(canvas)
    throw error
  }
  return { canvas, width, height, scale }
}

/** The canvas's pixels are native memory: give them back now, not at the next garbage collection. */
const freeCanvas = (canvas: { width: number; height: number }): void => {
  canvas.width = 0
  canvas.height = 0
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
  // a page's decoded images are kept only until the next request, unless it asks for them
  if (request.type !== "images" || walked?.index !== request.page) release()
  try {
    switch (request.type) {
      case "open":
        return await open(request.bytes)
      case "page":
        return await readPage(request.page)
      case "render":
        return await renderPage(request.page, request.dpi, request.maxPixels)
      case "images":
        return await pageImages(request.page, request.dpi, request.maxPixels, request.maxArea)
      case "close":
        return await close()
    }
  } catch (error) {
    const reply = describe(error)
    // a page's failure names the page, counted from 1 as readers do
    return (request.type === "page" || request.type === "render" || request.type === "images") &&
        reply.type === "failed" &&
        reply.kind === "corrupt"
      ? { ...reply, reason: `page ${request.page + 1}: ${reply.reason}` }
      : reply
  }
}

/** The buffers a reply moves rather than copies: pixels. */
const transferable = (reply: ThreadReply): Array<ArrayBuffer> | undefined => {
  if (reply.type === "rendered") return [reply.data]
  if (reply.type === "images") return reply.images.map((image) => image.data)
  return undefined
}

parentPort?.on("message", (request: ThreadRequest) => {
  void answer(request).then((reply) =>
    parentPort?.postMessage(reply, transferable(reply))
  )
})
