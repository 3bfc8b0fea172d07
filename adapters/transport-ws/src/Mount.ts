/**
 * The whole Scriptorium API mounted into an existing Node server in one call: the HTTP routes (seed routes, /v1,
 * OpenAPI at `/openapi.json`, docs at `/docs`, via transport-http's Node handler) and the WebSocket routes (via
 * WsTransport), all under one path prefix such as "/ocr".
 *
 * ```ts
 * const ocr = Mount.toNodeMount(scriptoriumLayer, { prefix: "/ocr", authToken })
 * // node:http
 * const server = http.createServer((req, res) => ocr.handler(req, res, () => myApp(req, res)))
 * server.on("upgrade", ocr.upgrade)
 * // Express 5: mount the handler WITHOUT a path; it checks the prefix itself and calls next() for other requests
 * app.use(ocr.handler)
 * server.on("upgrade", ocr.upgrade)
 * ```
 *
 * The one way to mount it in Express is `app.use(handler)`, with the prefix given to the mount. (Express's
 * `app.use("/ocr", handler)` strips "/ocr" from `req.url`; the handler reads Express's `req.originalUrl` when there is
 * one, so that form reaches the same routes, but it is the prefix given here that decides which requests are ours.)
 *
 * A request outside the prefix goes to `next()` when one is given, else it is answered 404 in the contract's error
 * shape; an upgrade likewise. Inside the prefix, a path no route serves is 404 `RouteNotFound`.
 */
import { Scriptorium } from "@scriptorium/core"
import { HttpTransport, type HttpTransportConfig } from "@scriptorium/transport-http"
import { Context, Effect, Layer, ManagedRuntime, type Scope } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Duplex } from "node:stream"
import * as Handshake from "./internal/Handshake.js"
import { normalizePrefix, stripPrefix } from "./internal/Paths.js"
import * as WsTransport from "./WsTransport.js"

/** How the mount behaves: the HTTP API's settings, the WebSocket transport's, and the prefix both live under. */
export interface MountConfig extends HttpTransportConfig, Omit<WsTransport.WsTransportConfig, "authToken" | "prefix"> {
  /** The path everything lives under, e.g. "/ocr" for `POST /ocr/process_pdf` and `WS /ocr/ws/{id}`; default none. */
  readonly prefix?: string | undefined
}

/** The two hooks an existing server calls. */
export interface Mounted {
  /** Answers a request under the prefix; any other goes to `next` (Express), or is answered 404 without one. */
  readonly handler: (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void
  /** Takes an `upgrade` under the prefix; any other goes to `next`, or is answered 404 without one. */
  readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer, next?: () => void) => void
}

/** The mount from plain code, and how to stop it. */
export interface NodeMount extends Mounted {
  /** Closes the sockets (1001) and releases the layer (stops its workers, closes its stores). */
  readonly dispose: () => Promise<void>
}

/** The URL a request was sent to: Express's `originalUrl` (kept when a mount path strips `url`), else `url`. */
const requestUrl = (req: IncomingMessage): string => (req as { originalUrl?: string }).originalUrl ?? req.url ?? "/"

const notFound = (req: IncomingMessage, res: ServerResponse) => {
  res.statusCode = 404
  res.setHeader("content-type", "application/json")
  res.end(JSON.stringify(Handshake.routeNotFoundBody(req.method, requestUrl(req))))
}

/** The mount over the Scriptorium facade in context, for code written with Effect; it lives as long as the scope. */
export const make = (
  config: MountConfig = {}
): Effect.Effect<Mounted, never, Scriptorium.Scriptorium | Scope.Scope> =>
  Effect.gen(function*() {
    const prefix = normalizePrefix(config.prefix)
    const http = yield* HttpTransport.makeNodeHandler({ ...config, basePath: prefix })
    const ws = yield* WsTransport.make({ ...config, prefix })
    return {
      handler: (req, res, next) => {
        const rest = stripPrefix(prefix, requestUrl(req))
        if (rest === undefined) return next === undefined ? notFound(req, res) : next()
        req.url = rest
        http(req, res)
      },
      upgrade: (req, socket, head, next) => {
        if (ws.handleUpgrade(req, socket, head)) return
        const url = req.url ?? "/"
        if (stripPrefix(prefix, url) === undefined && next !== undefined) return next()
        Handshake.refuse(socket, 404, Handshake.routeNotFoundBody(req.method, url))
      }
    }
  })

class MountedTag extends Context.Tag("@scriptorium/transport-ws/Mounted")<MountedTag, Mounted>() {}

/**
 * The mount over a layer that provides the Scriptorium facade (and whatever it starts, such as a Worker), from plain
 * code. The layer is built on the first request or upgrade.
 */
export const toNodeMount = <E>(
  scriptorium: Layer.Layer<Scriptorium.Scriptorium, E>,
  config: MountConfig = {}
): NodeMount => {
  normalizePrefix(config.prefix) // a bad prefix is refused now, not at the first request
  const runtime = ManagedRuntime.make(Layer.scoped(MountedTag, make(config)).pipe(Layer.provide(scriptorium)))
  let mounted: Mounted | undefined
  const ready = (onReady: (mounted: Mounted) => void, onFailure: (message: string) => void) => {
    if (mounted !== undefined) return onReady(mounted)
    runtime.runPromise(MountedTag).then(
      (m) => onReady(mounted = m),
      (error: unknown) =>
        onFailure(`The service could not start: ${error instanceof Error ? error.message : String(error)}`)
    )
  }
  return {
    handler: (req, res, next) =>
      ready((m) => m.handler(req, res, next), (message) => {
        res.statusCode = 503
        res.setHeader("content-type", "application/json")
        res.end(JSON.stringify(Handshake.errorBody("StoreUnavailable", message)))
      }),
    upgrade: (req, socket, head, next) =>
      ready(
        (m) => m.upgrade(req, socket, head, next),
        (message) => Handshake.refuse(socket, 503, Handshake.errorBody("StoreUnavailable", message))
      ),
    dispose: () => runtime.dispose()
  }
}
