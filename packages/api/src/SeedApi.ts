/**
 * The HTTP contract of seed 001, as an @effect/platform HttpApi: every route, its path and query parameters, its
 * request body, and the exact JSON it answers with, for each success and each error. The server implements it
 * (`@scriptorium/transport-http`), a client derives from it, and the OpenAPI document is generated from it.
 *
 * Errors travel in one shape, whatever the route: `{ "error": "<Tag>", "message": "<sentence>", "detail":
 * "<the same sentence>", ...the error's fields }` with the status of the error's class. `detail` is there for
 * FastAPI-style clients, which read that key. The shape is made here, once, by `ErrorBody`: a schema whose type is the
 * error class and whose encoded form is that JSON, so the server encodes and a client decodes the same thing.
 *
 * The seed's 202 for a result that is not ready is the error `JobNotFinished`: its body carries the seed's
 * `{ job_id, status, message }` (plus `error` and `detail`).
 *
 * @effect/platform adds its own `HttpApiDecodeError` (400, another shape) to every HttpApi, and it cannot be taken
 * out. No seed route can raise it: every parameter here decodes from any string (a `status` filter that is not a
 * status is refused by the handler, with `InvalidStatusFilter`), so it only appears in the OpenAPI document.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSchema, HttpApiSecurity, Multipart, OpenApi }
  from "@effect/platform"
import { Schema } from "effect"
import type * as AST from "effect/SchemaAST"
import {
  BlobNotFound,
  CorruptPdf,
  EmptyFile,
  EncryptedPdf,
  FileTooLarge,
  ImageTooLarge,
  ImageUnreadable,
  InvalidStatusFilter,
  JobCancelled,
  JobFailed,
  JobNotFinished,
  JobNotFound,
  MissingFile,
  NotAPdf,
  StoreUnavailable,
  Unauthorized
} from "./Errors.js"
import { Job, JobStatus } from "./Job.js"

// ---------------------------------------------------------------------------------------------------------------------
// Error bodies

/** A `Schema.TaggedError` class, as `ErrorBody` needs it. */
interface TaggedErrorClass<Self extends { readonly _tag: string; readonly message: string }> {
  new(props: any, disableValidation?: boolean): Self
  readonly identifier: string
  readonly fields: Schema.Struct.Fields
  readonly ast: AST.AST
}

/** The JSON an error is sent as. */
export interface ErrorBodyEncoded {
  readonly error: string
  readonly message: string
  readonly detail: string
  readonly [field: string]: unknown
}

/**
 * The wire form of an error class: its type is the class (handlers fail with `new JobNotFound(...)`, clients get one
 * back), its encoded form is `{ error, message, detail, ...fields }`, and it keeps the class's HTTP status.
 */
export const ErrorBody = <Self extends { readonly _tag: string; readonly message: string }>(
  error: TaggedErrorClass<Self>
): Schema.Schema<Self, ErrorBodyEncoded> => {
  const { _tag: _, ...fields } = error.fields
  // a TaggedError's identifier is its tag
  const tag = error.identifier
  const names = Object.keys(fields)
  const clash = names.find((name) => name === "error" || name === "message" || name === "detail")
  if (clash !== undefined) throw new Error(`ErrorBody: ${tag} has a field '${clash}', which the error body uses`)
  const body = Schema.Struct({
    error: Schema.Literal(tag),
    message: Schema.String,
    detail: Schema.String,
    ...fields
  }).annotations({ identifier: tag, description: `${tag}: the error's message (also as detail) and its fields.` })
  return Schema.transform(body, Schema.typeSchema(error as unknown as Schema.Schema<Self>), {
    strict: false,
    decode: (wire: Record<string, unknown>) => new error(Object.fromEntries(names.map((name) => [name, wire[name]]))),
    encode: (value: Self) => ({
      error: value._tag,
      message: value.message,
      detail: value.message,
      ...Object.fromEntries(names.map((name) => [name, (value as Record<string, unknown>)[name]]))
    })
  }).annotations(HttpApiSchema.annotations({ status: HttpApiSchema.getStatusError(error as any) })) as any
}

/** The wire forms of the errors the seed routes answer with. */
export const ErrorBodies = {
  JobNotFound: ErrorBody(JobNotFound),
  JobNotFinished: ErrorBody(JobNotFinished),
  JobFailed: ErrorBody(JobFailed),
  JobCancelled: ErrorBody(JobCancelled),
  BlobNotFound: ErrorBody(BlobNotFound),
  EmptyFile: ErrorBody(EmptyFile),
  MissingFile: ErrorBody(MissingFile),
  FileTooLarge: ErrorBody(FileTooLarge),
  NotAPdf: ErrorBody(NotAPdf),
  EncryptedPdf: ErrorBody(EncryptedPdf),
  CorruptPdf: ErrorBody(CorruptPdf),
  ImageTooLarge: ErrorBody(ImageTooLarge),
  ImageUnreadable: ErrorBody(ImageUnreadable),
  StoreUnavailable: ErrorBody(StoreUnavailable),
  Unauthorized: ErrorBody(Unauthorized),
  InvalidStatusFilter: ErrorBody(InvalidStatusFilter)
}

// ---------------------------------------------------------------------------------------------------------------------
// Responses

/** `POST /process_pdf`: the job was queued. */
export const ProcessPdfResponse = Schema.Struct({
  job_id: Schema.String,
  status: Schema.Literal("pending"),
  message: Schema.String
}).annotations({ identifier: "ProcessPdfResponse" })

/** The message `POST /process_pdf` answers with, word for word the seed's. */
export const processPdfMessage = "PDF processing initiated. Use /result/{job_id}/status to check progress."

/** `GET /result/{job_id}/markdown` and `/markdown_det`: the document as markdown. */
export const MarkdownResponse = Schema.Struct({
  job_id: Schema.String,
  status: Schema.Literal("completed"),
  content: Schema.String
}).annotations({ identifier: "MarkdownResponse" })

/** `GET /result/{job_id}/images`: the names of the extracted images. */
export const ImagesResponse = Schema.Struct({
  job_id: Schema.String,
  status: Schema.Literal("completed"),
  images: Schema.Array(Schema.String),
  count: Schema.Number
}).annotations({ identifier: "ImagesResponse" })

/** `GET /tasks`: the jobs, newest first. */
export const TasksResponse = Schema.Struct({
  tasks: Schema.Array(Job),
  count: Schema.Number
}).annotations({ identifier: "TasksResponse" })

/** `DELETE /result/{job_id}`: the job and its files are gone. */
export const DeleteResponse = Schema.Struct({
  job_id: Schema.String,
  status: Schema.Literal("deleted")
}).annotations({ identifier: "DeleteResponse" })

/** `GET /health`. */
export const HealthResponse = Schema.Struct({
  status: Schema.Literal("healthy"),
  model_loaded: Schema.Boolean
}).annotations({ identifier: "HealthResponse" })

/** A PDF download. */
export const PdfFile = HttpApiSchema.Uint8Array({ contentType: "application/pdf" })
/** A JPEG download. */
export const JpegFile = HttpApiSchema.Uint8Array({ contentType: "image/jpeg" })

// ---------------------------------------------------------------------------------------------------------------------
// Security

/**
 * Bearer authentication (`Authorization: Bearer <token>`). The server checks it when it was given a token (AUTH_TOKEN)
 * and lets every request through when not. `/health`, `/openapi.json` and `/docs` never require it.
 */
export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("Authorization", {
  failure: ErrorBodies.Unauthorized,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

// ---------------------------------------------------------------------------------------------------------------------
// Routes

/** The path of a route about one job. */
export const JobIdPath = Schema.Struct({ job_id: Schema.String })

/**
 * The `status` filter of `GET /tasks`. Any value decodes (a repeated parameter is joined with commas), so the handler
 * answers a value that is not a status with `InvalidStatusFilter` in the one error shape; the documentation lists
 * the statuses.
 */
export const StatusFilter = Schema.transform(
  Schema.Union(Schema.String, Schema.Array(Schema.String)),
  Schema.String,
  { strict: true, decode: (value) => typeof value === "string" ? value : value.join(","), encode: (value) => value }
).annotations({
  jsonSchema: {
    type: "string",
    enum: [...JobStatus.literals],
    description: "Only the jobs with this status."
  }
})

/** The multipart body of `POST /process_pdf`: the PDF in the field `file`. */
export const UploadBody = HttpApiSchema.MultipartStream(Schema.Struct({
  file: Multipart.SingleFileSchema.annotations({
    jsonSchema: { type: "string", format: "binary", description: "The PDF to process." }
  })
}))

/** Submitting, following, listing and deleting jobs. */
export class JobsGroup extends HttpApiGroup.make("jobs")
  .add(
    HttpApiEndpoint.post("processPdf", "/process_pdf")
      .setPayload(UploadBody)
      .addSuccess(ProcessPdfResponse)
      .addError(ErrorBodies.MissingFile)
      .addError(ErrorBodies.EmptyFile)
      .addError(ErrorBodies.FileTooLarge)
      .addError(ErrorBodies.NotAPdf)
      .addError(ErrorBodies.EncryptedPdf)
      .addError(ErrorBodies.CorruptPdf)
      .addError(ErrorBodies.ImageTooLarge)
      .addError(ErrorBodies.ImageUnreadable)
      .annotate(OpenApi.Summary, "Upload a PDF for processing; returns at once with the job's id.")
  )
  .add(
    HttpApiEndpoint.get("status", "/result/:job_id/status")
      .setPath(JobIdPath)
      .addSuccess(Job)
      .addError(ErrorBodies.JobNotFound)
      .annotate(OpenApi.Summary, "The job's status and progress.")
  )
  .add(
    HttpApiEndpoint.get("tasks", "/tasks")
      .setUrlParams(Schema.Struct({ status: Schema.optional(StatusFilter) }))
      .addSuccess(TasksResponse)
      .addError(ErrorBodies.InvalidStatusFilter)
      .annotate(OpenApi.Summary, "Every job, optionally only those with one status.")
  )
  .add(
    HttpApiEndpoint.del("delete", "/result/:job_id")
      .setPath(JobIdPath)
      .addSuccess(DeleteResponse)
      .addError(ErrorBodies.JobNotFound)
      .annotate(OpenApi.Summary, "Cancels the job if it is running, then deletes its files and its record.")
  )
  .addError(ErrorBodies.StoreUnavailable)
  .middleware(Authorization)
{}

/**
 * A job's results; each answers 202 while the job is pending or processing, 404 for an unknown id, 500 if it failed
 * and 409 if it was cancelled.
 */
export class ResultsGroup extends HttpApiGroup.make("results")
  .add(
    HttpApiEndpoint.get("markdown", "/result/:job_id/markdown")
      .setPath(JobIdPath)
      .addSuccess(MarkdownResponse)
      .annotate(OpenApi.Summary, "The document as markdown.")
  )
  .add(
    HttpApiEndpoint.get("markdownDet", "/result/:job_id/markdown_det")
      .setPath(JobIdPath)
      .addSuccess(MarkdownResponse)
      .annotate(OpenApi.Summary, "The document as markdown with layout detection annotations.")
  )
  .add(
    HttpApiEndpoint.get("layoutPdf", "/result/:job_id/layout_pdf")
      .setPath(JobIdPath)
      .addSuccess(PdfFile)
      .annotate(OpenApi.Summary, "The PDF with the detected layout drawn on its pages.")
  )
  .add(
    HttpApiEndpoint.get("images", "/result/:job_id/images")
      .setPath(JobIdPath)
      .addSuccess(ImagesResponse)
      .annotate(OpenApi.Summary, "The names of the images extracted from the PDF.")
  )
  .add(
    HttpApiEndpoint.get("image", "/result/:job_id/images/:image_name")
      .setPath(Schema.Struct({ job_id: Schema.String, image_name: Schema.String }))
      .addSuccess(JpegFile)
      .annotate(OpenApi.Summary, "One extracted image.")
  )
  .addError(ErrorBodies.JobNotFinished)
  .addError(ErrorBodies.JobNotFound)
  .addError(ErrorBodies.JobFailed)
  .addError(ErrorBodies.JobCancelled)
  .addError(ErrorBodies.BlobNotFound)
  .addError(ErrorBodies.StoreUnavailable)
  .middleware(Authorization)
{}

/** Liveness, without authentication. */
export class HealthGroup extends HttpApiGroup.make("health")
  .add(
    HttpApiEndpoint.get("health", "/health")
      .addSuccess(HealthResponse)
      .annotate(OpenApi.Summary, "Whether the service is up and its models are loaded; needs no token.")
  )
{}

/** The API of seed 001. */
export class SeedApi extends HttpApi.make("scriptorium")
  .add(JobsGroup)
  .add(ResultsGroup)
  .add(HealthGroup)
  .annotate(OpenApi.Title, "Scriptorium")
  .annotate(OpenApi.Description, "Durable, asynchronous PDF OCR jobs: upload a PDF, poll its status, fetch markdown.")
{}
