/**
 * A real Scriptorium server for the client's tests, in this process on a free port: SQLite and a local blob folder
 * in a temp dir, a real Worker, and the HTTP API (HttpTransport.layer), optionally with the WebSocket transport.
 *
 * The worker runs core's scenario handler (`@scriptorium/core/testing`): the real document pipeline, except for files
 * whose name asks for another course. Here `hold-*` stays processing (page 1 of 5 done) until cancelled, `fail-*`
 * fails, and `slow-*` processes `slowPages` pages 300 ms apart without the pipeline. That gives every state a client
 * can meet, on demand.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Scriptorium } from "@scriptorium/core"
import { makeScenarioHandler, scenarioEngine } from "@scriptorium/core/testing"
import { LocalBlobStore } from "@scriptorium/storage-local"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { HttpTransport, type HttpTransportConfig } from "@scriptorium/transport-http"
import { WsTransport } from "@scriptorium/transport-ws"
import { Effect, Layer, ManagedRuntime } from "effect"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** The shared corpus of test documents. */
export const corpus = join(import.meta.dirname, "../../../../shared/corpus")
/** A born-digital paper of 5 pages. */
export const paper = new Uint8Array(readFileSync(join(corpus, "pdfs-digital/docling_multi_page.pdf")))

/** Pages of a `slow-*` job. */
export const slowPages = 4

const scenarios = makeScenarioHandler({ slow: { _tag: "PacedPages", pages: slowPages, pageMs: 300 } })

/** How to start the test server. */
export interface TestServerOptions {
  /** Require `Authorization: Bearer <token>`. */
  readonly token?: string
  /** Also serve `WS /ws/{job_id}` (the WebSocket transport) on the same port. */
  readonly webSocket?: boolean
  /** Hosts (`host:port`) whose `file_url` the server fetches. */
  readonly fileUrlAllowedHosts?: ReadonlyArray<string>
}

/** A running test server. */
export interface TestServer {
  readonly baseUrl: string
  /** The HTTP requests (not upgrades) the server has received so far, as `METHOD path`. */
  readonly requests: ReadonlyArray<string>
  /** Runs `use` on the server's own facade, as another part of the server would (e.g. to cancel a job). */
  readonly facade: <A, E>(use: (scriptorium: Scriptorium.Scriptorium) => Effect.Effect<A, E>) => Promise<A>
  /** The WebSocket transport's open sockets (0 without it). */
  readonly sockets: () => number
  readonly close: () => Promise<void>
}

/** Starts a server on a free port of 127.0.0.1. */
export const startServer = async (options: TestServerOptions = {}): Promise<TestServer> => {
  const dataDir = mkdtempSync(join(tmpdir(), "scriptorium-client-"))
  const requests: Array<string> = []
  let server: Server | undefined
  let sockets = () => 0
  const record = (created: Server) => {
    created.on("request", (request) => requests.push(`${request.method} ${request.url}`))
    server = created
    return created
  }
  const core = scenarioEngine(
    Layer.merge(
      SqliteJobStore.layer({ filename: join(dataDir, "jobs.db") }),
      LocalBlobStore.layer({ root: join(dataDir, "blobs") })
    ),
    scenarios.handler
  )
  const config: HttpTransportConfig = {
    authToken: options.token,
    fileUrlAllowedHosts: options.fileUrlAllowedHosts
  }
  const http = options.webSocket === true
    ? Layer.scopedDiscard(
      Effect.map(mountBoth(config, record), (transport) => sockets = transport.connections)
    )
    : HttpTransport.layer(config).pipe(
      Layer.provideMerge(NodeHttpServer.layer(() => record(createServer()), { port: 0, host: "127.0.0.1" }))
    )
  const runtime = ManagedRuntime.make(http.pipe(Layer.provideMerge(core)))
  await runtime.runPromise(Effect.void)
  if (server === undefined) throw new Error("the HTTP server was not created")
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    sockets: () => sockets(),
    facade: (use) => runtime.runPromise(Effect.flatMap(Scriptorium.Scriptorium, use)),
    close: async () => {
      await runtime.dispose()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

/**
 * The HTTP API as a node handler and the WebSocket transport on the same node:http server, as an application that
 * mounts Scriptorium does; listening on a free port until the scope closes.
 */
const mountBoth = (config: HttpTransportConfig, record: (server: Server) => Server) =>
  Effect.gen(function*() {
    const handle = yield* HttpTransport.makeNodeHandler(config)
    const server = record(createServer(handle))
    const transport = yield* WsTransport.attach(server, { authToken: config.authToken })
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.void))
      }),
      () =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    )
    return transport
  })

/** Waits `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
