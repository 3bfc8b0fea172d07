/**
 * The Job record shared by the server, the workers and the clients, and the one function that says which status
 * changes are legal. Every store goes through `transition`, so an illegal change is the same typed error everywhere.
 */
import { Either, Schema } from "effect"
import { IllegalTransition } from "./Errors.js"

/** A job's id: a UUID, given out on submit. */
export const JobId = Schema.String.pipe(Schema.brand("JobId"))
/** A job's id: a UUID, given out on submit. */
export type JobId = typeof JobId.Type

/** Where a job is in its life: the seed's four statuses plus `cancelled`. */
export const JobStatus = Schema.Literal("pending", "processing", "completed", "failed", "cancelled")
/** Where a job is in its life: the seed's four statuses plus `cancelled`. */
export type JobStatus = typeof JobStatus.Type

/** The statuses a job never leaves. */
export const terminalStatuses: ReadonlySet<JobStatus> = new Set<JobStatus>(["completed", "failed", "cancelled"])

/** True when a job in this status will never change again. */
export const isTerminal = (status: JobStatus): boolean => terminalStatuses.has(status)

/** Options a submitter passes to the job's handler (OCR mode, page range, webhook...), kept as given. */
export const JobOptions = Schema.Record({ key: Schema.String, value: Schema.Unknown })
/** Options a submitter passes to the job's handler (OCR mode, page range, webhook...), kept as given. */
export type JobOptions = typeof JobOptions.Type

/**
 * The public job record. The first eight fields are seed 001's task table, with the same names and meaning; the rest
 * are ours. Dates travel as ISO-8601 strings.
 */
export class Job extends Schema.Class<Job>("Job")({
  job_id: JobId,
  status: JobStatus,
  filename: Schema.String,
  total_pages: Schema.Number,
  processed_pages: Schema.Number,
  created_at: Schema.Date,
  updated_at: Schema.Date,
  error_message: Schema.NullOr(Schema.String),
  completed_at: Schema.NullOr(Schema.Date),
  attempts: Schema.Number,
  max_attempts: Schema.Number,
  priority: Schema.Number,
  idempotency_key: Schema.NullOr(Schema.String),
  options: JobOptions
}) {}

/** The legal status changes: from each status, the statuses it may move to. */
const legal: Readonly<Record<JobStatus, ReadonlyArray<JobStatus>>> = {
  // claimed by a worker, or cancelled before it started
  pending: ["processing", "cancelled"],
  // finished, failed for good, handed back for a retry (or lost lease, or shutdown), or cancelled while running
  processing: ["completed", "failed", "pending", "cancelled"],
  completed: [],
  failed: [],
  cancelled: []
}

/** True when a job may move from `from` to `to`. */
export const canTransition = (from: JobStatus, to: JobStatus): boolean => legal[from].includes(to)

/** The status change from `from` to `to`, or an `IllegalTransition` naming both. */
export const transition = (
  jobId: string,
  from: JobStatus,
  to: JobStatus
): Either.Either<JobStatus, IllegalTransition> =>
  canTransition(from, to) ? Either.right(to) : Either.left(new IllegalTransition({ job_id: jobId, from, to }))
