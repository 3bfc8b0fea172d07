/**
 * The typed client of a Scriptorium server, as an Effect service: both route families (seed 001's and /v1) through
 * a client generated from the contract's HttpApi definition (`ScriptoriumApi`), so no route is written twice; plus
 * waiting for a job with exponential backoff and a progress callback, and watching it over the WebSocket with polling
 * as the fallback.
 *
 * Every failure is typed: the contract's own error classes as the server sent them (`JobNotFound`, `Unauthorized`,
 * `JobFailed`...), `WaitTimedOut` when a wait gives up, and `ClientError` / `ServerUnreachable` for an answer the
 * contract does not describe or no answer at all. `createClient` (Client.ts) is the same API with Promises.
 */
import {
  FetchHttpClient,
  HttpApiClient,
  HttpClient,
  HttpClientRequest
} from "@effect/platform"
import {
  type Job,
  JobCancelled,
  JobFailed,
  type JobList,
  type JobResult,
  type JobStatus,
  type JobView,
  ScriptoriumApi,
  type StoreUnavailable,
  SubmitResponse,
  WaitTimedOut
} from "@scriptorium/api"
import { Context, Duration, Effect, Layer, Option, Stream } from "effect"
import { ClientError, type ClientFailure, ServerUnreachable } from "./ClientErrors.js"
import * as JobSocket from "./internal/JobSocket.js"
import { normalize, type RawFailure, recordResponses } from "./internal/ResponseErrors.js"
import * as StatusPolling from "./internal/StatusPolling.js"

/** Where the server is, and its token. */
export interface ClientOptions {
  /** The API's root, e.g. `http://localhost:8000`, or `http://host/ocr` for a server mounted under a prefix. */
  readonly baseUrl: string
  /** Sent as `Authorization: Bearer <token>` on every request (and on the WebSocket upgrade). */
  readonly token?: string | undefined
}

/** A file to submit: its bytes, or a URL the server fetches (its host must be on the server's allow-list). */
export type SubmitInput =
  | { readonly filename: string; readonly content: Uint8Array }
  | { readonly file_url: string; readonly filename?: string | undefined }

/** How to submit. */
export interface SubmitOptions {
  /** Default true: answer at once. False: wait for the result (the server may still answer async, and says why). */
  readonly async?: boolean | undefined
  /** POSTed the job's status, signed, when it completes, fails or is cancelled. */
  readonly webhook_url?: string | undefined
  /** The same key with the same file returns the same job; with another file the server answers IdempotencyConflict. */
  readonly idempotency_key?: string | undefined
  /** Higher runs first; default 0. */
  readonly priority?: number | undefined
}

/** `get`'s long-poll. */
export interface GetOptions {
  /** Hold the request up to this many seconds (at most 60) until the job ends. */
  readonly wait?: number | undefined
}

/** `list`'s filter and page. */
export interface ListQuery {
  readonly status?: JobStatus | undefined
  /** 1..1000, default 100. */
  readonly limit?: number | undefined
  /** `next_cursor` of the previous page. */
  readonly cursor?: string | undefined
}

/** How `waitForCompletion` waits. */
export interface WaitOptions {
  /** Give up (WaitTimedOut) after this long; default: no limit. */
  readonly timeoutMs?: number | undefined
  /** Called with the job's first state and on each change of its status or page counts. */
  readonly onProgress?: ((job: Job) => void) | undefined
  /** The first polling delay, doubled while nothing changes and reset after a change; default 250 ms. */
  readonly initialDelayMs?: number | undefined
  /** The ceiling of the polling delay; default 5 s. */
  readonly maxDelayMs?: number | undefined
}

/** How `watch` follows a job. */
export interface WatchOptions {
  /** Poll the status route when the WebSocket cannot be opened or drops; default true. */
  readonly pollFallback?: boolean | undefined
}

const makeApi = (baseUrl: string, token: string | undefined) =>
  HttpApiClient.make(ScriptoriumApi, {
    baseUrl,
    transformClient: (client) =>
      recordResponses(
        token === undefined ? client : HttpClient.mapRequest(client, HttpClientRequest.bearerToken(token))
      )
  })

/** The client generated from `ScriptoriumApi`: every route of both families, with the contract's raw failures. */
export type ApiClient = Effect.Effect.Success<ReturnType<typeof makeApi>>

/** The failures of a generated call once normalized: its contract errors, ClientError, ServerUnreachable. */
export type CallError<F> = F extends (...args: ReadonlyArray<any>) => Effect.Effect<any, infer E, any>
  ? Exclude<E, RawFailure> | ClientFailure
  : never

/** The failures of `submit`. */
export type SubmitError = CallError<ApiClient["v1"]["submit"]>
/** The failures of `processPdf`. */
export type ProcessPdfError = CallError<ApiClient["jobs"]["processPdf"]>
/** The failures of `get`. */
export type GetError = CallError<ApiClient["v1"]["get"]>
/** The failures of `status`. */
export type StatusError = CallError<ApiClient["jobs"]["status"]>
/** The failures of `list`. */
export type ListError = CallError<ApiClient["v1"]["list"]>
/** The failures of `cancel`. */
export type CancelError = CallError<ApiClient["v1"]["cancel"]>
/** The failures of `result`. */
export type ResultError = CallError<ApiClient["v1"]["result"]>
/** The failures of `markdown`. */
export type MarkdownError = CallError<ApiClient["results"]["markdown"]>
/** The failures of `waitForCompletion`: the job did not complete, the wait gave up, or its status could not be read. */
export type WaitError = StatusError | JobFailed | JobCancelled | WaitTimedOut
/** The failures of `watch`. */
export type WatchError = StatusError | StoreUnavailable

/** The client's Effect API. */
export interface ScriptoriumClient {
  /** The generated client, for the routes without a method here (markdown_det, images, layout PDF, tasks, health...). */
  readonly api: ApiClient
  /** `POST /v1/jobs`: the file as multipart, or `file_url` as JSON. */
  readonly submit: (input: SubmitInput, options?: SubmitOptions) => Effect.Effect<SubmitResponse, SubmitError>
  /** Seed 001's `POST /process_pdf`. */
  readonly processPdf: (
    filename: string,
    content: Uint8Array
  ) => Effect.Effect<{ readonly job_id: string; readonly status: "pending"; readonly message: string }, ProcessPdfError>
  /** `GET /v1/jobs/{id}`: the job with its URLs, its webhook, and its result once completed. */
  readonly get: (id: string, options?: GetOptions) => Effect.Effect<JobView, GetError>
  /** Seed 001's `GET /result/{id}/status`. */
  readonly status: (id: string) => Effect.Effect<Job, StatusError>
  /** `GET /v1/jobs`: a page of jobs, newest first. */
  readonly list: (query?: ListQuery) => Effect.Effect<JobList, ListError>
  /** `DELETE /v1/jobs/{id}`: cancels a pending or running job. */
  readonly cancel: (id: string) => Effect.Effect<void, CancelError>
  /** `GET /v1/jobs/{id}/result`. */
  readonly result: (id: string) => Effect.Effect<JobResult, ResultError>
  /** Seed 001's `GET /result/{id}/markdown`: the document as markdown. */
  readonly markdown: (id: string) => Effect.Effect<string, MarkdownError>
  /** Polls the job's status with exponential backoff until it ends; succeeds with the job only if it completed. */
  readonly waitForCompletion: (id: string, options?: WaitOptions) => Effect.Effect<Job, WaitError>
  /** The job's current state and each change, over the WebSocket (or by polling), ending after a terminal status. */
  readonly watch: (id: string, options?: WatchOptions) => Stream.Stream<Job, WatchError>
}

/** The client's Effect API. */
export const ScriptoriumClient = Context.GenericTag<ScriptoriumClient>("@scriptorium/client/ScriptoriumClient")

/** A client of the server at `options.baseUrl`, over the HttpClient in context. */
export const make = (options: ClientOptions): Effect.Effect<ScriptoriumClient, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const baseUrl = options.baseUrl.replace(/\/+$/, "")
    const token = options.token === "" ? undefined : options.token
    const api = yield* makeApi(baseUrl, token)
    const call = normalize(baseUrl)
    const path = (id: string) => ({ job_id: id })

    const status = (id: string) => call(api.jobs.status({ path: path(id) }))

    const submit = (input: SubmitInput, submitOptions: SubmitOptions = {}) => {
      const request = {
        urlParams: defined({ async: submitOptions.async === undefined ? undefined : String(submitOptions.async) }),
        headers: defined({ "idempotency-key": submitOptions.idempotency_key })
      }
      return call(
        api.v1.submit(
          "content" in input
            ? { ...request, payload: submitForm(input, submitOptions) }
            : { ...request, payload: submitJson(input, submitOptions) }
        )
      )
    }

    const processPdf = (filename: string, content: Uint8Array) =>
      call(api.jobs.processPdf({ payload: fileForm(filename, content) }))

    const get = (id: string, getOptions: GetOptions = {}) =>
      call(api.v1.get({
        path: path(id),
        urlParams: defined({ wait: getOptions.wait === undefined ? undefined : String(getOptions.wait) })
      }))

    const list = (query: ListQuery = {}) =>
      call(api.v1.list({
        urlParams: defined({
          status: query.status,
          limit: query.limit === undefined ? undefined : String(query.limit),
          cursor: query.cursor
        })
      }))

    const waitForCompletion = (id: string, waitOptions: WaitOptions = {}): Effect.Effect<Job, WaitError> => {
      const onProgress = waitOptions.onProgress
      const followed = StatusPolling.changes(status(id), {
        initialDelayMs: waitOptions.initialDelayMs ?? StatusPolling.defaultBackoff.initialDelayMs,
        maxDelayMs: waitOptions.maxDelayMs ?? StatusPolling.defaultBackoff.maxDelayMs
      }).pipe(
        Stream.tap((job) => onProgress === undefined ? Effect.void : Effect.sync(() => onProgress(job))),
        Stream.runLast,
        Effect.map(Option.getOrThrow)
      )
      const timeoutMs = waitOptions.timeoutMs
      const bounded = timeoutMs === undefined ? followed : Effect.timeoutFail(followed, {
        duration: Duration.millis(timeoutMs),
        onTimeout: () => new WaitTimedOut({ job_id: id, timeout_ms: timeoutMs })
      })
      return Effect.flatMap(bounded, completedOnly)
    }

    const watch = (id: string, watchOptions: WatchOptions = {}): Stream.Stream<Job, WatchError> =>
      Stream.suspend(() => {
        let last: Job | undefined
        return JobSocket.statuses(baseUrl, id, token).pipe(
          Stream.tap((job) => Effect.sync(() => last = job)),
          Stream.catchTag("SocketUnavailable", (unavailable) =>
            watchOptions.pollFallback === false
              ? Stream.fail(socketFailure(baseUrl, unavailable))
              : StatusPolling.changes(status(id), StatusPolling.defaultBackoff, last))
        )
      })

    return ScriptoriumClient.of({
      api,
      submit,
      processPdf,
      get,
      status,
      list,
      cancel: (id) => call(api.v1.cancel({ path: path(id) })),
      result: (id) => call(api.v1.result({ path: path(id) })),
      markdown: (id) => Effect.map(call(api.results.markdown({ path: path(id) })), (answer) => answer.content),
      waitForCompletion,
      watch
    })
  })

/** The client as a layer, over `fetch`. */
export const layer = (options: ClientOptions): Layer.Layer<ScriptoriumClient> =>
  Layer.effect(ScriptoriumClient, make(options)).pipe(Layer.provide(FetchHttpClient.layer))

// ---------------------------------------------------------------------------------------------------------------------
// Internals

/** The job if it completed; its failure or cancellation as the contract's error otherwise. */
const completedOnly = (job: Job): Effect.Effect<Job, JobFailed | JobCancelled> => {
  switch (job.status) {
    case "failed":
      return Effect.fail(
        new JobFailed({ job_id: job.job_id, error_message: job.error_message ?? "the server recorded no reason" })
      )
    case "cancelled":
      return Effect.fail(new JobCancelled({ job_id: job.job_id }))
    default:
      return Effect.succeed(job)
  }
}

const fileForm = (filename: string, content: Uint8Array): FormData => {
  const form = new FormData()
  form.append("file", new Blob([new Uint8Array(content)]), filename)
  return form
}

const submitForm = (input: { readonly filename: string; readonly content: Uint8Array }, options: SubmitOptions) => {
  const form = fileForm(input.filename, input.content)
  if (options.webhook_url !== undefined) form.append("webhook_url", options.webhook_url)
  if (options.priority !== undefined) form.append("priority", String(options.priority))
  return form
}

const submitJson = (input: { readonly file_url: string; readonly filename?: string | undefined }, options: SubmitOptions) =>
  defined({
    file_url: input.file_url,
    filename: input.filename,
    webhook_url: options.webhook_url,
    priority: options.priority
  })

/** The object without its undefined fields (which would otherwise be sent as empty parameters). */
const defined = <T extends Record<string, unknown>>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as any

const socketFailure = (baseUrl: string, unavailable: JobSocket.SocketUnavailable): ClientFailure =>
  unavailable.unreachable
    ? new ServerUnreachable({ url: baseUrl, reason: unavailable.reason })
    : new ClientError({ status: null, error: null, reason: `the job's WebSocket is unavailable: ${unavailable.reason}` })
