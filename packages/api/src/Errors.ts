/**
 * Every failure a caller can cause or meet, as a typed error with one HTTP status and one sentence that says what to
 * do. The status travels with the class (HttpApiSchema annotation) so the HTTP layer and the client agree on it.
 */
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

const JobStatusLiteral = Schema.Literal("pending", "processing", "completed", "failed", "cancelled")

/** No job has this id (never submitted, or deleted). */
export class JobNotFound extends Schema.TaggedError<JobNotFound>()(
  "JobNotFound",
  { job_id: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {
  override get message() {
    return `No job has the id '${this.job_id}': check the id that submit returned, or list the jobs that exist.`
  }
}

/** A status change the job model forbids, such as completing a cancelled job. */
export class IllegalTransition extends Schema.TaggedError<IllegalTransition>()(
  "IllegalTransition",
  { job_id: Schema.String, from: JobStatusLiteral, to: JobStatusLiteral },
  HttpApiSchema.annotations({ status: 409 })
) {
  override get message() {
    return `Job '${this.job_id}' is ${this.from} and cannot become ${this.to}; read its status before acting on it.`
  }
}

/** A worker wrote to a job whose lease it no longer holds: its write was refused and the new owner carries on. */
export class LeaseLost extends Schema.TaggedError<LeaseLost>()(
  "LeaseLost",
  { job_id: Schema.String },
  HttpApiSchema.annotations({ status: 409 })
) {
  override get message() {
    return `This worker no longer holds the lease on job '${this.job_id}' (it expired, or the job was cancelled or ` +
      `taken over), so its write was refused; raise the lease duration if jobs stall longer than it.`
  }
}

/** An idempotency key reused for a different submission. */
export class IdempotencyConflict extends Schema.TaggedError<IdempotencyConflict>()(
  "IdempotencyConflict",
  { idempotency_key: Schema.String, job_id: Schema.String },
  HttpApiSchema.annotations({ status: 409 })
) {
  override get message() {
    return `The idempotency key '${this.idempotency_key}' was already used for job '${this.job_id}' with different ` +
      `content; send a new key for a new submission.`
  }
}

/** A list cursor this server did not give out. */
export class InvalidCursor extends Schema.TaggedError<InvalidCursor>()(
  "InvalidCursor",
  { cursor: Schema.String },
  HttpApiSchema.annotations({ status: 400 })
) {
  override get message() {
    return `The cursor '${this.cursor.slice(0, 64)}' is not one this server gave out; list again without a cursor.`
  }
}

/** A blob key that is empty, absolute, or would escape its job's folder. */
export class InvalidBlobKey extends Schema.TaggedError<InvalidBlobKey>()(
  "InvalidBlobKey",
  { key: Schema.String, reason: Schema.String },
  HttpApiSchema.annotations({ status: 400 })
) {
  override get message() {
    return `The blob key '${this.key.slice(0, 200)}' is not allowed: ${this.reason}. Use a relative name such as ` +
      `'pages/0001.json'.`
  }
}

/** No blob is stored under this key. */
export class BlobNotFound extends Schema.TaggedError<BlobNotFound>()(
  "BlobNotFound",
  { key: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {
  override get message() {
    return `Nothing is stored under '${this.key}': the job has not produced it (yet), or it was deleted.`
  }
}

/** The job database or the blob storage could not be used (unreachable, locked, full). */
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()(
  "StoreUnavailable",
  { reason: Schema.String },
  HttpApiSchema.annotations({ status: 503 })
) {
  override get message() {
    return this.reason
  }
}

/** The job's result was asked for while it is still pending or processing. */
export class JobNotFinished extends Schema.TaggedError<JobNotFinished>()(
  "JobNotFinished",
  { job_id: Schema.String, status: JobStatusLiteral },
  HttpApiSchema.annotations({ status: 202 })
) {
  override get message() {
    return `Job '${this.job_id}' is still ${this.status}; wait and retry, or watch its status.`
  }
}

/** The job's result was asked for but the job failed. */
export class JobFailed extends Schema.TaggedError<JobFailed>()(
  "JobFailed",
  { job_id: Schema.String, error_message: Schema.String },
  HttpApiSchema.annotations({ status: 500 })
) {
  override get message() {
    return `Job '${this.job_id}' failed: ${this.error_message}`
  }
}

/** The job's result was asked for but the job was cancelled. */
export class JobCancelled extends Schema.TaggedError<JobCancelled>()(
  "JobCancelled",
  { job_id: Schema.String },
  HttpApiSchema.annotations({ status: 409 })
) {
  override get message() {
    return `Job '${this.job_id}' was cancelled before it finished; submit the file again to process it.`
  }
}

/** Waiting for a job gave up before the job finished. */
export class WaitTimedOut extends Schema.TaggedError<WaitTimedOut>()(
  "WaitTimedOut",
  { job_id: Schema.String, timeout_ms: Schema.Number },
  HttpApiSchema.annotations({ status: 408 })
) {
  override get message() {
    return `Job '${this.job_id}' did not finish within ${this.timeout_ms} ms; it is still running, wait again or ` +
      `raise the timeout.`
  }
}

/** An upload with no bytes. */
export class EmptyFile extends Schema.TaggedError<EmptyFile>()(
  "EmptyFile",
  { filename: Schema.String },
  HttpApiSchema.annotations({ status: 400 })
) {
  override get message() {
    return `The file '${this.filename}' is empty; upload the document's content (a PDF or a page image).`
  }
}

/** A request without the file to process. */
export class MissingFile extends Schema.TaggedError<MissingFile>()(
  "MissingFile",
  { field: Schema.String },
  HttpApiSchema.annotations({ status: 400 })
) {
  override get message() {
    return `No file was sent in the '${this.field}' field; send the PDF as multipart form data, e.g. ` +
      `curl -F "${this.field}=@document.pdf".`
  }
}

/** An upload larger than the configured limit. */
export class FileTooLarge extends Schema.TaggedError<FileTooLarge>()(
  "FileTooLarge",
  { limit_bytes: Schema.Number },
  HttpApiSchema.annotations({ status: 413 })
) {
  override get message() {
    return `The file is larger than the limit of ${formatBytes(this.limit_bytes)}; split it, or raise the ` +
      `server's upload limit (MAX_UPLOAD_MB).`
  }
}

/** An upload that is not a PDF (nor another accepted format). */
export class NotAPdf extends Schema.TaggedError<NotAPdf>()(
  "NotAPdf",
  { filename: Schema.String, detected: Schema.String },
  HttpApiSchema.annotations({ status: 415 })
) {
  override get message() {
    return `The file '${this.filename}' is not a PDF (it looks like ${this.detected}); upload a PDF, or a page ` +
      `image (PNG, JPEG, TIFF, WebP).`
  }
}

/** A PDF that needs a password. */
export class EncryptedPdf extends Schema.TaggedError<EncryptedPdf>()(
  "EncryptedPdf",
  { filename: Schema.String },
  HttpApiSchema.annotations({ status: 422 })
) {
  override get message() {
    return `The PDF '${this.filename}' is encrypted and needs a password; remove the password (e.g. qpdf ` +
      `--decrypt) and upload it again.`
  }
}

/** A PDF that cannot be read. */
export class CorruptPdf extends Schema.TaggedError<CorruptPdf>()(
  "CorruptPdf",
  { filename: Schema.String, reason: Schema.String },
  HttpApiSchema.annotations({ status: 422 })
) {
  override get message() {
    return `The PDF '${this.filename}' cannot be read (${this.reason}); check that the file is complete, or ` +
      `re-save it from a PDF viewer.`
  }
}

/** A request without the right bearer token. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  { reason: Schema.Literal("missing", "wrong") },
  HttpApiSchema.annotations({ status: 401 })
) {
  override get message() {
    return this.reason === "missing"
      ? "This server requires a token: send the header 'Authorization: Bearer <token>'."
      : "The bearer token is wrong; send the token the server was started with (AUTH_TOKEN)."
  }
}

/** `GET /tasks?status=` with a value that is not a job status. */
export class InvalidStatusFilter extends Schema.TaggedError<InvalidStatusFilter>()(
  "InvalidStatusFilter",
  { status: Schema.String },
  HttpApiSchema.annotations({ status: 400 })
) {
  override get message() {
    return `'${this.status.slice(0, 64)}' is not a job status; filter by one of ${JobStatusLiteral.literals.join(", ")}.`
  }
}

/** A byte count as a person reads it: "100 MB", "512 KB". */
const formatBytes = (bytes: number): string =>
  bytes >= 1024 * 1024
    ? `${Number((bytes / 1024 / 1024).toFixed(1))} MB`
    : bytes >= 1024
    ? `${Number((bytes / 1024).toFixed(1))} KB`
    : `${bytes} bytes`

/** An image whose pixels (or one frame's) are more than the limit; refused before decoding. */
export class ImageTooLarge extends Schema.TaggedError<ImageTooLarge>()(
  "ImageTooLarge",
  { filename: Schema.String, width: Schema.Number, height: Schema.Number, limit_pixels: Schema.Number },
  HttpApiSchema.annotations({ status: 413 })
) {
  override get message() {
    return `The image '${this.filename}' is ${this.width} x ${this.height} pixels, more than the limit of ` +
      `${(this.limit_pixels / 1e6).toFixed(0)} megapixels; scale it down (300 DPI is plenty for OCR) and upload it ` +
      `again.`
  }
}

/** An image that cannot be decoded: truncated, corrupt, or with a zero width or height. */
export class ImageUnreadable extends Schema.TaggedError<ImageUnreadable>()(
  "ImageUnreadable",
  { filename: Schema.String, format: Schema.String, reason: Schema.String },
  HttpApiSchema.annotations({ status: 422 })
) {
  override get message() {
    return `The ${this.format.toUpperCase()} image '${this.filename}' cannot be decoded (${this.reason}); check that ` +
      `the file is complete, or re-save it from an image editor.`
  }
}

/** A query or body parameter whose value cannot be used (`limit=abc`, `async=maybe`, bad base64...). */
export class InvalidParameter extends Schema.TaggedError<InvalidParameter>()(
  "InvalidParameter",
  { name: Schema.String, value: Schema.String, expected: Schema.String },
  HttpApiSchema.annotations({ status: 400 })
) {
  override get message() {
    return `The parameter '${this.name}' cannot be '${this.value.slice(0, 64)}'; expected ${this.expected}.`
  }
}

/** Cancelling a job that has already finished (completed, failed or cancelled). */
export class JobAlreadyFinished extends Schema.TaggedError<JobAlreadyFinished>()(
  "JobAlreadyFinished",
  { job_id: Schema.String, status: JobStatusLiteral },
  HttpApiSchema.annotations({ status: 409 })
) {
  override get message() {
    return `Job '${this.job_id}' is already ${this.status}, so there is nothing to cancel; delete it with ` +
      `DELETE /result/${this.job_id} to remove its files.`
  }
}

/** A `file_url` whose host is not on the server's allow-list (so the server cannot be aimed at internal addresses). */
export class FileUrlNotAllowed extends Schema.TaggedError<FileUrlNotAllowed>()(
  "FileUrlNotAllowed",
  { file_url: Schema.String, reason: Schema.String },
  HttpApiSchema.annotations({ status: 403 })
) {
  override get message() {
    return `The file_url '${this.file_url.slice(0, 200)}' is refused (${this.reason}); upload the file instead, or ` +
      `ask the operator to add its host to FILE_URL_ALLOWED_HOSTS.`
  }
}

/** A `file_url` that could not be fetched (unreachable, an HTTP error, too slow or too large). */
export class FileUrlFetchFailed extends Schema.TaggedError<FileUrlFetchFailed>()(
  "FileUrlFetchFailed",
  { file_url: Schema.String, reason: Schema.String },
  HttpApiSchema.annotations({ status: 502 })
) {
  override get message() {
    return `The file at '${this.file_url.slice(0, 200)}' could not be fetched (${this.reason}); check that the URL ` +
      `is reachable from the server, or upload the file instead.`
  }
}
