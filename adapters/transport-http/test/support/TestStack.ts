/**
 * The real stack the /v1, SSE and seed-route tests run against: SQLite and a local blob directory in a temp folder,
 * the real PDF admission check, a real Worker running core's scenario handler (the real document pipeline, or another
 * course on demand by file name: `hold-*`, `fail-*`, `slow-*`; see ScenarioHandler in `@scriptorium/core/testing`),
 * and the HTTP API served on a free port (`HttpTransport.layer`), plus the same API with a bearer token mounted in a
 * plain node:http server (`makeNodeHandler`).
 *
 * Here a `hold-*` job holds with page 1 of 5 done, and a `slow-*` job waits 1.5 s, then runs the pipeline.
 */
import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { type JobHandler, type OcrEngine, Scriptorium, type WorkerConfig } from "@scriptorium/core"
import { makeScenarioHandler, scenarioEngine, type ScenarioServices } from "@scriptorium/core/testing"
import { LocalBlobStore } from "@scriptorium/storage-local"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { HttpTransport, type HttpTransportConfig } from "@scriptorium/transport-http"
import { Context, Effect, Layer, ManagedRuntime } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect } from "vitest"

const corpus = join(import.meta.dirname, "../../../../../shared/corpus")
/** 5 pages, with a text layer. */
export const digitalPdf = readFileSync(join(corpus, "pdfs-digital/docling_multi_page.pdf"))
/** 13 pages, with a text layer. */
export const longPdf = readFileSync(join(corpus, "pdfs-digital/mineru_demo1.pdf"))
/** 3 pages, with a text layer. */
export const shortPdf = readFileSync(join(corpus, "pdfs-digital/docling_code_and_formula.pdf"))

/** The token of the secured server. */
export const token = "s3cret-token"

/** The handler of every stack this file starts (unless `start` is given another). */
export const scenarios = makeScenarioHandler({ slow: { _tag: "LateStart", ms: 1_500 } })

/** Each `hold-*` job's progress (ticks, and when it was interrupted), by job id. */
export const holds = scenarios.holds

class SecuredHandler extends Context.Tag("test/SecuredHandler")<
  SecuredHandler,
  (req: IncomingMessage, res: ServerResponse) => void
>() {}

/** A running stack. */
export interface Stack {
  /** The temp folder of the stack's data: `jobs.db` and `blobs/`. */
  readonly dataDir: string
  /** The API without authentication. */
  readonly open: string
  /** The same API, requiring `Authorization: Bearer ${token}`, with the default configuration otherwise. */
  readonly secured: string
  /** Runs an effect with the stack's services (the facade, to drive a job from the side). */
  readonly run: <A, E>(effect: Effect.Effect<A, E, Scriptorium.Scriptorium | OcrEngine.OcrEngine>) => Promise<A>
  readonly stop: () => Promise<void>
}

/** What a suite may change in the stack beside the open API's configuration. */
export interface StackOptions {
  /** The worker's handler; default `scenarios.handler`. */
  readonly handler?: JobHandler<ScenarioServices>
  /** Worker settings over core's `scenarioWorker`. */
  readonly worker?: WorkerConfig
}

/** Starts the stack; `config` is the open API's configuration. */
export const start = async (config: HttpTransportConfig, options: StackOptions = {}): Promise<Stack> => {
  const dataDir = mkdtempSync(join(tmpdir(), "scriptorium-v1-"))
  const core = scenarioEngine(
    Layer.merge(
      SqliteJobStore.layer({ filename: join(dataDir, "jobs.db") }),
      LocalBlobStore.layer({ root: join(dataDir, "blobs") })
    ),
    options.handler ?? scenarios.handler,
    options.worker
  )
  const stack = Layer.merge(
    HttpTransport.layer(config).pipe(
      Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
    ),
    Layer.scoped(
      SecuredHandler,
      HttpTransport.makeNodeHandler({ authToken: token, maxUploadBytes: config.maxUploadBytes })
    )
  ).pipe(Layer.provideMerge(core))
  const runtime = ManagedRuntime.make(stack)
  const address = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (server) => server.address))
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  const server: Server = createServer(await runtime.runPromise(SecuredHandler))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    dataDir,
    open: `http://127.0.0.1:${address.port}`,
    secured: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    run: (effect) => runtime.runPromise(effect),
    stop: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await runtime.dispose()
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Request helpers

/** A file as a fetch body part. */
export const blob = (bytes: Uint8Array, type = "application/pdf") => new Blob([new Uint8Array(bytes)], { type })

/** The JSON of a response. */
export const json = async (response: Response) => (await response.json()) as Record<string, any>

/** Submits `bytes` under `filename` to `POST /v1/jobs` as multipart, with extra form fields. */
export const submitMultipart = (
  base: string,
  bytes: Uint8Array,
  filename: string,
  options: { fields?: Record<string, string>; query?: string; headers?: Record<string, string> } = {}
) => {
  const form = new FormData()
  form.append("file", blob(bytes), filename)
  for (const [name, value] of Object.entries(options.fields ?? {})) form.append(name, value)
  return fetch(`${base}/v1/jobs${options.query ?? ""}`, { method: "POST", body: form, headers: options.headers })
}

/** Submits a JSON body to `POST /v1/jobs`. */
export const submitJson = (base: string, body: unknown, query = "", headers: Record<string, string> = {}) =>
  fetch(`${base}/v1/jobs${query}`, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    headers: { "content-type": "application/json", ...headers }
  })

/** Submits a file async and returns its job id. */
export const submitFile = async (base: string, bytes: Uint8Array, filename: string) => {
  const response = await submitMultipart(base, bytes, filename)
  expect(response.status).toBe(202)
  return (await json(response)).job_id as string
}

/** Polls `GET /v1/jobs/{id}` until `until` holds. */
export const waitFor = async (
  base: string,
  id: string,
  until: (job: Record<string, any>) => boolean,
  timeoutMs = 30_000
) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const job = await json(await fetch(`${base}/v1/jobs/${id}`))
    if (until(job)) return job
    if (Date.now() > deadline) throw new Error(`job ${id} stayed ${job.status}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** True once the job is completed, failed or cancelled. */
export const terminal = (job: Record<string, any>) => ["completed", "failed", "cancelled"].includes(job.status)

/** Checks an error answer: its status, `{ error, message, detail }` with one sentence, and its fields. */
export const expectError = async (
  response: Response,
  status: number,
  error: string,
  fields: Record<string, unknown> = {}
) => {
  expect(response.status).toBe(status)
  expect(response.headers.get("content-type")).toContain("application/json")
  const body = await json(response)
  expect(body).toMatchObject({ error, ...fields })
  expect(typeof body.message).toBe("string")
  expect(body.message.length).toBeGreaterThan(10)
  expect(body.detail).toBe(body.message)
  return body
}

/** The fields of `GET /result/{id}/status`, in order. */
export const jobFields = [
  "job_id",
  "status",
  "filename",
  "total_pages",
  "processed_pages",
  "created_at",
  "updated_at",
  "error_message",
  "completed_at",
  "attempts",
  "max_attempts",
  "priority",
  "idempotency_key",
  "options"
]

// ---------------------------------------------------------------------------------------------------------------------
// Server-Sent Events

/** One received SSE message, or a comment. */
export interface SseMessage {
  readonly event: string
  readonly data: string
}

/**
 * Reads a `text/event-stream` response until it ends, or until `stopWhen` holds for the messages so far; comments
 * are kept as event `:comment`.
 */
export const readSse = async (
  response: Response,
  stopWhen: (messages: ReadonlyArray<SseMessage>) => boolean = () => false
): Promise<{ messages: Array<SseMessage>; ended: boolean }> => {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  const messages: Array<SseMessage> = []
  let buffer = ""
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return { messages, ended: true }
    buffer += value
    let end: number
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      if (block.startsWith(":")) {
        messages.push({ event: ":comment", data: block.slice(1).trim() })
        continue
      }
      const lines = block.split("\n")
      const event = lines.find((line) => line.startsWith("event: "))?.slice(7) ?? "message"
      const data = lines.filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)).join("\n")
      messages.push({ event, data })
    }
    if (stopWhen(messages)) {
      await reader.cancel()
      return { messages, ended: false }
    }
  }
}
