/**
 * `POST /process_pdf` answered before the HttpApi router, because an upload is the API's costliest request: through
 * the router each 1 MB body streamed chunk by chunk through Effect stream stages, then the middleware, the security
 * check and the schema-driven encoder ran, a few milliseconds of the event loop per upload that 50 concurrent uploads
 * queue behind. Here the body is collected with plain stream events into one buffer sized by its Content-Length, read
 * with the same code as the route (`Upload.fromBody`), and submitted to the facade, as the route does.
 *
 * It answers what the route would answer, with the same status, headers and bytes (a test compares the two): the job,
 * or the contract's error body for a refused upload (MissingFile, FileTooLarge, EmptyFile, the admission check's
 * errors, StoreUnavailable), or 500 InternalError (logged) for an unexpected failure, as the API's fallback does.
 * A request it cannot take whole goes on to the router before a byte of its body is read: another route or method,
 * no or a wrong token, a body that is not multipart with a boundary, a Content-Length over the limit.
 */
import { ErrorBodies, FileTooLarge, processPdfMessage } from "@scriptorium/api"
import type { Scriptorium } from "@scriptorium/core"
import { HttpApiSchema } from "@effect/platform"
import { Cause, Effect, Either, Exit, Option, Runtime, Schema } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import { headerAllows } from "../BearerAuth.js"
import * as BodyBuffers from "./BodyBuffers.js"
import * as MultipartBody from "./MultipartBody.js"
import * as Upload from "./Upload.js"

/** The path, as the router matches it: exactly `/process_pdf`, then an optional query. */
const uploadPath = /^\/process_pdf(?:\?|$)/

/** The errors the route answers with its own body, by tag: how each is encoded, with its status. */
const refusals = new Map<string, { readonly encode: (e: unknown) => unknown; readonly status: number }>(
  (["MissingFile", "FileTooLarge", "EmptyFile", "NotAPdf", "EncryptedPdf", "CorruptPdf", "ImageTooLarge",
    "ImageUnreadable", "StoreUnavailable"] as const).map((tag) => {
      const schema = ErrorBodies[tag] as Schema.Schema<unknown, unknown>
      return [tag, { encode: Schema.encodeSync(schema), status: HttpApiSchema.getStatusError(schema) }]
    })
)

const unexpectedMessage = "The server failed unexpectedly; the error was logged. Retry later."

const send = (res: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

/**
 * A request handler in front of `next`: it takes the uploads to `POST /process_pdf` it can take whole, and hands
 * every other request to `next` untouched.
 */
export const make = (
  scriptorium: Scriptorium.Scriptorium,
  options: { readonly token: string | undefined; readonly maxUploadBytes: number },
  runtime: Runtime.Runtime<never>,
  next: (req: IncomingMessage, res: ServerResponse) => void
) => {
  const run = Runtime.runCallback(runtime)
  const limit = Upload.bodyLimit(options.maxUploadBytes)

  /** Answers a failed submission as the API would: its error body, or 500 InternalError, logged. */
  const refuse = (res: ServerResponse, cause: Cause.Cause<unknown>) => {
    const failure = Cause.failureOption(cause)
    const tag = Option.isSome(failure) ? (failure.value as { readonly _tag?: unknown })._tag : undefined
    const refusal = typeof tag === "string" ? refusals.get(tag) : undefined
    if (refusal !== undefined) return send(res, refusal.status, refusal.encode(Option.getOrThrow(failure)))
    run(Effect.logError("Request failed unexpectedly", cause))
    send(res, 500, { error: "InternalError", message: unexpectedMessage, detail: unexpectedMessage })
  }

  const buffers = BodyBuffers.make()

  /** Submits the upload in `body`; `done` once nothing reads the body any more. */
  const submit = (res: ServerResponse, body: Uint8Array, boundary: string, done: () => void) => {
    const upload = Upload.fromBody(body, boundary, options.maxUploadBytes)
    if (Either.isLeft(upload)) {
      done()
      return refuse(res, Cause.fail(upload.left))
    }
    const { filename, content } = upload.right
    // untraced: with tracing off (the only case this path serves) spans are pure cost
    run(Effect.withTracerEnabled(scriptorium.submit<never>({ filename, content }), false), {
      onExit: (exit) => {
        // an interrupted submission (the server stopping) may have left a write behind: its buffer is not reused
        if (!Exit.isInterrupted(exit)) done()
        if (Exit.isFailure(exit)) return refuse(res, exit.cause)
        send(res, 200, { job_id: exit.value.job_id, status: "pending", message: processPdfMessage })
      }
    })
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    const allowed = headerAllows(req.headers.authorization, options.token)
    if (req.method !== "POST" || !uploadPath.test(req.url ?? "") || !allowed) {
      return next(req, res)
    }
    const boundary = MultipartBody.boundaryOf(req.headers["content-type"])
    const declared = req.headers["content-length"] === undefined ? undefined : Number(req.headers["content-length"])
    // the router answers these before reading the body (MissingFile, FileTooLarge)
    if (boundary === undefined || (declared !== undefined && !(declared <= limit))) return next(req, res)
    readBody(req, declared, limit, buffers, {
      onBody: (body, done) => submit(res, body, boundary, done),
      // the limit named is the file's, the one a user knows (the body may hold framing beside it)
      onTooLarge: () => refuse(res, Cause.fail(new FileTooLarge({ limit_bytes: options.maxUploadBytes })))
    })
  }
}

/**
 * Collects a request body into one buffer: taken from the pool at the size of its Content-Length when there is one
 * (no chunk list, no second copy), else gathered and joined. More than `limit` bytes stops the collecting at once. A
 * request that breaks off gets no answer: its client is gone. `onBody` gets the body and what to call once nothing
 * reads it any more.
 */
const readBody = (
  req: IncomingMessage,
  declared: number | undefined,
  limit: number,
  buffers: BodyBuffers.BodyBuffers,
  on: { readonly onBody: (body: Uint8Array, done: () => void) => void; readonly onTooLarge: () => void }
) => {
  const buffer = declared === undefined ? undefined : buffers.take(declared)
  const giveBack = () => {
    if (buffer !== undefined) buffers.give(buffer)
  }
  const chunks: Array<Buffer> = []
  let total = 0
  let done = false
  req.once("close", () => {
    // cut short: the client is gone, and so is the body
    if (done) return
    done = true
    giveBack()
  })
  const onData = (chunk: Buffer) => {
    if (done) return
    if (total + chunk.length > limit || (buffer !== undefined && total + chunk.length > buffer.length)) {
      done = true
      giveBack()
      return on.onTooLarge()
    }
    if (buffer === undefined) chunks.push(chunk)
    else chunk.copy(buffer, total)
    total += chunk.length
  }
  req.on("data", onData)
  req.once("end", () => {
    if (done) return
    done = true
    if (buffer !== undefined && total !== buffer.length) return giveBack() // cut short: the client is gone
    on.onBody(buffer ?? Buffer.concat(chunks, total), giveBack)
  })
}
