/**
 * OcrThreads: the OcrEngine run in worker threads, one engine (its own onnxruntime sessions) per thread, behind the
 * same `OcrEngine` interface. onnxruntime-node runs a model synchronously on the calling thread, so an in-process
 * engine (`OcrEngine.layer`) holds the event loop for the whole of each model run (up to 0.7 s for a page's
 * detection): HTTP requests, heartbeats and the change feed wait meanwhile. In threads they don't, and two threads
 * read two pages at once on two cores (an in-process engine cannot: its runs are serial on the one thread).
 *
 * Each thread reads up to `maxConcurrentPages` pages at once, and a page goes to the least busy thread or waits for
 * room. The image is copied to the thread (the caller keeps its pixels). A thread that dies (out of memory, a crash
 * in the runtime) fails the pages it was reading with an OcrRuntimeError and is replaced on the next request; the
 * models load again then. Memory: each thread holds its own models and buffers (about 0.7 to 0.85 GB while reading
 * two pages with a line thread), so choose `threads` with that in mind.
 */
import { Deferred, Effect, Layer, type Scope } from "effect"
import { Worker } from "node:worker_threads"
import {
  InvalidImage,
  type OcrEngine,
  OcrEngine as OcrEngineTag,
  type OcrEngineConfig,
  type OcrError,
  type OcrLineText,
  type OcrPage,
  OcrRuntimeError,
  type RawImage,
  type RecognizeOptions
} from "./OcrEngine.js"
import type { OcrThreadError, OcrThreadReply, OcrThreadRequest } from "./internal/OcrThreadProtocol.js"

/** How the threads are run; the rest is each thread's engine configuration. */
export interface OcrThreadsConfig extends OcrEngineConfig {
  /**
   * Threads, each with an engine of its own (default 1). Each thread reads up to `maxConcurrentPages` pages at once
   * (default 1); with `lineThreads` 2, two pages at once keep both cores busy while the engine detects a page.
   */
  readonly threads?: number | undefined
  /** The compiled thread script; default `internal/ocrThread.js` next to this module. */
  readonly threadScript?: URL | undefined
}

/** Where the thread script is (the built file, also when this module runs from its TypeScript source in tests). */
export const threadScript = (): URL =>
  import.meta.url.endsWith(".ts")
    ? new URL("../../dist/engine/internal/ocrThread.js", import.meta.url)
    : new URL("./internal/ocrThread.js", import.meta.url)

interface Thread {
  readonly ask: (request: Omit<OcrThreadRequest, "id">) => Effect.Effect<OcrPage | OcrLineText, OcrError>
  readonly alive: () => boolean
  readonly stop: Effect.Effect<void>
}

const fromThread = (error: OcrThreadError): OcrError =>
  error._tag === "InvalidImage"
    ? new InvalidImage({ reason: error.reason })
    : new OcrRuntimeError({ stage: error.stage, reason: error.reason })

/** How long stopping waits for a thread to finish its model call. */
const STOP_WAIT_MS = 60_000

/** Starts one thread; its engine builds as it starts, and requests queue in the thread until it has. */
const startThread = (script: URL, config: OcrEngineConfig): Thread => {
  const { threadScript: _, threads: __, ...engineConfig } = config as OcrThreadsConfig
  const worker = new Worker(script, { workerData: engineConfig })
  const pending = new Map<number, Deferred.Deferred<OcrPage | OcrLineText, OcrError>>()
  let next = 0
  let alive = true
  let ready = false
  // requests the thread has not answered yet, including those whose caller stopped waiting
  let inFlight = 0
  const quiet: Array<() => void> = []
  const checkQuiet = () => {
    if ((ready && inFlight === 0) || !alive) for (const resolve of quiet.splice(0)) resolve()
  }
  const failAll = (reason: string) => {
    alive = false
    for (const deferred of pending.values()) {
      Deferred.unsafeDone(deferred, Effect.fail(new OcrRuntimeError({ stage: "running OCR in its thread", reason })))
    }
    pending.clear()
    checkQuiet()
  }
  worker.on("message", (reply: OcrThreadReply) => {
    if (reply.type === "ready") {
      ready = true
      return checkQuiet()
    }
    inFlight--
    checkQuiet()
    const deferred = pending.get(reply.id)
    if (deferred === undefined) return
    pending.delete(reply.id)
    Deferred.unsafeDone(deferred, reply.type === "done" ? Effect.succeed(reply.value) : Effect.fail(fromThread(reply.error)))
  })
  worker.on("error", (error) => failAll(`the thread failed: ${error.message}`))
  worker.on("exit", (code) => failAll(`the thread stopped (exit code ${code})`))
  // the thread keeps the process alive only while it has work (a waiting caller must not see the process exit)
  worker.unref()
  const settle = () => pending.size === 0 && worker.unref()
  return {
    ask: (request) =>
      Effect.flatMap(Deferred.make<OcrPage | OcrLineText, OcrError>(), (deferred) => {
        if (!alive) return Effect.fail(new OcrRuntimeError({ stage: "running OCR in its thread", reason: "it stopped" }))
        const id = next++
        pending.set(id, deferred)
        worker.ref()
        inFlight++
        worker.postMessage({ ...request, id } satisfies OcrThreadRequest)
        // an interrupted caller stops waiting; the thread finishes the page and its answer is dropped
        return Deferred.await(deferred).pipe(
          Effect.ensuring(Effect.sync(() => {
            pending.delete(id)
            settle()
          }))
        )
      }),
    alive: () => alive,
    // onnxruntime aborts the process when a thread is torn down inside a model call (loading or running): wait until
    // the thread is quiet, at most STOP_WAIT_MS (a page takes seconds)
    stop: Effect.promise(async () => {
      await Promise.race([
        new Promise<void>((resolve) => {
          quiet.push(resolve)
          checkQuiet()
        }),
        new Promise<void>((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref())
      ])
      await worker.terminate()
    })
  }
}

/** Builds the engine: starts the threads (their models load in the background); they stop with the scope. */
export const make = (config: OcrThreadsConfig = {}): Effect.Effect<OcrEngine, never, Scope.Scope> =>
  Effect.gen(function*() {
    const script = config.threadScript ?? threadScript()
    const count = Math.max(1, Math.floor(config.threads ?? 1))
    const perThread = Math.max(1, Math.floor(config.maxConcurrentPages ?? 1))
    // each thread with the pages it is reading
    const threads = Array.from({ length: count }, () => ({ thread: startThread(script, config), pages: 0 }))
    yield* Effect.addFinalizer(() => Effect.forEach(threads, (t) => t.thread.stop, { discard: true }))
    const slots = yield* Effect.makeSemaphore(count * perThread)
    const withThread = <A>(use: (thread: Thread) => Effect.Effect<A, OcrError>) =>
      slots.withPermits(1)(
        Effect.acquireUseRelease(
          Effect.sync(() => {
            // the least busy thread (one that has room: the permits say there is one); a dead one is replaced
            const slot = threads.reduce((a, b) => (b.pages < a.pages ? b : a))
            if (!slot.thread.alive()) slot.thread = startThread(script, config)
            slot.pages++
            return slot
          }),
          (slot) => use(slot.thread),
          (slot) => Effect.sync(() => void slot.pages--)
        )
      )
    const recognize = (image: RawImage, options?: RecognizeOptions) =>
      withThread((t) => t.ask({ type: "page", image, options }) as Effect.Effect<OcrPage, OcrError>)
    const recognizeLine = (image: RawImage, options?: RecognizeOptions) =>
      withThread((t) => t.ask({ type: "line", image, options }) as Effect.Effect<OcrLineText, OcrError>)
    return OcrEngineTag.of({ recognize, recognizeLine })
  })

/** The threaded engine as a layer (provides `OcrEngine`). */
export const layer = (config: OcrThreadsConfig = {}): Layer.Layer<OcrEngine> => Layer.scoped(OcrEngineTag, make(config))
