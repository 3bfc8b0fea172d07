/**
 * The API process of the WebSocket benchmark (`ws.ts` forks it with `--expose-gc`): the Scriptorium facade over the
 * store (SQLite file or PostgreSQL URL) and local blobs, the WebSocket transport on a node:http server on a free port
 * of 127.0.0.1, and NO worker: every change its sockets report is made by another process. Submits jobs and reports
 * its memory (after a full collection) when the parent asks, over the IPC channel. Not meant to be run by hand.
 */
import { Scriptorium } from "@scriptorium/core"
import { LocalBlobStore } from "@scriptorium/storage-local"
import { PgJobStore } from "@scriptorium/store-pg"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { WsTransport } from "@scriptorium/transport-ws"
import { Context, Effect, Layer, ManagedRuntime, Stream } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"

/** What the parent sends. */
export type ToWsServer =
  | { readonly type: "submit"; readonly jobs: number; readonly pages: number }
  | { readonly type: "memory" }
  | { readonly type: "feedLags" }
  | { readonly type: "stop" }

/** What the server answers. */
export type FromWsServer =
  | { readonly type: "ready"; readonly port: number }
  | { readonly type: "submitted"; readonly ids: ReadonlyArray<string> }
  | {
    readonly type: "memory"
    readonly rss: number
    readonly heapUsed: number
    readonly external: number
    readonly connections: number
  }
  | { readonly type: "feedLags"; readonly lags: ReadonlyArray<number> }
  | { readonly type: "error"; readonly message: string }

/** The environment the server reads. */
export interface WsServerEnv {
  /** A SQLite file, or a postgres:// URL. */
  readonly BENCH_DATABASE: string
  readonly BENCH_BLOBS: string
}

const send = (message: FromWsServer) => process.send?.(message)

class Listening extends Context.Tag("bench/Listening")<
  Listening,
  { readonly port: number; readonly transport: WsTransport.WsTransport }
>() {}

const env = process.env as unknown as WsServerEnv
const store = env.BENCH_DATABASE.startsWith("postgres")
  ? PgJobStore.layer({ url: env.BENCH_DATABASE, maxConnections: 4 })
  : SqliteJobStore.layer({ filename: env.BENCH_DATABASE })
const core = Layer.provideMerge(Scriptorium.layer, Layer.merge(store, LocalBlobStore.layer({ root: env.BENCH_BLOBS })))

const listening = Effect.gen(function*() {
  const server = createServer((_req, res) => {
    res.statusCode = 404
    res.end()
  })
  yield* Effect.acquireRelease(
    Effect.async<void>((resume) => {
      server.listen(0, "127.0.0.1", () => resume(Effect.void))
    }),
    () => Effect.sync(() => server.close())
  )
  const transport = yield* WsTransport.attach(server)
  return { port: (server.address() as AddressInfo).port, transport }
})

const runtime = ManagedRuntime.make(Layer.scoped(Listening, listening).pipe(Layer.provideMerge(core)))
const gc = (globalThis as { gc?: () => void }).gc

const memory = async (connections: number): Promise<FromWsServer> => {
  for (let i = 0; i < 3; i++) {
    gc?.()
    await new Promise((resolve) => setImmediate(resolve))
  }
  const { rss, heapUsed, external } = process.memoryUsage()
  return { type: "memory", rss, heapUsed, external, connections }
}

const submit = (jobs: number, pages: number) =>
  runtime.runPromise(Effect.flatMap(Scriptorium.Scriptorium, (s) =>
    Effect.forEach(
      Array.from({ length: jobs }, (_, i) => i),
      (i) =>
        Effect.map(
          s.submit({ filename: `ws-bench-${i}.pdf`, content: new Uint8Array([1]), options: { pages } }),
          (job) => job.job_id
        )
    )))

/**
 * How long each change took to reach this process through the store's change feed (arrival minus `updated_at`),
 * read from a subscription of its own: the part of the sockets' latency that is the store's.
 */
const feedLags: Array<number> = []
const followFeed = Effect.flatMap(Scriptorium.Scriptorium, (s) =>
  Stream.runForEach(s.changes(), (job) => Effect.sync(() => feedLags.push(Date.now() - job.updated_at.getTime()))))

const main = async () => {
  const { port, transport } = await runtime.runPromise(Listening)
  runtime.runFork(followFeed)
  process.on("message", (message: ToWsServer) => {
    const reply = message.type === "submit"
      ? submit(message.jobs, message.pages).then((ids): FromWsServer => ({ type: "submitted", ids }))
      : message.type === "memory"
      ? memory(transport.connections())
      : message.type === "feedLags"
      ? Promise.resolve<FromWsServer>({ type: "feedLags", lags: feedLags })
      : runtime.dispose().then(() => process.exit(0))
    reply.then((answer) => answer && send(answer), (error: unknown) => send({ type: "error", message: String(error) }))
  })
  send({ type: "ready", port })
}

// an orphan (the parent died) must not keep running
process.on("disconnect", () => process.exit(0))

main().catch((error: unknown) => {
  send({ type: "error", message: error instanceof Error ? error.stack ?? error.message : String(error) })
  process.exit(1)
})
