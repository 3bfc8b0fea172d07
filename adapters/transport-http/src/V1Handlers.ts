/**
 * The handlers of the /v1 jobs API (group `v1` of `ScriptoriumApi`), written on the Scriptorium facade only: submit
 * (multipart, base64 or file_url; async, or sync with its result inline), get (with `?wait=` long-polling), result,
 * list (cursor pages, newest first) and cancel. Every failure is one of the contract's errors, in its one JSON shape.
 */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import {
  IllegalTransition,
  InvalidBlobKey,
  InvalidParameter,
  InvalidStatusFilter,
  isTerminal,
  JobAlreadyFinished,
  JobCancelled,
  JobFailed,
  JobStatus,
  ScriptoriumApi,
  SubmitResponse,
  WaitTimedOut
} from "@scriptorium/api"
import { Scriptorium, Webhooks } from "@scriptorium/core"
import { Effect, Schema } from "effect"
import * as JobViews from "./internal/JobViews.js"
import { readSubmission } from "./internal/SubmitRequest.js"

/** What the /v1 handlers need to know. */
export interface V1HandlersConfig {
  /** The largest upload accepted, in bytes, whichever way the file comes. */
  readonly maxUploadBytes: number
  /** `host` or `host:port` entries a `file_url` may name; empty: file_url is refused. */
  readonly fileUrlAllowedHosts: ReadonlyArray<string>
  /** The path the API is mounted at ("" at the root), for the URLs in job views. */
  readonly basePath: string
  /** The hosts a webhook_url may name; undefined: any. */
  readonly webhookAllowedHosts: ReadonlyArray<string> | undefined
  /** How long fetching a `file_url` may take, redirects and body included. */
  readonly fileUrlTimeoutMs: number
  /** How many redirects a `file_url` may take. */
  readonly fileUrlMaxRedirects: number
  /** A sync submission of a document with more pages than this is answered async (`async_reason: page_count`). */
  readonly syncMaxPages: number
  /** How long a sync submission waits for its job before it is answered async (`async_reason: timeout`). */
  readonly syncWaitMs: number
}

/** The longest `?wait=` of `GET /v1/jobs/{id}`, in seconds. */
export const maxWaitSeconds = 60

const isJobStatus = Schema.is(JobStatus)
const encodeSubmitResponse = Schema.encode(SubmitResponse)

/** `?async=`: true when absent. */
const asyncMode = (value: string | undefined): Effect.Effect<boolean, InvalidParameter> =>
  value === undefined || value === "true"
    ? Effect.succeed(true)
    : value === "false"
    ? Effect.succeed(false)
    : Effect.fail(new InvalidParameter({ name: "async", value, expected: "true or false" }))

/** `?wait=`: seconds, 0 to 60, as milliseconds; 0 when absent. */
const waitMillis = (value: string | undefined): Effect.Effect<number, InvalidParameter> => {
  if (value === undefined) return Effect.succeed(0)
  const seconds = /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : Number.NaN
  return seconds >= 0 && seconds <= maxWaitSeconds
    ? Effect.succeed(Math.round(seconds * 1000))
    : Effect.fail(new InvalidParameter({ name: "wait", value, expected: `seconds from 0 to ${maxWaitSeconds}` }))
}

/** `?limit=`: 1..1000, default 100. */
const limitOf = (value: string | undefined): Effect.Effect<number, InvalidParameter> => {
  if (value === undefined) return Effect.succeed(100)
  const limit = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN
  return limit >= 1 && limit <= 1000
    ? Effect.succeed(limit)
    : Effect.fail(new InvalidParameter({ name: "limit", value, expected: "a whole number from 1 to 1000" }))
}

/** `Idempotency-Key`: absent when empty; at most 255 characters. */
const idempotencyKeyOf = (value: string | undefined): Effect.Effect<string | undefined, InvalidParameter> =>
  value === undefined || value.trim() === ""
    ? Effect.succeed(undefined)
    : value.length <= 255
    ? Effect.succeed(value)
    : Effect.fail(
      new InvalidParameter({ name: "Idempotency-Key", value, expected: "a key of at most 255 characters" })
    )

/** The handlers of the `v1` group. */
export const layer = (config: V1HandlersConfig) =>
  HttpApiBuilder.group(ScriptoriumApi, "v1", (handlers) =>
    Effect.gen(function*() {
      const scriptorium = yield* Scriptorium.Scriptorium
      const views = JobViews.make(scriptorium, yield* Effect.serviceOption(Webhooks.Webhooks), config.basePath)

      const respond = <E>(
        status: 200 | 202,
        view: Effect.Effect<Schema.Schema.Type<typeof SubmitResponse>, E>
      ) =>
        Effect.flatMap(view, (body) =>
          encodeSubmitResponse(body).pipe(
            Effect.orDie,
            Effect.flatMap((json) => HttpServerResponse.json(json, { status })),
            Effect.orDie
          ))

      return handlers
        // raw: the body is read once, from the request stream, whichever form it has (see internal/SubmitRequest.ts)
        .handleRaw("submit", ({ headers, request, urlParams }) =>
          Effect.gen(function*() {
            const async = yield* asyncMode(urlParams.async)
            const idempotency_key = yield* idempotencyKeyOf(headers["idempotency-key"])
            const submission = yield* readSubmission(
              {
                contentType: request.headers["content-type"],
                contentLength: request.headers["content-length"],
                body: request.stream
              },
              {
                maxUploadBytes: config.maxUploadBytes,
                webhookAllowedHosts: config.webhookAllowedHosts,
                fileUrl: {
                  allowedHosts: config.fileUrlAllowedHosts,
                  timeoutMs: config.fileUrlTimeoutMs,
                  maxRedirects: config.fileUrlMaxRedirects
                }
              }
            )
            const job = yield* scriptorium.submit<never>({ ...submission, idempotency_key }).pipe(
              Effect.catchIf((e) => e instanceof InvalidBlobKey, Effect.die)
            )
            const queued = (reason: "page_count" | "timeout" | null, current = job) =>
              respond(202, Effect.map(views.view(current), (view) => ({ ...view, async: true, async_reason: reason })))
            if (async) return yield* queued(null)
            if (job.total_pages > config.syncMaxPages) return yield* queued("page_count")
            const finished = yield* scriptorium.wait(job.job_id, { timeoutMs: config.syncWaitMs }).pipe(
              Effect.catchIf((e) => e instanceof WaitTimedOut, () => Effect.succeed(undefined))
            )
            if (finished === undefined || !isTerminal(finished.status)) {
              return yield* queued("timeout", yield* scriptorium.status(job.job_id))
            }
            if (finished.status === "failed") {
              return yield* new JobFailed({
                job_id: finished.job_id,
                error_message: finished.error_message ?? "unknown error"
              })
            }
            if (finished.status === "cancelled") return yield* new JobCancelled({ job_id: finished.job_id })
            return yield* respond(
              200,
              Effect.map(views.withResult(finished), (view) => ({ ...view, async: false, async_reason: null }))
            )
          }))
        .handle("get", ({ path, urlParams }) =>
          Effect.gen(function*() {
            const waitMs = yield* waitMillis(urlParams.wait)
            const job = waitMs === 0
              ? yield* scriptorium.status(path.job_id)
              : yield* scriptorium.wait(path.job_id, { timeoutMs: waitMs }).pipe(
                Effect.catchIf((e) => e instanceof WaitTimedOut, () => scriptorium.status(path.job_id))
              )
            return yield* views.withResult(job)
          }))
        .handle("result", ({ path }) => views.result(path.job_id))
        .handle("list", ({ urlParams }) =>
          Effect.gen(function*() {
            const status = urlParams.status
            if (status !== undefined && !isJobStatus(status)) return yield* new InvalidStatusFilter({ status })
            const limit = yield* limitOf(urlParams.limit)
            const cursor = urlParams.cursor === "" ? undefined : urlParams.cursor
            const page = yield* scriptorium.list({ status, limit, cursor })
            const jobs = yield* Effect.forEach(page.jobs, (job) => views.view(job))
            return { jobs, next_cursor: page.next_cursor }
          }))
        .handle("cancel", ({ path }) =>
          scriptorium.cancel(path.job_id).pipe(
            Effect.catchIf(
              (e) => e instanceof IllegalTransition,
              (e) => Effect.fail(new JobAlreadyFinished({ job_id: e.job_id, status: e.from }))
            ),
            Effect.asVoid
          ))
    }))
