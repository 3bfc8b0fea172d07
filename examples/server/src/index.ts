/**
 * The standalone Scriptorium server, assembled from the layers of the other packages: the JobStore (SQLite in the
 * data folder, or PostgreSQL when DATABASE_URL is set), the BlobStore on the data folder, the PDF engine with its
 * admission check, the OCR engine, the Worker running the document pipeline, and the HTTP API of seed 001. `main.ts` runs it.
 */
import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { DocumentHandler, type OcrEngine, OcrThreads, PdfAdmission, PdfEngine, Scriptorium, Worker } from "@scriptorium/core"
import { LocalBlobStore } from "@scriptorium/storage-local"
import { PgJobStore } from "@scriptorium/store-pg"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { HttpTransport } from "@scriptorium/transport-http"
import { Console, Effect, Layer } from "effect"
import { createServer } from "node:http"
import { join } from "node:path"
import type { ServerConfig } from "./Config.js"

export * as Config from "./Config.js"
export type { ServerConfig } from "./Config.js"

/** The jobs and their files: SQLite (or PostgreSQL) and the blobs folder, under the data folder. */
export const storageLayer = (config: ServerConfig) =>
  Layer.merge(
    config.databaseUrl === undefined
      ? SqliteJobStore.layer({ filename: join(config.dataDir, "jobs.db") })
      : PgJobStore.layer({ url: config.databaseUrl }),
    LocalBlobStore.layer({ root: join(config.dataDir, "blobs") })
  )

/** The OCR engines, in worker threads so that reading a page never holds the event loop. */
const ocrLayer = (config: ServerConfig): Layer.Layer<OcrEngine.OcrEngine> => OcrThreads.layer({ threads: config.ocrThreads })

/** The facade with the PDF admission check, and (unless WORKER_CONCURRENCY is 0) a Worker running the pipeline. */
export const coreLayer = (config: ServerConfig) => {
  const worker = config.workerConcurrency === 0 ? Layer.empty : Worker.layer(DocumentHandler.handler, {
    concurrency: config.workerConcurrency,
    leaseMs: config.leaseMs,
    jobTimeoutMs: config.jobTimeoutMs,
    shutdownGraceMs: config.shutdownGraceMs
  })
  return Layer.merge(Scriptorium.layer, worker).pipe(
    Layer.provideMerge(PdfAdmission.layer()),
    Layer.provideMerge(Layer.mergeAll(storageLayer(config), PdfEngine.layer(), ocrLayer(config)))
  )
}

/** The whole server: the HTTP API on HOST:PORT over the core; prints one line once it listens. */
export const layer = (config: ServerConfig) => {
  const http = HttpTransport.layer({ authToken: config.authToken, maxUploadBytes: config.maxUploadBytes })
  const announce = Layer.effectDiscard(Effect.gen(function*() {
    const { address } = yield* HttpServer.HttpServer
    const port = address._tag === "TcpAddress" ? address.port : config.port
    yield* Console.log(`Scriptorium listening on http://${config.host}:${port} (data: ${config.dataDir})`)
  }))
  return announce.pipe(
    // the line is printed once the API is attached to the server
    Layer.provide(http),
    Layer.provide(NodeHttpServer.layer(createServer, { port: config.port, host: config.host })),
    Layer.provide(coreLayer(config))
  )
}
