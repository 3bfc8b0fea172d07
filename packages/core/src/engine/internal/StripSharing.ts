/**
 * A page's line strips read by the OCR engine's own thread and its recogniser threads (RecThreads) at once: the
 * page is offered to every live thread, and each reader, this thread included, takes the next strip (widest first)
 * by the page's shared counter until none is left. The page's text is whole when every strip has been read; a
 * strip that fails fails the page, and the strips a dying thread took and did not read are read here.
 */
import type { Strip } from "./ocr/lineCrop.js"
import type { ReadPart, ReadRequest } from "./ocr/recogniser.js"
import { type RecThread, type RecThreadConfig, type RecThreadListener, startRecThread, take } from "./RecThreads.js"

/** Reads one strip on the engine's own thread. */
export type ReadHere = (strip: Strip, request: ReadRequest) => Promise<ReadonlyArray<ReadPart>>

/** The engine's strip reading. */
export interface StripSharing {
  /**
   * Reads strips; each strip's parts, in the strips' order. A strip nobody has taken yet when `signal` aborts is
   * not read.
   */
  readonly read: (
    strips: ReadonlyArray<Strip>,
    request: ReadRequest,
    signal?: AbortSignal
  ) => Promise<Array<ReadonlyArray<ReadPart>>>
  /** Resolves once every recogniser thread has loaded its model or failed to (see RecThread's `ready`). */
  readonly ready: () => Promise<void>
  /** Stops the recogniser threads. */
  readonly stop: () => Promise<void>
}

interface PageState {
  readonly strips: ReadonlyArray<Strip>
  readonly next: SharedArrayBuffer
  readonly request: ReadRequest
  readonly results: Array<ReadonlyArray<ReadPart> | undefined>
  /** The strips read, or being read, here. */
  readonly here: Set<number>
  left: number
  readonly settle: (index: number, parts: ReadonlyArray<ReadPart>) => void
  readonly fail: (error: Error) => void
}

/**
 * Starts `threads` recogniser threads (none: every strip is read here) that read with `config`; `readHere` reads a
 * strip on this thread. `onThreadDied` hears why a thread stopped reading.
 */
export const makeStripSharing = (
  threads: number,
  config: RecThreadConfig,
  readHere: ReadHere,
  onThreadDied: (reason: string) => void
): StripSharing => {
  const pages = new Map<number, PageState>()
  let nextId = 0

  /** Reads the given strips of a page here, one after another, for as long as the page is being read. */
  const readAt = async (id: number, indexes: Iterable<number>) => {
    for (const index of indexes) {
      const page = pages.get(id)
      if (page === undefined) return
      page.here.add(index)
      try {
        page.settle(index, await readHere(page.strips[index]!, page.request))
      } catch (e) {
        page.fail(e instanceof Error ? e : new Error(String(e)))
      }
    }
  }

  /** The strips this thread takes by the counter, until none is left. */
  function* taken(page: PageState) {
    for (let index = take(page); index !== undefined; index = take(page)) yield index
  }

  const listener: RecThreadListener = (reply) => {
    if (reply.type === "died") {
      onThreadDied(reply.reason)
      // what any thread took and has not given back is read here (a live thread's answer may come first: the
      // first answer counts)
      for (const [id, page] of pages) {
        const given = Math.min(page.strips.length, Atomics.load(new Int32Array(page.next), 0))
        const lost = Array.from({ length: given }, (_, i) => i)
          .filter((i) => page.results[i] === undefined && !page.here.has(i))
        void readAt(id, lost)
      }
      return
    }
    const page = pages.get(reply.page)
    if (page === undefined) return
    if (reply.type === "read") page.settle(reply.index, reply.parts)
    else page.fail(new Error(reply.reason))
  }

  const helpers: Array<RecThread> = Array.from({ length: threads }, () => startRecThread(config, listener))

  const readAllHere = async (strips: ReadonlyArray<Strip>, request: ReadRequest) => {
    const out: Array<ReadonlyArray<ReadPart>> = []
    for (const strip of strips) out.push(await readHere(strip, request))
    return out
  }

  const read: StripSharing["read"] = (strips, request, signal) => {
    const live = helpers.filter((t) => t.alive())
    if (live.length === 0 || strips.length < 2) return readAllHere(strips, request)
    const order = strips.map((_, i) => i).sort((a, b) => strips[b]!.width - strips[a]!.width)
    const id = nextId++
    const next = new SharedArrayBuffer(4)
    const shared = { id, strips: order.map((i) => strips[i]!), request, next }
    return new Promise((resolve, reject) => {
      const end = () => {
        // nobody takes another strip of it
        Atomics.store(new Int32Array(next), 0, strips.length)
        pages.delete(id)
        for (const thread of helpers) thread.withdraw(id)
      }
      const page: PageState = {
        strips: shared.strips,
        next,
        request,
        results: new Array(strips.length),
        here: new Set(),
        left: strips.length,
        settle: (index, parts) => {
          if (!pages.has(id) || page.results[index] !== undefined) return
          page.results[index] = parts
          if (--page.left > 0) return
          end()
          const out = new Array<ReadonlyArray<ReadPart>>(strips.length)
          order.forEach((i, k) => (out[i] = page.results[k]!))
          resolve(out)
        },
        fail: (error) => {
          if (!pages.has(id)) return
          end()
          reject(error)
        }
      }
      pages.set(id, page)
      signal?.addEventListener("abort", () => page.fail(new Error("the page's reading was given up")), { once: true })
      for (const thread of live) thread.offer(shared)
      void readAt(id, taken(page))
    })
  }

  return {
    read,
    ready: () => Promise.all(helpers.map((t) => t.ready())).then(() => undefined),
    stop: () => Promise.all(helpers.map((t) => t.stop())).then(() => undefined)
  }
}
