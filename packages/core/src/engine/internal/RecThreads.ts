/**
 * Recogniser threads: worker threads holding only the recognition model, which read a page's line strips alongside
 * the OCR engine's own thread (`OcrEngineConfig.lineThreads`), so one page's lines are read on several cores at
 * once. Reading is most of a page's time and its strips are independent.
 *
 * Every reader takes the page's next strip when it has finished one, by an atomic counter the page shares with the
 * threads, widest strips first (the longest jobs first leave the least idle time at the page's end). The threads
 * take strips by themselves: the engine's thread runs models synchronously (a page's detection takes up to half a
 * second) and could not hand them the next one meanwhile. Sharing a page's strips out once, in halves, left one
 * reader idle while the other still had strips. A thread holds one model and the buffers of a line (about 100 MB),
 * and a copy of the strips of the pages in flight.
 *
 * onnxruntime aborts the whole process when a thread is torn down while it creates a session, so `stop` waits for
 * the model to load first. A thread that dies is not used again; the strips it took and did not read are read by the
 * engine's thread.
 */
import { Worker } from "node:worker_threads"
import type { Strip } from "./ocr/lineCrop.js"
import type { ReadPart, ReadRequest, ReadSettings } from "./ocr/recogniser.js"

/** What a recogniser thread loads. */
export interface RecThreadConfig {
  /** The recognition model as the engine loads it (ocr/modelSession's `modelSource`: rewritten once, shared). */
  readonly recModel: string | Uint8Array
  readonly dictionaryPath: string
  readonly settings: ReadSettings
}

/** A page's strips, in the order they are taken, and the counter readers take them by (the next index). */
export interface SharedPage {
  readonly id: number
  readonly strips: ReadonlyArray<Strip>
  readonly request: ReadRequest
  /** One Int32: the index of the next strip to take. */
  readonly next: SharedArrayBuffer
}

/** The messages to and from a recogniser thread. */
export type RecThreadRequest = { readonly type: "page"; readonly page: SharedPage }
export type RecThreadReply =
  | { readonly type: "ready" }
  | { readonly type: "loadFailed"; readonly reason: string }
  | { readonly type: "read"; readonly page: number; readonly index: number; readonly parts: ReadonlyArray<ReadPart> }
  | { readonly type: "failed"; readonly page: number; readonly index: number; readonly reason: string }

/** Takes a page's next strip: its index, or undefined when every strip has been taken. */
export const take = (page: Pick<SharedPage, "strips" | "next">): number | undefined => {
  const index = Atomics.add(new Int32Array(page.next), 0, 1)
  return index < page.strips.length ? index : undefined
}

/** A recogniser thread. */
export interface RecThread {
  /** Lets the thread take strips of `page`; what it reads or fails to read comes back to `listener`. */
  readonly offer: (page: SharedPage) => void
  /** Says the page is done with (read, failed or given up): the thread no longer keeps the process alive for it. */
  readonly withdraw: (page: number) => void
  /** Whether it can still read. */
  readonly alive: () => boolean
  /**
   * Resolves once the thread has loaded its model or failed to (then `alive` is false). Until then, tearing down
   * the thread that started it (an OCR thread being stopped) would tear this one down mid-load, which onnxruntime
   * answers by aborting the process: wait for it before saying the engine is built.
   */
  readonly ready: () => Promise<void>
  /** Stops the thread (once its model has loaded). */
  readonly stop: () => Promise<void>
}

/** What a recogniser thread reports: a strip read or failed, or its own death (`reason`). */
export type RecThreadListener = (
  reply: Extract<RecThreadReply, { type: "read" | "failed" }> | { readonly type: "died"; readonly reason: string }
) => void

/** Where the thread script is (the built file, also when this module runs from its TypeScript source in tests). */
const script = (): URL =>
  import.meta.url.endsWith(".ts")
    ? new URL("../../../dist/engine/internal/recThread.js", import.meta.url)
    : new URL("./recThread.js", import.meta.url)

/** Starts a recogniser thread; it loads its model as it starts, and the pages offered wait in it until it has. */
export const startRecThread = (config: RecThreadConfig, listener: RecThreadListener): RecThread => {
  const worker = new Worker(script(), { workerData: config })
  let alive = true
  let settled = false
  let loaded: () => void = () => {}
  const whenLoaded = new Promise<void>((resolve) => (loaded = resolve))
  const fail = (reason: string) => {
    if (alive) {
      alive = false
      listener({ type: "died", reason })
    }
    loaded()
  }
  worker.on("message", (reply: RecThreadReply) => {
    if (reply.type === "ready") {
      settled = true
      return loaded()
    }
    if (reply.type === "loadFailed") {
      settled = true
      return fail(`the recogniser thread could not load its model: ${reply.reason}`)
    }
    listener(reply)
  })
  worker.on("error", (error) => fail(`the recogniser thread failed: ${error.message}`))
  worker.on("exit", (code) => fail(`the recogniser thread stopped (exit code ${code})`))
  // the thread keeps the process alive only while pages offered to it are being read
  const offered = new Set<number>()
  worker.unref()
  return {
    offer: (page) => {
      if (!alive) return
      offered.add(page.id)
      worker.ref()
      worker.postMessage({ type: "page", page } satisfies RecThreadRequest)
    },
    withdraw: (page) => {
      offered.delete(page)
      if (offered.size === 0) worker.unref()
    },
    alive: () => alive,
    ready: () => whenLoaded,
    stop: async () => {
      if (!settled) await whenLoaded
      alive = false
      await worker.terminate()
    }
  }
}
