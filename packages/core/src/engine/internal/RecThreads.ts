/**
 * Recogniser threads: worker threads holding only the recognition model, to which the OCR engine hands part of a
 * page's line strips, so one page's lines are read on several cores at once (`OcrEngineConfig.lineThreads`). Reading
 * is ~80% of a page's time and its strips are independent, so a page read on two threads takes about 0.6 of the
 * time on one. A thread holds one model and the buffers of a line (about 100 MB), not a page's.
 *
 * onnxruntime aborts the whole process when a thread is torn down while it creates a session, so `stop` waits for
 * the model to load first. A thread that dies fails the strips it held (the engine reads them itself) and is not used
 * again.
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

/** The messages to and from a recogniser thread. */
export type RecThreadRequest = { readonly id: number; readonly strips: ReadonlyArray<Strip>; readonly request: ReadRequest }
export type RecThreadReply =
  | { readonly type: "ready" }
  | { readonly type: "loadFailed"; readonly reason: string }
  | { readonly id: number; readonly type: "done"; readonly parts: ReadonlyArray<ReadonlyArray<ReadPart>> }
  | { readonly id: number; readonly type: "failed"; readonly reason: string }

/** A recogniser thread. */
export interface RecThread {
  /** Reads strips; each strip's parts, in the strips' order. Rejects when the thread fails or has failed. */
  readonly read: (strips: ReadonlyArray<Strip>, request: ReadRequest) => Promise<ReadonlyArray<ReadonlyArray<ReadPart>>>
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

/** Where the thread script is (the built file, also when this module runs from its TypeScript source in tests). */
const script = (): URL =>
  import.meta.url.endsWith(".ts")
    ? new URL("../../../dist/engine/internal/recThread.js", import.meta.url)
    : new URL("./recThread.js", import.meta.url)

/** Starts a recogniser thread; it loads its model as it starts, and requests wait in it until it has. */
export const startRecThread = (config: RecThreadConfig): RecThread => {
  const worker = new Worker(script(), { workerData: config })
  const pending = new Map<number, { resolve: (parts: ReadonlyArray<ReadonlyArray<ReadPart>>) => void; reject: (e: Error) => void }>()
  let next = 0
  let alive = true
  let settled = false
  let loaded: () => void = () => {}
  const whenLoaded = new Promise<void>((resolve) => (loaded = resolve))
  const fail = (reason: string) => {
    alive = false
    for (const { reject } of pending.values()) reject(new Error(reason))
    pending.clear()
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
    const waiting = pending.get(reply.id)
    pending.delete(reply.id)
    if (pending.size === 0) worker.unref()
    if (waiting === undefined) return
    if (reply.type === "done") waiting.resolve(reply.parts)
    else waiting.reject(new Error(reply.reason))
  })
  worker.on("error", (error) => fail(`the recogniser thread failed: ${error.message}`))
  worker.on("exit", (code) => fail(`the recogniser thread stopped (exit code ${code})`))
  // the thread keeps the process alive only while it has strips to read
  worker.unref()
  return {
    read: (strips, request) =>
      new Promise((resolve, reject) => {
        if (!alive) return reject(new Error("the recogniser thread has stopped"))
        const id = next++
        pending.set(id, { resolve, reject })
        worker.ref()
        worker.postMessage({ id, strips, request } satisfies RecThreadRequest)
      }),
    alive: () => alive,
    ready: () => whenLoaded,
    stop: async () => {
      if (!settled) await whenLoaded
      alive = false
      await worker.terminate()
    }
  }
}

/**
 * Strips shared out among `count` readers so each has about the same work: widest first, each to the reader with
 * the least so far (a strip's cost grows with its width). Indexes into `widths`; share 0 is the caller's own.
 */
export const shares = (widths: ReadonlyArray<number>, count: number): Array<Array<number>> => {
  const groups = Array.from({ length: count }, () => [] as Array<number>)
  const load = new Array<number>(count).fill(0)
  const widest = widths.map((_, i) => i).sort((a, b) => widths[b]! - widths[a]!)
  for (const i of widest) {
    const least = load.indexOf(Math.min(...load))
    groups[least]!.push(i)
    load[least]! += widths[i]!
  }
  return groups
}
