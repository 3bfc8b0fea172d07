/**
 * Live job status over WebSocket, attachable to any Node `http.Server` (an `upgrade` handler, `ws` in noServer mode).
 *
 * - `WS {prefix}/ws/{job_id}`: the job's status JSON (exactly what `GET /result/{job_id}/status` answers) at once, then
 *   again on every change (each page, completed, failed, cancelled); closes 1000 after a terminal status. An unknown
 *   job closes 4404; a store that cannot be read, 4503.
 * - `WS {prefix}/ws[?status=...]`: every job's changes from now on, optionally only those that leave a job in one
 *   status; a `status` that is not one closes 4400.
 * - With a token configured, `Authorization: Bearer <token>` or `?token=<token>` (for browsers) is required: without
 *   it the upgrade is refused with HTTP 401 and the contract's `Unauthorized` body, before any WebSocket exists.
 *
 * The close codes are the contract's (`WsCloseCode` in @scriptorium/api). Changes reach the sockets through ONE
 * subscription to the facade's `changes()` per transport, fanned out by job id (see internal/Fanout.ts), so an idle
 * socket costs its connection and a small record, and a change made by a worker in another process arrives as soon as
 * the store's change feed reports it. A client that does not read is closed 4408 once its unsent messages pass
 * `maxBufferedBytes`. Closing the transport's scope closes every socket 1001.
 */
import { JobNotFound, WsCloseCode } from "@scriptorium/api"
import { Scriptorium } from "@scriptorium/core"
import { Cause, Context, Effect, FiberSet, Layer, Schedule, type Scope, Stream } from "effect"
import type { IncomingMessage, Server } from "node:http"
import type { Duplex } from "node:stream"
import { type WebSocket, WebSocketServer } from "ws"
import { closeReason, makeFanout, type Subscriber } from "./internal/Fanout.js"
import * as Handshake from "./internal/Handshake.js"
import { normalizePrefix, statusFilter, type WsRoute, wsRoute } from "./internal/Paths.js"

/** How the WebSocket transport behaves. Every field has a default. */
export interface WsTransportConfig {
  /** When set, an upgrade needs `Authorization: Bearer <token>` or `?token=<token>`; default: no authentication. */
  readonly authToken?: string | undefined
  /** The path the routes live under, e.g. "/ocr" for `/ocr/ws/{job_id}`; default: none. */
  readonly prefix?: string | undefined
  /** Unsent bytes a socket may have before it is closed 4408 (too slow); default 1 MiB. */
  readonly maxBufferedBytes?: number | undefined
  /** How often sockets are pinged, a socket that missed the last pong being cut; default 30 s, 0: never. */
  readonly pingIntervalMs?: number | undefined
}

/** The default bound on a socket's unsent bytes: 1 MiB, about 2,000 status messages. */
export const defaultMaxBufferedBytes = 1024 * 1024

/** The WebSocket transport of one server. */
export interface WsTransport {
  /**
   * Takes an `upgrade` request if its path is one of the transport's routes (true); leaves the socket alone otherwise
   * (false), for another handler.
   */
  readonly handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean
  /** How many sockets are open. */
  readonly connections: () => number
}

/** The WsTransport service. */
export const WsTransport = Context.GenericTag<WsTransport>("@scriptorium/transport-ws/WsTransport")

/** How long after a 4408 close a socket that still does not read is cut. */
const slowCloseGraceMs = 2_000
/** How long shutdown waits for clients to answer the 1001 close before cutting them. */
const shutdownGraceMs = 1_000
/** The largest message a client may send (clients have nothing to say; anything big is noise). */
const maxClientPayload = 4 * 1024

/**
 * The transport over the Scriptorium facade in context, with its one change subscription, until the scope closes
 * (which closes every socket 1001).
 */
export const make = (
  config: WsTransportConfig = {}
): Effect.Effect<WsTransport, never, Scriptorium.Scriptorium | Scope.Scope> =>
  Effect.gen(function*() {
    const scriptorium = yield* Scriptorium.Scriptorium
    const prefix = normalizePrefix(config.prefix)
    const token = config.authToken === undefined || config.authToken === "" ? undefined : config.authToken
    const fanout = makeFanout({
      maxBufferedBytes: config.maxBufferedBytes ?? defaultMaxBufferedBytes,
      slowCloseGraceMs
    })
    const run = yield* FiberSet.makeRuntime<never>()
    const server = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      clientTracking: false,
      maxPayload: maxClientPayload
    })
    let closing = false

    // ONE subscription for every socket. If the feed fails, sockets may have missed changes: they are closed 4503
    // (a client reconnects and gets the current state first) and the subscription is made again.
    yield* scriptorium.changes().pipe(
      Stream.runForEachChunk((chunk) => Effect.sync(() => { for (const job of chunk) fanout.publish(job) })),
      Effect.tapErrorCause((cause) =>
        Effect.zipRight(
          Effect.logWarning("The job change feed failed; closing live sockets and subscribing again", cause),
          Effect.sync(() => closeAll(WsCloseCode.storeUnavailable, "The job store could not be read; reconnect."))
        )
      ),
      Effect.retry(Schedule.spaced("1 second")),
      Effect.forkScoped
    )

    const closeAll = (code: number, reason: string) => {
      for (const sub of [...fanout.all()]) fanout.close(sub, code, reason)
    }

    /** Sends the watched job's current state; an unknown job is 4404, an unreadable store 4503. */
    const startJob = (sub: Subscriber, jobId: string) =>
      scriptorium.status(jobId).pipe(
        Effect.matchCause({
          onSuccess: (job) => fanout.start(sub, job),
          onFailure: (cause) => {
            const failure = Cause.squash(cause)
            if (failure instanceof JobNotFound) {
              fanout.close(sub, WsCloseCode.jobNotFound, `No job has the id '${jobId.slice(0, 60)}'.`)
            } else {
              fanout.close(sub, WsCloseCode.storeUnavailable, "The job store could not be read; reconnect later.")
            }
          }
        })
      )

    const accept = (socket: WebSocket, route: WsRoute) => {
      socket.on("error", () => {}) // a broken connection is closed by ws; nothing to report
      if (route._tag === "Job") {
        const sub = track(socket, fanout.addJob(socket, route.jobId))
        run(startJob(sub, route.jobId))
        return
      }
      const filter = statusFilter(route.query)
      if (filter._tag === "Invalid") {
        const statuses = "pending, processing, completed, failed or cancelled"
        socket.close(
          WsCloseCode.invalidParameter,
          closeReason(`'${filter.value.slice(0, 40)}' is not a job status; use ${statuses}.`)
        )
        return
      }
      track(socket, fanout.addAll(socket, filter.status))
    }

    const track = (socket: WebSocket, sub: Subscriber): Subscriber => {
      socket.on("close", () => fanout.remove(sub))
      socket.on("pong", () => {
        sub.alive = true
      })
      return sub
    }

    const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
      const route = wsRoute(prefix, req.url ?? "/")
      if (route === undefined) return false
      if (closing) {
        const body = Handshake.errorBody("ServiceUnavailable", "The server is shutting down; retry later.")
        Handshake.refuse(socket, 503, body)
        return true
      }
      const refused = Handshake.checkToken(token, req, route.query)
      if (refused !== undefined) {
        Handshake.refuseUnauthorized(socket, refused)
        return true
      }
      server.handleUpgrade(req, socket, head, (ws) => accept(ws, route))
      return true
    }

    // Dead peers (a laptop closed mid-stream) never send a close: a ping they cannot answer finds them.
    const pingIntervalMs = config.pingIntervalMs ?? 30_000
    if (pingIntervalMs > 0) {
      yield* Effect.sync(() => {
        for (const sub of fanout.all()) {
          if (!sub.alive) {
            fanout.remove(sub)
            sub.socket.terminate()
            continue
          }
          sub.alive = false
          if (sub.socket.readyState === sub.socket.OPEN) sub.socket.ping()
        }
      }).pipe(Effect.repeat(Schedule.spaced(pingIntervalMs)), Effect.delay(pingIntervalMs), Effect.forkScoped)
    }

    yield* Effect.addFinalizer(() => shutdown)
    const shutdown = Effect.gen(function*() {
      closing = true
      const sockets = [...fanout.all()].map((sub) => sub.socket)
      closeAll(WsCloseCode.goingAway, "The server is shutting down; reconnect later.")
      const open = () => sockets.filter((s) => s.readyState !== s.CLOSED)
      yield* Effect.sleep(20).pipe(
        Effect.repeat({ until: () => open().length === 0 }),
        Effect.timeout(shutdownGraceMs),
        Effect.ignore
      )
      for (const socket of open()) socket.terminate()
      server.close()
    })

    return WsTransport.of({ handleUpgrade, connections: fanout.size })
  })

/** The transport as a layer over the facade; attach it to a server with `attach` or `handleUpgrade`. */
export const layer = (config: WsTransportConfig = {}): Layer.Layer<WsTransport, never, Scriptorium.Scriptorium> =>
  Layer.scoped(WsTransport, make(config))

/**
 * Makes a transport and listens to `server`'s `upgrade` events until the scope closes. An upgrade to another path is
 * left to the server's other `upgrade` listeners; when there are none it is answered 404.
 */
export const attach = (
  server: Server,
  config: WsTransportConfig = {}
): Effect.Effect<WsTransport, never, Scriptorium.Scriptorium | Scope.Scope> =>
  Effect.gen(function*() {
    const transport = yield* make(config)
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (transport.handleUpgrade(req, socket, head)) return
      if (server.listenerCount("upgrade") === 1) {
        Handshake.refuse(socket, 404, Handshake.routeNotFoundBody(req.method, req.url ?? "/"))
      }
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => server.on("upgrade", onUpgrade)),
      () => Effect.sync(() => server.off("upgrade", onUpgrade))
    )
    return transport
  })
