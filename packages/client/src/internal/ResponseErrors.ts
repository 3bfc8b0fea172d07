/**
 * Turns the low-level failures of a generated HttpApi client call (a transport error, a status or body the contract
 * does not describe, a decoding error) into the client's two typed errors, so a caller only ever sees the contract's
 * error classes, `ClientError` or `ServerUnreachable`.
 *
 * A decoding error does not carry the response it came from, and the server's own words (e.g. `404 RouteNotFound`
 * from a server that predates /v1) are the most useful part of the report; so the HTTP client records each response
 * in a fiber-local reference, which `normalize` reads when a body fails to decode.
 */
import { HttpApiError, HttpClient, HttpClientError, type HttpClientResponse } from "@effect/platform"
import { Effect, FiberRef, Option, ParseResult } from "effect"
import { ClientError, type ClientFailure, ServerUnreachable } from "../ClientErrors.js"

/** The failures `normalize` replaces. */
export type RawFailure = HttpClientError.HttpClientError | ParseResult.ParseError | HttpApiError.HttpApiDecodeError

const lastResponse = FiberRef.unsafeMake<Option.Option<HttpClientResponse.HttpClientResponse>>(Option.none())

/** The HTTP client, recording each response for `normalize`. */
export const recordResponses = (client: HttpClient.HttpClient): HttpClient.HttpClient =>
  HttpClient.tap(client, (response) => FiberRef.set(lastResponse, Option.some(response)))

const isRaw = (error: unknown): error is RawFailure =>
  HttpClientError.isHttpClientError(error) || ParseResult.isParseError(error) ||
  error instanceof HttpApiError.HttpApiDecodeError

/** The call, with its low-level failures replaced by `ClientError` or `ServerUnreachable`. */
export const normalize = (baseUrl: string) =>
<A, E, R>(call: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, RawFailure> | ClientFailure, R> =>
  Effect.catchIf(
    call,
    (error): error is Extract<E, RawFailure> => isRaw(error),
    (error) => Effect.flatMap(toClientFailure(baseUrl, error), Effect.fail)
  ).pipe(Effect.locally(lastResponse, Option.none())) as Effect.Effect<A, Exclude<E, RawFailure> | ClientFailure, R>

const toClientFailure = (baseUrl: string, error: RawFailure): Effect.Effect<ClientFailure> => {
  if (error instanceof HttpApiError.HttpApiDecodeError) {
    return Effect.succeed(new ClientError({ status: 400, error: error._tag, reason: error.message }))
  }
  if (ParseResult.isParseError(error)) {
    return Effect.flatMap(FiberRef.get(lastResponse), (response) =>
      Option.isSome(response)
        ? describeResponse(response.value, `its body is not what the contract says: ${firstLine(error)}`)
        : Effect.succeed(
          new ClientError({ status: null, error: null, reason: `the request could not be encoded: ${firstLine(error)}` })
        ))
  }
  if (error._tag === "RequestError") {
    return Effect.succeed(
      error.reason === "Transport"
        ? new ServerUnreachable({ url: baseUrl, reason: rootCause(error.cause) })
        : new ClientError({ status: null, error: null, reason: error.message })
    )
  }
  return describeResponse(error.response, `the contract has no answer with status ${error.response.status} here`)
}

/** A ClientError naming the answer's status and, when its body is the contract's error JSON, the server's words. */
export const describeResponse = (
  response: HttpClientResponse.HttpClientResponse,
  otherwise: string
): Effect.Effect<ClientError> =>
  response.arrayBuffer.pipe(
    Effect.map((buffer) => errorOfBody(new TextDecoder().decode(buffer))),
    Effect.orElseSucceed(() => undefined),
    Effect.map((body) =>
      new ClientError({
        status: response.status,
        error: body?.error ?? null,
        reason: body === undefined
          ? `HTTP ${response.status}: ${otherwise}`
          : `HTTP ${response.status} ${body.error}: ${body.message}`
      })
    )
  )

/** The `error` and `message` of a body in the contract's error shape, or undefined. */
export const errorOfBody = (text: string): { readonly error: string; readonly message: string } | undefined => {
  try {
    const body: unknown = JSON.parse(text)
    if (typeof body !== "object" || body === null) return undefined
    const { error, message } = body as Record<string, unknown>
    return typeof error === "string" && typeof message === "string" ? { error, message } : undefined
  } catch {
    return undefined
  }
}

const firstLine = (error: ParseResult.ParseError) => error.message.split("\n").slice(0, 3).join(" ").slice(0, 300)

/** The innermost cause's code or message: `ECONNREFUSED` says more than `fetch failed`. */
export const rootCause = (error: unknown): string => {
  let current = error
  for (let depth = 0; depth < 5; depth++) {
    const next = (current as { cause?: unknown } | null)?.cause
    if (next === undefined || next === null) break
    current = next
  }
  const { code, message } = (current ?? {}) as { code?: unknown; message?: unknown }
  return typeof code === "string" ? code : typeof message === "string" ? message : String(current)
}
