/**
 * The transport's bounds, measured on real sockets: a thousand idle subscribers connect, get their first state and
 * their job's end, within a small amount of memory each; a client that stops reading is closed 4408 instead of making
 * the server buffer its messages; shutting the transport down closes its sockets 1001. SQLite in a temp dir; the work
 * is done by a real Worker in this process running the core's test handler (pages recorded, no document work).
 */
import { Scriptorium, Worker } from "@scriptorium/core"
import { loggingHandler } from "@scriptorium/core/testing/worker-process"
import { LocalBlobStore } from "@scriptorium/storage-local"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { Context, Effect, Layer, ManagedRuntime } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Socket } from "node:net"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import WebSocket from "ws"
import { describe, expect, it } from "vitest"
import { connect, eventually, serve, type Served } from "./Sockets.js"

setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void
/** Heap and off-heap (Buffers) bytes in use after a full collection. */
const usedAfterGc = async () => {
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  const { heapUsed, external } = process.memoryUsage()
  return heapUsed + external
}

class Server extends Context.Tag("test/Server")<Server, Served>() {}

/** A fresh stack: SQLite and blobs in a temp dir, the transport on a free port, and a Worker when asked. */
const stack = (options: {
  readonly worker: boolean
  readonly maxBufferedBytes?: number
  readonly pageMs?: number
  readonly pingIntervalMs?: number
}) => {
  const dir = mkdtempSync(join(tmpdir(), "scriptorium-ws-limits-"))
  const worker = options.worker
    ? Worker.layer(loggingHandler(join(dir, "work.log"), options.pageMs ?? 0), { concurrency: 1, pollMs: 50, leaseMs: 10_000 })
    : Layer.empty
  const core = Layer.provideMerge(
    Layer.merge(Scriptorium.layer, worker),
    Layer.merge(SqliteJobStore.layer({ filename: join(dir, "jobs.db") }), LocalBlobStore.layer({ root: join(dir, "blobs") }))
  )
  const runtime = ManagedRuntime.make(
    Layer.scoped(Server, serve({ maxBufferedBytes: options.maxBufferedBytes, pingIntervalMs: options.pingIntervalMs }))
      .pipe(Layer.provideMerge(core))
  )
  const facade = <A, E>(f: (s: Scriptorium.Scriptorium) => Effect.Effect<A, E>) =>
    runtime.runPromise(Effect.flatMap(Scriptorium.Scriptorium, f))
  return { runtime, facade, served: () => runtime.runPromise(Server) }
}

describe("bounds", () => {
  it("1,000 idle sockets connect, each gets its job's state and its end; under 50 KB each, client side included", async () => {
    const { runtime, facade, served } = stack({ worker: false })
    try {
      const { url, transport } = await served()
      const jobs = await Promise.all(
        Array.from({ length: 10 }, (_, i) => facade((s) => s.submit({ filename: `idle-${i}.pdf`, content: new Uint8Array([1]) })))
      )
      const before = await usedAfterGc()
      const clients = Array.from({ length: 1_000 }, (_, i) => connect(`${url}/ws/${jobs[i % jobs.length]!.job_id}`))
      await Promise.all(clients.map((client) => client.received(1, 30_000)))
      expect(transport.connections()).toBe(1_000)
      const after = await usedAfterGc()
      // this process holds both ends of every connection: the server's share is less than this
      const perPair = (after - before) / 1_000
      expect(perPair).toBeLessThan(50 * 1024)
      expect(clients.every((c) => c.messages.length === 1 && c.messages[0]!.status === "pending")).toBe(true)

      // one change per job reaches its hundred sockets, which then close normally
      await Promise.all(jobs.map((job) => facade((s) => s.cancel(job.job_id))))
      const closes = await Promise.all(clients.map((client) => client.closed))
      expect(closes.every((c) => c.code === 1000)).toBe(true)
      expect(clients.every((c) => c.messages.map((m) => m.status).join() === "pending,cancelled")).toBe(true)
      await eventually(() => transport.connections() === 0, 5_000, "the sockets to be forgotten")
      process.stdout.write(`idle sockets: ${(perPair / 1024).toFixed(1)} KB per connection (both ends)\n`)
    } finally {
      await runtime.dispose()
    }
  })

  /**
   * A stack whose worker floods every /ws socket with `pages` messages of `kb` KB each (one job), the transport
   * closing sockets with more than `maxBufferedBytes` unsent.
   */
  const flood = async (pages: number, kb: number, maxBufferedBytes: number) => {
    // 5 ms a page: the store's feed then hands over a few events at a time, so what the server holds at any moment
    // is the transport's doing, not a large batch of events in flight
    const { runtime, facade, served } = stack({ worker: true, maxBufferedBytes, pageMs: 5 })
    const { url, transport } = await served()
    // a client that reads everything, keeping only a count and the last status
    const reader = new WebSocket(`${url}/ws`, { perMessageDeflate: false })
    const seen = { read: 0, lastStatus: "" }
    reader.on("message", (data) => {
      seen.read++
      seen.lastStatus = (JSON.parse(data.toString()) as { status: string }).status
    })
    const slow = new WebSocket(`${url}/ws`, { perMessageDeflate: false })
    await Promise.all([reader, slow].map((socket) => new Promise((resolve) => socket.once("open", resolve))))
    const slowTcp = (slow as unknown as { _socket: Socket })._socket
    slowTcp.pause() // stops reading: the kernel's buffers fill, then the server's
    expect(transport.connections()).toBe(2)
    const options = { pages, padding: "x".repeat(kb * 1024) }
    const submit = () => facade((s) => s.submit({ filename: "big.pdf", content: new Uint8Array([1]), options }))
    return { runtime, facade, transport, reader, seen, slow, slowTcp, submit }
  }

  it("a client that never reads is closed, and the server does not hold its messages", async () => {
    const pages = 600 // ~80 MB to every socket on /ws
    const { runtime, facade, transport, reader, seen, slow, submit } = await flood(pages, 128, 1024 * 1024)
    try {
      const before = await usedAfterGc()
      const job = await submit()
      // half-way (~40 MB sent), what is still held after a full collection: messages kept for the slow socket would be
      // (less what the kernel's socket buffers hold, a few MB)
      await eventually(() => seen.read >= pages / 2, 60_000, "half of the messages")
      const midway = (await usedAfterGc() - before) / 1024 / 1024
      await facade((s) => s.wait(job.job_id, { timeoutMs: 60_000 }))
      await eventually(() => seen.lastStatus === "completed", 20_000, "the reader to see the completion")

      expect(midway).toBeLessThan(16)
      expect(seen.read).toBeGreaterThanOrEqual(pages + 2)
      // the slow socket was dropped; the reader is still served
      expect(transport.connections()).toBe(1)
      const after = (await usedAfterGc() - before) / 1024 / 1024
      expect(after).toBeLessThan(4)
      process.stdout.write(
        `never-reading client: ${midway.toFixed(1)} MB held half-way through ~80 MB, ${after.toFixed(1)} MB after\n`
      )
      reader.close()
      slow.terminate()
    } finally {
      await runtime.dispose()
    }
  })

  it("a client that falls behind is closed 4408 and, reading again, is told why", async () => {
    const { runtime, transport, reader, seen, slow, slowTcp, submit } = await flood(200, 64, 256 * 1024)
    try {
      const closed = new Promise<{ code: number; reason: string }>((resolve) =>
        slow.once("close", (code, reason) => resolve({ code, reason: reason.toString() })))
      await submit()
      await eventually(() => transport.connections() === 1, 30_000, "the slow socket to be dropped")
      // dropped long before the end: the server stopped sending to it once 256 KB were waiting
      expect(seen.read).toBeLessThan(150)
      slowTcp.resume()
      expect(await closed).toEqual({ code: 4408, reason: "Too many unread messages; reconnect to get the current state." })
      reader.close()
    } finally {
      await runtime.dispose()
    }
  })

  it("a peer that stops answering pings is cut; one that answers stays", async () => {
    const { runtime, facade, served } = stack({ worker: false, pingIntervalMs: 200 })
    try {
      const { url, transport } = await served()
      const job = await facade((s) => s.submit({ filename: "pending.pdf", content: new Uint8Array([1]) }))
      const live = connect(`${url}/ws/${job.job_id}`)
      const dead = connect(`${url}/ws/${job.job_id}`)
      await Promise.all([live.received(1), dead.received(1)])
      ;(dead.socket as unknown as { _socket: Socket })._socket.pause() // a vanished peer: nothing comes back
      await eventually(() => transport.connections() === 1, 3_000, "the silent peer to be cut")
      await new Promise((resolve) => setTimeout(resolve, 600)) // three more pings
      expect(transport.connections()).toBe(1)
      expect(live.socket.readyState).toBe(WebSocket.OPEN)
      live.socket.close()
      dead.socket.terminate()
    } finally {
      await runtime.dispose()
    }
  })

  it("closing the transport closes its sockets 1001", async () => {
    const { runtime, facade, served } = stack({ worker: false })
    const { url } = await served()
    const job = await facade((s) => s.submit({ filename: "pending.pdf", content: new Uint8Array([1]) }))
    const watcher = connect(`${url}/ws/${job.job_id}`)
    const everything = connect(`${url}/ws`)
    await Promise.all([watcher.received(1), everything.opened])
    await runtime.dispose()
    expect((await watcher.closed).code).toBe(1001)
    expect((await everything.closed).code).toBe(1001)
  })
})
