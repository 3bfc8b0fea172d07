/**
 * The HTTP API of Scriptorium, ready to serve or to mount: seed 001's routes (`SeedApi`), bearer authentication,
 * the OpenAPI document at `/openapi.json` and its documentation page at `/docs` (Swagger UI, inlined: the page loads
 * nothing from a CDN). Everything runs on the Scriptorium facade in context.
 *
 * - `layer(config)` serves the API on the `HttpServer` in context (e.g. `NodeHttpServer.layer`).
 * - `makeNodeHandler(config)` gives a `(req, res) => void` to mount in an existing node:http server, Express or
 *   Fastify, for code written with Effect; `toNodeHandler(layer, config)` does the same from plain code, with Promises.
 *
 * Errors are answered with the contract's JSON body (`{ error, message, detail, ...fields }`). Requests the contract
 * does not cover get the same shape: an unknown route is 404 `RouteNotFound`, and an unexpected failure is 500
 * `InternalError`, logged with its cause.
 */
import {
  HttpApiBuilder,
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
import { SeedApi } from "@scriptorium/api"
import type { Scriptorium } from "@scriptorium/core"
import { Cause, Context, Effect, Layer, ManagedRuntime, Option, type Scope } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as BearerAuth from "./BearerAuth.js"
import * as SeedHandlers from "./SeedHandlers.js"

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
}

/** The default upload limit: 100 MB. */
export const defaultMaxUploadBytes = 100 * 1024 * 1024

const handlersConfig = (config: HttpTransportConfig): SeedHandlers.SeedHandlersConfig => ({
  maxUploadBytes: config.maxUploadBytes ?? defaultMaxUploadBytes,
  modelLoaded: config.modelLoaded ?? Effect.succeed(true)
})

/** The API with its handlers, authentication, OpenAPI document and docs page, over the Scriptorium in context. */
export const apiLayer = (config: HttpTransportConfig = {}) => {
  const api = HttpApiBuilder.api(SeedApi).pipe(
    Layer.provide(SeedHandlers.layer(handlersConfig(config))),
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
    return yield* (config.traceRequests === true
      ? handler
      : HttpMiddleware.withTracerDisabledWhenEffect(handler, () => true))
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
 * Unknown routes and unexpected failures get the contract's error shape: 404 RouteNotFound, 500 InternalError (logged
 * with its cause). The contract's own errors pass through, to be encoded by the API; an interrupted request (the client
 * went away) is left to the server.
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
    return Effect.failCause(cause)
  })

/** The fallback, installed inside the API so it runs before the API encodes its errors. */
const fallbackLayer = HttpApiBuilder.middleware(fallback as unknown as HttpApiBuilder.MiddlewareFn<never>)

const emptyToUndefined = (value: string | undefined) => value === undefined || value === "" ? undefined : value
