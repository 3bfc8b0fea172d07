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
 * This module only types what the engine imports from it (`import type`): importing it for real would install the
 * guard and load pdf.js on the importing thread.
 */
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { parentPort, workerData } from "node:worker_threads"
import type { PageText, TextItem } from "../PdfEngine.js"

/** What the engine sends to the thread. */
export type ThreadRequest =
  | { readonly type: "open"; readonly bytes: Uint8Array }
  | { readonly type: "page"; readonly page: number }
  | { readonly type: "close" }

/** What the thread answers: one reply per request. */
export type ThreadReply =
  | { readonly type: "opened"; readonly pageCount: number }
  | { readonly type: "page"; readonly page: PageText }
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

/** Loads pdf.js with its worker code in this same thread (no nested worker: this thread is the isolation). */
const loadPdfjs = async () => {
  const workerModule: string = "pdfjs-dist/legacy/build/pdf.worker.mjs"
  ;(globalThis as Record<string, unknown>).pdfjsWorker = await import(workerModule)
  return import("pdfjs-dist/legacy/build/pdf.mjs")
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
  page.cleanup()
  return {
    type: "page",
    page: { page: index, width: round(viewport.width), height: round(viewport.height), rotation: page.rotate, items }
  }
}

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
  const message = error instanceof Error ? error.message : String(error)
  const reason = message.replace(/\s+/g, " ").trim().replace(/\.$/, "").slice(0, 200)
  return { type: "failed", kind: "corrupt", reason: reason === "" ? "unknown error" : lowerFirst(reason) }
}

const lowerFirst = (s: string): string => /^[A-Z][a-z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s

const answer = async (request: ThreadRequest): Promise<ThreadReply> => {
  try {
    switch (request.type) {
      case "open":
        return await open(request.bytes)
      case "page":
        return await readPage(request.page)
      case "close":
        return await close()
    }
  } catch (error) {
    const reply = describe(error)
    // a page's failure names the page, counted from 1 as readers do
    return request.type === "page" && reply.type === "failed" && reply.kind === "corrupt"
      ? { ...reply, reason: `page ${request.page + 1}: ${reply.reason}` }
      : reply
  }
}

parentPort?.on("message", (request: ThreadRequest) => {
  void answer(request).then((reply) => parentPort?.postMessage(reply))
})
