/**
 * The standalone Scriptorium server, assembled from the layers of the other packages: the JobStore (SQLite in the
 * data folder, or PostgreSQL when DATABASE_URL is set), the BlobStore on the data folder, the PDF engine with its
 * admission check, the OCR engine, the Worker running the document pipeline, the HTTP API (seed 001's routes and /v1)
 * and the WebSocket status stream on the same port. `main.ts` runs it.
 */
import { HttpServerError } from "@effect/platform"
import {
  DocumentHandler,
  type OcrEngine,
  OcrThreads,
  PdfAdmission,
  PdfEngine,
  Scriptorium,
  Webhooks,
  Worker
} from "@scriptorium/core"
import { LocalBlobStore } from "@scriptorium/storage-local"
import { PgJobStore } from "@scriptorium/store-pg"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { Mount } from "@scriptorium/transport-ws"
import { Console, Effect, Layer } from "effect"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import type { ServerConfig } from "./Config.js"

export * as Config from "./Config.js"
export type { ServerConfig } from "./Config.js"

/** The jobs and their files: SQLite (or PostgreSQL) and the blobs folder, under the data folder. */
export const storageLayer = (config: ServerConfig) =>
  Layer.merge(
    config.databaseUrl === undefined
      ? SqliteJobStore.layerWithWebhooks({ filename: join(config.dataDir, "jobs.db") })
      : PgJobStore.layerWithWebhooks({ url: config.databaseUrl }),
    LocalBlobStore.layer({ root: join(config.dataDir, "blobs") })
  )

/**
 * The OCR engines, in worker threads so that reading a page never holds the event loop; each reads two pages at once,
 * so its line threads read one page's lines while it detects the next.
 */
const ocrLayer = (config: ServerConfig): Layer.Layer<OcrEngine.OcrEngine> =>
  OcrThreads.layer({ threads: config.ocrThreads, lineThreads: config.ocrLineThreads, maxConcurrentPages: 2 })

/** The facade with the PDF admission check, and (unless WORKER_CONCURRENCY is 0) a Worker running the pipeline. */
export const coreLayer = (config: ServerConfig) => {
  const worker = config.workerConcurrency === 0 ? Layer.empty : Worker.layer(DocumentHandler.handler, {
    concurrency: config.workerConcurrency,
    leaseMs: config.leaseMs,
    jobTimeoutMs: config.jobTimeoutMs,
    shutdownGraceMs: config.shutdownGraceMs
  })
  // every server process may run the webhook dispatcher: deliveries are claimed under a lease, so none is sent twice
  const webhooks = Webhooks.layer({ secret: config.webhookSecret, allowedHosts: config.webhookAllowedHosts })
  return Layer.mergeAll(Scriptorium.layer, worker, webhooks).pipe(
    Layer.provideMerge(PdfAdmission.layer()),
    Layer.provideMerge(Layer.mergeAll(storageLayer(config), PdfEngine.layer(), ocrLayer(config)))
  )
}

/** The whole server: the HTTP API on HOST:PORT over the core; prints one line once it listens. */
export const layer = (config: ServerConfig) =>
  Layer.scopedDiscard(Effect.gen(function*() {
    // one node server for both transports, through the same mount an application uses: requests go to the HTTP API,
    // upgrades to the WebSocket status stream (@effect/platform's own server would answer upgrades itself)
    const mounted = yield* Mount.make({
      authToken: config.authToken,
      maxUploadBytes: config.maxUploadBytes,
      fileUrlAllowedHosts: config.fileUrlAllowedHosts,
      syncMaxPages: config.syncMaxPages,
      syncWaitMs: config.syncWaitMs,
      webhookAllowedHosts: config.webhookAllowedHosts
    })
    const server = createServer((req, res) => mounted.handler(req, res))
    server.on("upgrade", (req, socket, head) => mounted.upgrade(req, socket, head))
    const port = yield* listen(server, config)
    yield* Console.log(`Scriptorium listening on http://${config.host}:${port} (data: ${config.dataDir})`)
  })).pipe(Layer.provide(coreLayer(config)))

/** Listens until the scope closes (then stops accepting and closes idle connections); the port it got. */
const listen = (server: Server, config: ServerConfig) =>
  Effect.acquireRelease(
    Effect.async<number, HttpServerError.ServeError>((resume) => {
      const onError = (cause: unknown) => resume(Effect.fail(new HttpServerError.ServeError({ cause })))
      server.once("error", onError)
      server.listen(config.port, config.host, () => {
        server.off("error", onError)
        resume(Effect.succeed((server.address() as AddressInfo).port))
      })
    }),
    () =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeIdleConnections()
      })
  )
