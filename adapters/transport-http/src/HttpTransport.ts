/**
 * The HTTP API of Scriptorium, ready to serve or to mount: seed 001's routes and the /v1 jobs API with its event
 * stream (`ScriptoriumApi`), bearer authentication, the OpenAPI document at `/openapi.json` and its documentation page
 * at `/docs` (Swagger UI, inlined: the page loads nothing from a CDN). Everything runs on the Scriptorium facade in
 * context.
 *
 * - `layer(config)` serves the API on the `HttpServer` in context (e.g. `NodeHttpServer.layer`).
 * - `makeNodeHandler(config)` gives a `(req, res) => void` to mount in an existing node:http server, Express or
 *   Fastify, for code written with Effect; `toNodeHandler(layer, config)` does the same from plain code, with Promises.
 *
 * The Node handler answers `GET /result/{id}/status` (the route clients poll) and `POST /process_pdf` (the costliest)
 * before the router when it can answer them exactly as the API would (`internal/StatusFastPath.ts`,
 * `internal/UploadFastPath.ts`); everything else goes through the router.
 *
 * Errors are answered with the contract's JSON body (`{ error, message, detail, ...fields }`). Requests the contract
 * does not cover get the same shape: an unknown route is 404 `RouteNotFound`, and an unexpected failure is 500
 * `InternalError`, logged with its cause.
 */
import {
  HttpApiBuilder,
  HttpApiError,
  HttpApiSwagger,
  type HttpApp,
  HttpMiddleware,
  type HttpRouter,
  type HttpServer,
  HttpServerError,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { InvalidParameter, ScriptoriumApi } from "@scriptorium/api"
import { Scriptorium } from "@scriptorium/core"
import { Cause, Context, Effect, Layer, ManagedRuntime, Option, type Scope } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as BearerAuth from "./BearerAuth.js"
import * as EventsHandlers from "./EventsHandlers.js"
import * as StatusFastPath from "./internal/StatusFastPath.js"
import * as UploadFastPath from "./internal/UploadFastPath.js"
import * as SeedHandlers from "./SeedHandlers.js"
import * as V1Handlers from "./V1Handlers.js"

/** How the HTTP API behaves. Every field has a default. */
export interface HttpTransportConfig {
  /** When set, every job and result route needs `Authorization: Bearer <token>`; default: no authentication. */
  readonly authToken?: string | undefined
  /** The largest upload accepted, in bytes; default 100 MB. Larger uploads get 413 FileTooLarge. */
  readonly maxUploadBytes?: number | undefined
  /** Whether the document models are loaded, for `/health`; default: always true. */
  readonly modelLoaded?: Effect.Effect<boolean> | undefined
  /**
   * Whether each request becomes a tracing span (`http.server GET`, with its method, URL and headers as attributes),
   * for a server that exports traces (e.g. with @effect/opentelemetry); default false. Off, the status route serves
   * more requests per second, since building the span was a large part of a cheap request's cost.
   */
  readonly traceRequests?: boolean | undefined
  /**
   * The hosts a `file_url` submission may name, as `host` (any port) or `host:port`; default none, so every file_url
   * is refused with 403 FileUrlNotAllowed (the server is never turned against addresses its operator did not choose).
   */
  readonly fileUrlAllowedHosts?: ReadonlyArray<string> | undefined
  /**
   * The hosts a `webhook_url` may name (`host` or `host:port`); default: any http(s) host. Give the same list to the
   * webhook dispatcher (`Webhooks.layer`'s `allowedHosts`), which checks it again before each delivery.
   */
  readonly webhookAllowedHosts?: ReadonlyArray<string> | undefined
  /**
   * The path the API is reached at when it is mounted under a prefix (e.g. "/ocr"), for the URLs it gives out in job
   * views (`status_url`, `result_url`, `events_url`); default "" (the root). `Mount` sets it to its prefix.
   */
  readonly basePath?: string | undefined
  /** How long fetching a `file_url` may take, redirects and body included; default 30 s. */
  readonly fileUrlTimeoutMs?: number | undefined
  /** How many redirects a `file_url` may take, each checked against the allow-list; default 5. */
  readonly fileUrlMaxRedirects?: number | undefined
  /** A sync submission (`?async=false`) of more pages than this is answered async; default 20. */
  readonly syncMaxPages?: number | undefined
  /** How long a sync submission waits for its result before it is answered async; default 60 s. */
  readonly syncWaitMs?: number | undefined
  /** How often the event stream sends a `: keepalive` comment; default 15 s. */
  readonly sseKeepaliveMs?: number | undefined
}

/** The default upload limit: 100 MB. */
export const defaultMaxUploadBytes = 100 * 1024 * 1024
/** The default page count above which a sync submission is answered async. */
export const defaultSyncMaxPages = 20
/** The default time a sync submission waits for its result. */
export const defaultSyncWaitMs = 60_000
/** The default time a `file_url` fetch may take. */
export const defaultFileUrlTimeoutMs = 30_000

const handlersConfig = (config: HttpTransportConfig): SeedHandlers.SeedHandlersConfig => ({
  maxUploadBytes: config.maxUploadBytes ?? defaultMaxUploadBytes,
  modelLoaded: config.modelLoaded ?? Effect.succeed(true)
})

const v1Config = (config: HttpTransportConfig): V1Handlers.V1HandlersConfig => ({
  maxUploadBytes: config.maxUploadBytes ?? defaultMaxUploadBytes,
  fileUrlAllowedHosts: config.fileUrlAllowedHosts ?? [],
  basePath: (config.basePath ?? "").replace(/\/+$/, ""),
  webhookAllowedHosts: config.webhookAllowedHosts,
  fileUrlTimeoutMs: config.fileUrlTimeoutMs ?? defaultFileUrlTimeoutMs,
  fileUrlMaxRedirects: config.fileUrlMaxRedirects ?? 5,
  syncMaxPages: config.syncMaxPages ?? defaultSyncMaxPages,
  syncWaitMs: config.syncWaitMs ?? defaultSyncWaitMs
})

/** The API with its handlers, authentication, OpenAPI document and docs page, over the Scriptorium in context. */
export const apiLayer = (config: HttpTransportConfig = {}) => {
  const api = HttpApiBuilder.api(ScriptoriumApi).pipe(
    Layer.provide(SeedHandlers.layer(handlersConfig(config))),
    Layer.provide(V1Handlers.layer(v1Config(config))),
    Layer.provide(EventsHandlers.layer({ keepaliveMs: config.sseKeepaliveMs ?? 15_000 })),
    Layer.provide(BearerAuth.layer(emptyToUndefined(config.authToken)))
  )
  return Layer.mergeAll(
    HttpApiSwagger.layer({ path: "/docs" }),
    HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })
  ).pipe(Layer.provideMerge(api), Layer.provide(fallbackLayer))
}

/** Serves the API on the HttpServer in context, until the layer is released. */
export const layer = (config: HttpTransportConfig = {}): Layer.Layer<
  never,
  never,
  Scriptorium.Scriptorium | HttpServer.HttpServer | HttpRouter.HttpRouter.DefaultServices
> =>
  HttpApiBuilder.serve().pipe(
    Layer.provide(apiLayer(config)),
    (served) => config.traceRequests === true ? served : HttpMiddleware.withTracerDisabledWhen(served, () => true)
  )

/**
 * The API as a Node request handler, for mounting in an existing server (node:http, Express, Fastify); it lives as
 * long as the scope.
 */
export const makeNodeHandler = (
  config: HttpTransportConfig = {}
): Effect.Effect<(req: IncomingMessage, res: ServerResponse) => void, never, Scriptorium.Scriptorium | Scope.Scope> =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      apiLayer(config).pipe(
        Layer.provideMerge(Layer.mergeAll(HttpApiBuilder.Router.Live, HttpApiBuilder.Middleware.layer)),
        Layer.provideMerge(NodeHttpServer.layerContext)
      )
    )
    const app = yield* Effect.provide(HttpApiBuilder.httpApp, context)
    const handler = Effect.provide(NodeHttpServer.makeHandler(app), context)
    if (config.traceRequests === true) return yield* handler
    // status polls (most of the requests) and seed uploads (the costliest) skip the router, unless requests are traced
    const scriptorium = yield* Scriptorium.Scriptorium
    const token = emptyToUndefined(config.authToken)
    const runtime = yield* Effect.runtime<never>()
    const routed = yield* HttpMiddleware.withTracerDisabledWhenEffect(handler, () => true)
    return UploadFastPath.make(
      scriptorium,
      { token, maxUploadBytes: config.maxUploadBytes ?? defaultMaxUploadBytes },
      runtime,
      StatusFastPath.make(scriptorium, token, runtime, routed)
    )
  })

/** A Node request handler from plain code, and how to stop it. */
export interface NodeHandler {
  /** Answers one request; mount it as `http.createServer(handler)` or `app.use(handler)`. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void
  /** Releases the layer (stops its workers, closes its stores). */
  readonly dispose: () => Promise<void>
}

class Handler extends Context.Tag("@scriptorium/transport-http/Handler")<
  Handler,
  (req: IncomingMessage, res: ServerResponse) => void
>() {}

/**
 * The API over a layer that provides the Scriptorium facade (and whatever it starts, such as a Worker), as a plain
 * Node handler. The layer is built on the first request.
 */
export const toNodeHandler = <E>(
  scriptorium: Layer.Layer<Scriptorium.Scriptorium, E>,
  config: HttpTransportConfig = {}
): NodeHandler => {
  const runtime = ManagedRuntime.make(Layer.scoped(Handler, makeNodeHandler(config)).pipe(Layer.provide(scriptorium)))
  return {
    handler: (req, res) => {
      runtime.runPromise(Handler).then(
        (handle) => handle(req, res),
        (error: unknown) => {
          res.statusCode = 503
          res.setHeader("content-type", "application/json")
          const message = `The service could not start: ${error instanceof Error ? error.message : String(error)}`
          res.end(JSON.stringify({ error: "StoreUnavailable", message, detail: message }))
        }
      )
    },
    dispose: () => runtime.dispose()
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// What the contract does not cover

const errorResponse = (status: number, error: string, message: string) =>
  HttpServerResponse.unsafeJson({ error, message, detail: message }, { status })

/**
 * A request that does not decode (in practice a query parameter given twice, `?limit=1&limit=2`: every parameter
 * decodes from any one string) as the contract's `InvalidParameter`, so it gets the one error shape too, instead of
 * @effect/platform's `HttpApiDecodeError`.
 */
const invalidParameterOf = (error: HttpApiError.HttpApiDecodeError) =>
  Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
    const name = error.issues[0]?.path.join(".") ?? ""
    const values = new URL(request.url, "http://localhost").searchParams.getAll(name)
    return new InvalidParameter({
      name: name === "" ? "request" : name,
      value: values.join(","),
      expected: values.length > 1 ? "one value, given once" : error.issues[0]?.message ?? "another value"
    })
  })

/**
 * Unknown routes and unexpected failures get the contract's error shape: 404 RouteNotFound, 500 InternalError (logged
 * with its cause), and so does a request that does not decode (400 InvalidParameter). The contract's own errors pass
 * through, to be encoded by the API; an interrupted request (the client went away) is left to the server.
 */
const fallback: HttpMiddleware.HttpMiddleware = <E, R>(app: HttpApp.Default<E, R>) =>
  Effect.catchAllCause(app, (cause) => {
    if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
    const failure = Cause.failureOption(cause)
    if (Option.isNone(failure)) {
      return Effect.as(
        Effect.logError("Request failed unexpectedly", cause),
        errorResponse(500, "InternalError", "The server failed unexpectedly; the error was logged. Retry later.")
      )
    }
    if (failure.value instanceof HttpServerError.RouteNotFound) {
      return Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
        errorResponse(
          404,
          "RouteNotFound",
          `There is no route ${request.method} ${request.url.split("?")[0]}; the routes are listed at /docs.`
        ))
    }
    if (failure.value instanceof HttpApiError.HttpApiDecodeError) {
      // InvalidParameter is one of the API's errors: the API encodes it
      const refused = Effect.flip(invalidParameterOf(failure.value))
      return refused as Effect.Effect<never, E, HttpServerRequest.HttpServerRequest>
    }
    return Effect.failCause(cause)
  })

/** The fallback, installed inside the API so it runs before the API encodes its errors. */
const fallbackLayer = HttpApiBuilder.middleware(fallback as unknown as HttpApiBuilder.MiddlewareFn<never>)

const emptyToUndefined = (value: string | undefined) => value === undefined || value === "" ? undefined : value
