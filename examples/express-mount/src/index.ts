/**
 * Scriptorium inside an existing Express 5 app: the app keeps its own routes (here `GET /hello`), and the whole
 * Scriptorium API (seed routes, /v1, OpenAPI and docs, the WebSocket status stream) lives under `/ocr`, from one call
 * to `Mount.toNodeMount`. The engine is the standalone server's (`coreLayer`): SQLite and files in a data folder, the
 * PDF admission check, and a Worker in this process.
 *
 * Two hooks, and that is all the app learns of it:
 * - `app.use(ocr.handler)`, with no path: the handler checks the prefix itself and calls `next()` for the app's
 *   other requests (so mount it before the app's 404 handler);
 * - `server.on("upgrade", ocr.upgrade)`: Express does not see WebSocket upgrades, the node server does.
 *
 * `main.ts` runs it.
 */
import { Config, coreLayer } from "@scriptorium/example-server"
import { Mount, type NodeMount } from "@scriptorium/transport-ws"
import { Either } from "effect"
import express, { type Express } from "express"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"

/** The app's own routes, with Scriptorium mounted among them. */
export const createApp = (ocr: NodeMount): Express => {
  const app = express()
  app.get("/hello", (_req, res) => {
    res.json({ hello: "world", ocr: "/ocr/docs" })
  })
  app.use(ocr.handler)
  return app
}

/** How to run the example. */
export interface ExampleOptions {
  /** The port to listen on; 0: any free one. */
  readonly port: number
  /** Where the jobs database and files live. */
  readonly dataDir: string
  /** The token Scriptorium's routes require; default: AUTH_TOKEN in `env`, else none. */
  readonly authToken?: string | undefined
  /** The standalone server's other settings, as its environment variables (WORKER_CONCURRENCY, MAX_UPLOAD_MB...). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
}

/** The running example. */
export interface RunningExample {
  readonly server: Server
  readonly port: number
  /** Closes the sockets (1001), stops the worker, closes the store, then the server. */
  readonly close: () => Promise<void>
}

/** Starts the app on a node:http server, with Scriptorium under /ocr. */
export const start = async (options: ExampleOptions): Promise<RunningExample> => {
  const config = Config.fromEnv({ ...options.env, SCRIPTORIUM_DATA_DIR: options.dataDir })
  if (Either.isLeft(config)) throw config.left
  const ocr = Mount.toNodeMount(coreLayer(config.right), {
    prefix: "/ocr",
    authToken: options.authToken ?? config.right.authToken,
    maxUploadBytes: config.right.maxUploadBytes
  })
  const server = createServer(createApp(ocr))
  server.on("upgrade", ocr.upgrade)
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port, () => resolve())
  })
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      await ocr.dispose()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    }
  }
}
