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
