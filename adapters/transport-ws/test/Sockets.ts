/**
 * What the WebSocket tests share: serving a WsTransport on a real node:http server on a free port, and real `ws`
 * clients that record what a socket received and how it closed, or how its upgrade was refused.
 */
import { type Scriptorium } from "@scriptorium/core"
import { WsTransport, type WsTransportConfig } from "@scriptorium/transport-ws"
import { Effect, type Scope } from "effect"
import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import WebSocket from "ws"

/** A transport attached to a listening server. */
export interface Served {
  /** `ws://127.0.0.1:<port>` */
  readonly url: string
  readonly server: Server
  readonly transport: WsTransport.WsTransport
}

/** Listens on a free port of 127.0.0.1 with the transport attached; the transport closes first, then the server. */
export const serve = (
  config: WsTransportConfig = {}
): Effect.Effect<Served, never, Scriptorium.Scriptorium | Scope.Scope> =>
  Effect.gen(function*() {
    const server = yield* Effect.acquireRelease(
      Effect.async<Server>((resume) => {
        const server = createServer((_req, res) => {
          res.statusCode = 404
          res.end()
        })
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    )
    const transport = yield* WsTransport.attach(server, config)
    return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, server, transport }
  })

/** A status message as received (the encoded Job). */
export type Message = Record<string, unknown> & { readonly job_id: string; readonly status: string }

/** A client socket and what it received. */
export interface Client {
  readonly socket: WebSocket
  readonly messages: Array<Message>
  /** Resolves once open (rejects if the upgrade failed). */
  readonly opened: Promise<void>
  /** Resolves with the close code and reason once closed. */
  readonly closed: Promise<{ readonly code: number; readonly reason: string }>
  /** Resolves once `count` messages arrived. */
  readonly received: (count: number, timeoutMs?: number) => Promise<ReadonlyArray<Message>>
}

/** Opens a WebSocket and records every message it receives. */
export const connect = (url: string, headers: Record<string, string> = {}): Client => {
  const socket = new WebSocket(url, { headers, perMessageDeflate: false })
  const messages: Array<Message> = []
  const waiters: Array<() => void> = []
  socket.on("message", (data, isBinary) => {
    // status messages are JSON in text frames: a binary frame is recorded as a message no test expects
    messages.push(isBinary ? { job_id: "", status: "a binary frame" } : JSON.parse(data.toString()) as Message)
    for (const wake of waiters.splice(0)) wake()
  })
  const opened = new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve())
    socket.once("error", reject)
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once("close", (code, reason) => {
      for (const wake of waiters.splice(0)) wake()
      resolve({ code, reason: reason.toString() })
    })
  )
  const received = async (count: number, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs
    while (messages.length < count) {
      if (socket.readyState === WebSocket.CLOSED) {
        throw new Error(`closed after ${messages.length} of ${count} messages`)
      }
      if (Date.now() > deadline) throw new Error(`only ${messages.length} of ${count} messages in ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        waiters.push(resolve)
        setTimeout(resolve, 200)
      })
    }
    return messages
  }
  return { socket, messages, opened, closed, received }
}

/** The HTTP answer to an upgrade that was refused: its status, headers and JSON body. */
export const refusal = (url: string, headers: Record<string, string> = {}) =>
  new Promise<{ status: number; headers: IncomingMessage["headers"]; body: Record<string, unknown> }>(
    (resolve, reject) => {
      const socket = new WebSocket(url, { headers })
      socket.once("open", () => reject(new Error("the upgrade was accepted")))
      socket.once("error", () => {}) // ws reports the refusal as an error too, after unexpected-response
      socket.once("unexpected-response", (_req, res) => {
        let text = ""
        res.on("data", (chunk: Buffer) => text += chunk.toString())
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }))
      })
    }
  )

/** Waits until `check` holds, polling every 20 ms, or fails after `timeoutMs`. */
export const eventually = async (check: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
