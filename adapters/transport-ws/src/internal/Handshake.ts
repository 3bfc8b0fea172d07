/**
 * What happens to an upgrade request before it becomes a WebSocket: the bearer token check, and refusing it with a
 * plain HTTP response in the contract's error shape. Refusing before the upgrade matters: a socket that is never
 * upgraded costs the server nothing, and an HTTP client (curl, a load balancer's probe) reads an ordinary 401 or 404.
 */
import { ErrorBodies, Unauthorized } from "@scriptorium/api"
import { BearerAuth } from "@scriptorium/transport-http"
import { Schema } from "effect"
import type { IncomingMessage } from "node:http"
import { STATUS_CODES } from "node:http"
import type { Duplex } from "node:stream"

/**
 * The refusal of an upgrade whose token is missing or wrong, or undefined when it may proceed. The token is taken
 * from `Authorization: Bearer <token>`, else from the `token` query parameter (browsers cannot set headers on a
 * WebSocket).
 */
export const checkToken = (
  expected: string | undefined,
  req: IncomingMessage,
  query: URLSearchParams
): Unauthorized | undefined => {
  if (expected === undefined) return undefined
  const header = req.headers.authorization
  const bearer = header === undefined ? undefined : /^\s*bearer\s+(.*)$/i.exec(header)?.[1]?.trim()
  const presented = bearer !== undefined && bearer !== "" ? bearer : query.get("token")?.trim()
  if (presented === undefined || presented === "") return new Unauthorized({ reason: "missing" })
  return BearerAuth.tokensMatch(presented, expected) ? undefined : new Unauthorized({ reason: "wrong" })
}

const encodeUnauthorized = Schema.encodeSync(ErrorBodies.Unauthorized)

/** Answers the upgrade request with 401 and the contract's Unauthorized body, then closes the connection. */
export const refuseUnauthorized = (socket: Duplex, error: Unauthorized): void =>
  refuse(socket, 401, encodeUnauthorized(error), { "WWW-Authenticate": "Bearer" })

/** Answers the upgrade request with an HTTP status and a JSON body, then closes the connection. */
export const refuse = (
  socket: Duplex,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {}
): void => {
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const json = JSON.stringify(body)
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}`,
    "Connection: close",
    "Content-Type: application/json",
    `Content-Length: ${Buffer.byteLength(json)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)
  ]
  // destroy once the response is flushed: the client may never close its side
  socket.once("finish", () => socket.destroy())
  socket.end(`${lines.join("\r\n")}\r\n\r\n${json}`)
}

/** The contract's error shape for an error that has no class in the contract (the HTTP API's fallbacks). */
export const errorBody = (error: string, message: string) => ({ error, message, detail: message })

/** The contract's 404 for a path no route serves (as the HTTP API answers it). */
export const routeNotFoundBody = (method: string | undefined, url: string) => {
  const route = `${method ?? "GET"} ${url.split("?")[0]}`
  return errorBody("RouteNotFound", `There is no route ${route}; the routes are listed at /docs.`)
}
