/**
 * One job's status over the WebSocket `WS /ws/{job_id}` (package `ws`): the current state first, then each change,
 * ending after a terminal status. The close codes of Live.ts become the contract's errors (4404 and 4410: the job is
 * not there; 4503: the store is down); a socket that cannot be opened (no WebSocket route on the server, a proxy that
 * refuses upgrades, a refused connection) or that drops before the job ended fails with `SocketUnavailable`, which
 * the caller answers by polling.
 */
import { ErrorBodies, isTerminal, Job, JobNotFound, StoreUnavailable, Unauthorized, WsCloseCode } from "@scriptorium/api"
import { Data, Effect, Either, Schema, Stream } from "effect"
import type { IncomingMessage } from "node:http"
import WebSocket from "ws"
import { ClientError } from "../ClientErrors.js"
import { errorOfBody, rootCause } from "./ResponseErrors.js"

/** The socket could not be opened, or it closed before the job ended. */
export class SocketUnavailable extends Data.TaggedError("SocketUnavailable")<{
  readonly reason: string
  /** True when no connection could be made at all (so polling will not reach the server either). */
  readonly unreachable: boolean
}> {}

/** The failures of a job's socket. */
export type SocketFailure = JobNotFound | Unauthorized | StoreUnavailable | ClientError | SocketUnavailable

/** The WebSocket URL of a job's status, under the API's base URL (http -> ws, https -> wss, prefix kept). */
export const socketUrl = (baseUrl: string, jobId: string): string => {
  const url = new URL(baseUrl)
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:"
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/ws/${encodeURIComponent(jobId)}`
  return url.toString()
}

const decodeJob = Schema.decodeUnknownEither(Schema.parseJson(Job))
const decodeUnauthorized = Schema.decodeUnknownEither(Schema.parseJson(ErrorBodies.Unauthorized))
const decodeNotFound = Schema.decodeUnknownEither(Schema.parseJson(ErrorBodies.JobNotFound))

/** The job's status messages until its terminal status. */
export const statuses = (
  baseUrl: string,
  jobId: string,
  token: string | undefined
): Stream.Stream<Job, SocketFailure> =>
  Stream.async<Job, SocketFailure>((emit) => {
    let finished = false
    let opened = false
    const finish = (failure?: SocketFailure) => {
      if (finished) return
      finished = true
      void (failure === undefined ? emit.end() : emit.fail(failure))
    }
    const socket = new WebSocket(socketUrl(baseUrl, jobId), {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      perMessageDeflate: false
    })
    socket.on("open", () => opened = true)
    socket.on("unexpected-response", (_request, response) => {
      readBody(response).then((body) => finish(refusal(jobId, response.statusCode ?? 0, body, token)))
    })
    socket.on("message", (data: WebSocket.RawData) => {
      if (finished) return
      const job = decodeJob(String(data))
      if (Either.isLeft(job)) {
        return finish(new ClientError({ status: null, error: null, reason: `a WebSocket message is not a job status` }))
      }
      void emit.single(job.right)
      if (isTerminal(job.right.status)) finish()
    })
    socket.on("close", (code: number, reason: Buffer) => finish(closed(jobId, code, String(reason))))
    // after an error, `ws` emits close too; this only keeps the reason of a connection that never opened
    socket.on("error", (error: Error) =>
      finish(new SocketUnavailable({ reason: rootCause(error), unreachable: !opened && isConnectionError(error) }))
    )
    return Effect.sync(() => socket.terminate())
  })

/** Why the server refused the upgrade, as the contract's error when its answer says so. */
const refusal = (jobId: string, status: number, body: string, token: string | undefined): SocketFailure => {
  if (status === 401) {
    const error = decodeUnauthorized(body)
    return Either.isRight(error) ? error.right : new Unauthorized({ reason: token === undefined ? "missing" : "wrong" })
  }
  if (status === 404 && Either.isRight(decodeNotFound(body))) return new JobNotFound({ job_id: jobId })
  const server = errorOfBody(body)
  return new SocketUnavailable({
    reason: `the upgrade was answered ${status}${server === undefined ? "" : ` ${server.error}: ${server.message}`}`,
    unreachable: false
  })
}

/** What a close before the terminal status means. */
const closed = (jobId: string, code: number, reason: string): SocketFailure => {
  switch (code) {
    case WsCloseCode.jobNotFound:
    case WsCloseCode.jobDeleted:
      return new JobNotFound({ job_id: jobId })
    case WsCloseCode.storeUnavailable:
      return new StoreUnavailable({ reason: reason === "" ? "The job store could not be read." : reason })
    case WsCloseCode.invalidParameter:
      return new ClientError({ status: null, error: null, reason: `the WebSocket was closed ${code}: ${reason}` })
    default:
      return new SocketUnavailable({ reason: `closed ${code} before the job ended ${reason}`.trim(), unreachable: false })
  }
}

const isConnectionError = (error: Error): boolean => {
  const code = (error as { code?: unknown }).code
  return code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EHOSTUNREACH" || code === "ECONNRESET" ||
    code === "ETIMEDOUT" || code === "EAI_AGAIN"
}

const readBody = (response: IncomingMessage): Promise<string> =>
  new Promise((resolve) => {
    let text = ""
    response.setEncoding("utf8")
    response.on("data", (chunk: string) => {
      if (text.length < 64 * 1024) text += chunk
    })
    response.on("end", () => resolve(text))
    response.on("error", () => resolve(text))
  })
