/**
 * BodyBuffers: the buffers upload bodies are collected into, kept and reused from one upload to the next. A fresh
 * 1 MB buffer per upload is costly twice over: its pages are faulted in as the body is copied into it, and V8 counts
 * it as external memory, which brings on full garbage collections (measured: about 3 ms of GC threads' CPU per 1 MB
 * upload under load, more than the rest of the upload's work). A body buffer lives exactly as long as its upload's
 * submission, which ends before the buffer goes back (the file is written and fsynced, the admission check has read
 * or copied it), so nothing can see it change.
 *
 * Bounded: buffers over `maxBufferBytes` are not kept, and no more than `maxPooledBytes` wait in all.
 */

/** A pool of body buffers. */
export interface BodyBuffers {
  /** A buffer of exactly `size` bytes, uninitialised: a kept one when one is large enough. */
  readonly take: (size: number) => Buffer
  /** Gives a buffer from `take` back; it must not be used after. */
  readonly give: (buffer: Buffer) => void
}

/** How much the pool keeps. */
export interface BodyBuffersConfig {
  /** The largest buffer kept; larger bodies get a buffer of their own. Default 8 MB. */
  readonly maxBufferBytes?: number | undefined
  /** The most bytes kept waiting in all. Default 64 MB. */
  readonly maxPooledBytes?: number | undefined
}

/** Capacities are powers of two from 64 KiB, so a buffer serves every body up to its size. */
const capacityFor = (size: number): number => Math.max(64 * 1024, 2 ** Math.ceil(Math.log2(Math.max(1, size))))

/** A new pool. */
export const make = (config: BodyBuffersConfig = {}): BodyBuffers => {
  const maxBuffer = config.maxBufferBytes ?? 8 * 1024 * 1024
  const maxPooled = config.maxPooledBytes ?? 64 * 1024 * 1024
  // by capacity: the free ArrayBuffers of that capacity
  const free = new Map<number, Array<ArrayBuffer>>()
  let pooled = 0
  return {
    take: (size) => {
      if (size > maxBuffer) return Buffer.allocUnsafeSlow(size)
      const capacity = capacityFor(size)
      const kept = free.get(capacity)?.pop()
      if (kept !== undefined) pooled -= capacity
      return Buffer.from(kept ?? new ArrayBuffer(capacity), 0, size)
    },
    give: (buffer) => {
      const backing = buffer.buffer
      const capacity = backing.byteLength
      // only whole buffers of a pooled capacity, never a slice of Node's shared pool
      if (!(backing instanceof ArrayBuffer) || buffer.byteOffset !== 0 || capacity > maxBuffer) return
      if (capacity !== capacityFor(capacity) || pooled + capacity > maxPooled) return
      const list = free.get(capacity) ?? []
      list.push(backing)
      free.set(capacity, list)
      pooled += capacity
    }
  }
}
