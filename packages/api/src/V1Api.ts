/**
 * The resource-style API beside seed 001's routes, in the manner of the peer services (seeds 002-004): jobs under
 * `/v1/jobs` with status and result URLs, sync-or-async submission, cursor-paged lists, cancel, idempotency keys,
 * long-polling and webhooks; and the job's status as Server-Sent Events. `ScriptoriumApi` is both route families in
 * one HttpApi: the server serves it, the client derives from it, the OpenAPI document is generated from it.
 *
 * Errors travel in the seed API's one shape (`ErrorBody`). Every parameter decodes from any string; the handlers refuse
 * values they cannot use with `InvalidParameter`, in that shape.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, Multipart, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import {
  FileUrlFetchFailed,
  FileUrlNotAllowed,
  IdempotencyConflict,
  InvalidCursor,
  InvalidParameter,
  JobAlreadyFinished
} from "./Errors.js"
import { Job, JobOptions } from "./Job.js"
import { Authorization, ErrorBodies, ErrorBody, HealthGroup, JobIdPath, JobsGroup, ResultsGroup } from "./SeedApi.js"

/** The wire forms of the errors only the /v1 routes answer with. */
export const V1ErrorBodies = {
  InvalidParameter: ErrorBody(InvalidParameter),
  InvalidCursor: ErrorBody(InvalidCursor),
  IdempotencyConflict: ErrorBody(IdempotencyConflict),
  JobAlreadyFinished: ErrorBody(JobAlreadyFinished),
  FileUrlNotAllowed: ErrorBody(FileUrlNotAllowed),
  FileUrlFetchFailed: ErrorBody(FileUrlFetchFailed)
}

// ---------------------------------------------------------------------------------------------------------------------
// Webhooks

/** One attempt to deliver a job's webhook. */
export const WebhookAttempt = Schema.Struct({
  attempt: Schema.Number,
  at: Schema.Date,
  /** The receiver's HTTP status; null when no response came (refused, timed out). */
  status_code: Schema.NullOr(Schema.Number),
  /** Why the attempt failed; null when the receiver answered 2xx. */
  error: Schema.NullOr(Schema.String)
}).annotations({ identifier: "WebhookAttempt" })
export type WebhookAttempt = typeof WebhookAttempt.Type

/** A job's webhook: where it goes, how its delivery stands, and every attempt so far. */
export const Webhook = Schema.Struct({
  url: Schema.String,
  /** `pending` until the job ends; then `delivering` (retrying with backoff), `delivered` or `failed` (gave up). */
  state: Schema.Literal("pending", "delivering", "delivered", "failed"),
  /** When the next attempt is due, while delivering. */
  next_attempt_at: Schema.NullOr(Schema.Date),
  attempts: Schema.Array(WebhookAttempt)
}).annotations({ identifier: "Webhook" })
export type Webhook = typeof Webhook.Type

// ---------------------------------------------------------------------------------------------------------------------
// Jobs

/** A finished job's result, inline: the markdown, and the names of every output file. */
export const JobResult = Schema.Struct({
  markdown: Schema.String,
  markdown_det: Schema.String,
  /** Output names, e.g. `markdown.md`, `layout.pdf`, `images/0_0.jpg`; `images/` ones are served by the seed route. */
  outputs: Schema.Array(Schema.String)
}).annotations({ identifier: "JobResult" })
export type JobResult = typeof JobResult.Type

/**
 * A job as the /v1 routes show it: the status record (the same fields as `GET /result/{id}/status`), where to follow
 * and fetch it, its webhook, and (once completed, where the route says so) its result inline.
 */
export const JobView = Schema.Struct({
  ...Job.fields,
  /** `/v1/jobs/{id}`, relative to the API's root. */
  status_url: Schema.String,
  /** `/v1/jobs/{id}/result`, relative to the API's root. */
  result_url: Schema.String,
  /** `/result/{id}/events`: the status as Server-Sent Events. */
  events_url: Schema.String,
  webhook: Schema.NullOr(Webhook),
  /** Present on a completed job where the route inlines results. */
  result: Schema.optional(JobResult)
}).annotations({ identifier: "JobView" })
export type JobView = typeof JobView.Type

/** The answer to `POST /v1/jobs`: the job, and whether it ran synchronously (and if not, why not). */
export const SubmitResponse = Schema.Struct({
  ...JobView.fields,
  /** True when the job was queued and the call returned at once (202); false when it waited for the result (200). */
  async: Schema.Boolean,
  /**
   * Why a sync request was answered async: `page_count` (more pages than the server's sync limit), `timeout` (not
   * finished within the sync wait); null when the caller asked for async or the request ran sync.
   */
  async_reason: Schema.NullOr(Schema.Literal("page_count", "timeout"))
}).annotations({ identifier: "SubmitResponse" })
export type SubmitResponse = typeof SubmitResponse.Type

/** `POST /v1/jobs` as JSON: the file inline (base64) or by URL, plus the job's settings. */
export const SubmitJson = Schema.Struct({
  /** The file's name; default from `file_url`'s path, else `document.pdf`. */
  filename: Schema.optional(Schema.String),
  /** The file, base64-encoded. Exactly one of `content_base64` and `file_url`. */
  content_base64: Schema.optional(Schema.String),
  /** An http(s) URL the server fetches; its host must be on the server's allow-list (FILE_URL_ALLOWED_HOSTS). */
  file_url: Schema.optional(Schema.String),
  /** POSTed the job's status JSON, signed, when the job completes, fails or is cancelled. */
  webhook_url: Schema.optional(Schema.String),
  /** Higher runs first; default 0. */
  priority: Schema.optional(Schema.Number),
  /** Passed to the document handler as given. */
  options: Schema.optional(JobOptions)
}).annotations({ identifier: "SubmitJson" })
export type SubmitJson = typeof SubmitJson.Type

/** `POST /v1/jobs` as multipart form data: the file in `file`, and optionally `webhook_url` and `priority`. */
export const SubmitMultipart = HttpApiSchema.MultipartStream(Schema.Struct({
  file: Multipart.SingleFileSchema.annotations({
    jsonSchema: { type: "string", format: "binary", description: "The PDF (or page image) to process." }
  }),
  webhook_url: Schema.optional(Schema.String),
  priority: Schema.optional(Schema.String)
}))

/** The query of `POST /v1/jobs`. */
export const SubmitParams = Schema.Struct({
  /**
   * `true` (default): return at once with the pending job (202). `false`: wait for the result and return it inline
   * (200), unless the document has more pages than the server's sync limit or takes longer than its sync wait: then
   * it answers as async, with `async_reason`.
   */
  async: Schema.optional(Schema.String)
})

/** The headers of `POST /v1/jobs`. */
export const SubmitHeaders = Schema.Struct({
  /** The same key with the same file returns the same job; with another file it is 409 IdempotencyConflict. */
  "idempotency-key": Schema.optional(Schema.String)
})

/** The query of `GET /v1/jobs/{id}`. */
export const GetParams = Schema.Struct({
  /** Long-poll: hold the request up to this many seconds (at most 60) until the job reaches a terminal status. */
  wait: Schema.optional(Schema.String)
})

/** The query of `GET /v1/jobs`. */
export const ListParams = Schema.Struct({
  /** Only jobs with this status. */
  status: Schema.optional(Schema.String),
  /** 1..1000, default 100. */
  limit: Schema.optional(Schema.String),
  /** `next_cursor` of the previous page. */
  cursor: Schema.optional(Schema.String)
})

/** A page of `GET /v1/jobs`: newest first; `next_cursor` is null on the last page. */
export const JobList = Schema.Struct({
  jobs: Schema.Array(JobView),
  next_cursor: Schema.NullOr(Schema.String)
}).annotations({ identifier: "JobList" })
export type JobList = typeof JobList.Type


/** The /v1 jobs API. */
export class V1JobsGroup extends HttpApiGroup.make("v1")
  .add(
    HttpApiEndpoint.post("submit", "/v1/jobs")
      .setPayload(Schema.Union(SubmitJson, SubmitMultipart))
      .setUrlParams(SubmitParams)
      .setHeaders(SubmitHeaders)
      .addSuccess(SubmitResponse, { status: 202 })
      // a sync submission that finished: the same body, with its result inline
      .addSuccess(SubmitResponse, { status: 200 })
      .addError(ErrorBodies.MissingFile)
      .addError(ErrorBodies.EmptyFile)
      .addError(ErrorBodies.FileTooLarge)
      .addError(ErrorBodies.NotAPdf)
      .addError(ErrorBodies.EncryptedPdf)
      .addError(ErrorBodies.CorruptPdf)
      .addError(ErrorBodies.ImageTooLarge)
      .addError(ErrorBodies.ImageUnreadable)
      .addError(ErrorBodies.JobFailed)
      .addError(ErrorBodies.JobCancelled)
      .addError(ErrorBodies.JobNotFound)
      .addError(V1ErrorBodies.InvalidParameter)
      .addError(V1ErrorBodies.IdempotencyConflict)
      .addError(V1ErrorBodies.FileUrlNotAllowed)
      .addError(V1ErrorBodies.FileUrlFetchFailed)
      .annotate(
        OpenApi.Description,
        "Submit a file as multipart (`file`), or as JSON with `content_base64` or `file_url`. Async by default (202); " +
          "`?async=false` waits and answers 200 with the result inline. A sync job that fails answers 500 JobFailed."
      )
      .annotate(OpenApi.Summary, "Submit a document.")
  )
  .add(
    HttpApiEndpoint.get("get", "/v1/jobs/:job_id")
      .setPath(JobIdPath)
      .setUrlParams(GetParams)
      .addSuccess(JobView)
      .addError(ErrorBodies.JobNotFound)
      .addError(V1ErrorBodies.InvalidParameter)
      .annotate(OpenApi.Summary, "The job, with its result inline once completed; `?wait=` long-polls.")
  )
  .add(
    HttpApiEndpoint.get("result", "/v1/jobs/:job_id/result")
      .setPath(JobIdPath)
      .addSuccess(JobResult)
      .addError(ErrorBodies.JobNotFound)
      .addError(ErrorBodies.JobNotFinished)
      .addError(ErrorBodies.JobFailed)
      .addError(ErrorBodies.JobCancelled)
      .annotate(OpenApi.Summary, "The result of a completed job (202 while it runs, 500 if it failed).")
  )
  .add(
    HttpApiEndpoint.get("list", "/v1/jobs")
      .setUrlParams(ListParams)
      .addSuccess(JobList)
      .addError(ErrorBodies.InvalidStatusFilter)
      .addError(V1ErrorBodies.InvalidParameter)
      .addError(V1ErrorBodies.InvalidCursor)
      .annotate(OpenApi.Summary, "Jobs, newest first, a page at a time.")
  )
  .add(
    HttpApiEndpoint.del("cancel", "/v1/jobs/:job_id")
      .setPath(JobIdPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(ErrorBodies.JobNotFound)
      .addError(V1ErrorBodies.JobAlreadyFinished)
      .annotate(OpenApi.Summary, "Cancel a pending or running job (204); a finished job answers 409.")
  )
  .addError(ErrorBodies.StoreUnavailable)
  .middleware(Authorization)
{}

/** A job's status as Server-Sent Events: `event: status` with the status JSON on each change, then `event: end`. */
export const EventStream = HttpApiSchema.Text({ contentType: "text/event-stream" })

/** Live status for clients that can't use WebSockets. */
export class EventsGroup extends HttpApiGroup.make("events")
  .add(
    HttpApiEndpoint.get("events", "/result/:job_id/events")
      .setPath(JobIdPath)
      .addSuccess(EventStream)
      .addError(ErrorBodies.JobNotFound)
      .annotate(
        OpenApi.Description,
        "Server-Sent Events: the current status first, then one `status` event per change (the same JSON as " +
          "/result/{job_id}/status), then an `end` event after completed, failed or cancelled. The WebSocket " +
          "`/ws/{job_id}` sends the same messages."
      )
      .annotate(OpenApi.Summary, "The job's status as a stream of Server-Sent Events.")
  )
  .addError(ErrorBodies.StoreUnavailable)
  .middleware(Authorization)
{}

/** Both route families: seed 001's and /v1, with the event stream. */
export class ScriptoriumApi extends HttpApi.make("scriptorium")
  .add(JobsGroup)
  .add(ResultsGroup)
  .add(HealthGroup)
  .add(V1JobsGroup)
  .add(EventsGroup)
  .annotate(OpenApi.Title, "Scriptorium")
  .annotate(
    OpenApi.Description,
    "Durable, asynchronous PDF OCR jobs: upload a PDF, follow its status (poll, long-poll, Server-Sent Events, or the " +
      "WebSocket `/ws/{job_id}`), fetch markdown. Seed 001's routes, and the resource-style /v1 jobs API."
  )
{}
