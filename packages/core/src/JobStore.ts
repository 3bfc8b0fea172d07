/**
 * JobStore: the durable queue and the source of truth for every job. Adapters (SQLite, PostgreSQL) implement it and
 * prove it with the conformance suite in `@scriptorium/core/testing`; everything else (worker, facade, transports)
 * depends on this interface only.
 */
import type {
  IdempotencyConflict,
  IllegalTransition,
  InvalidCursor,
  Job,
  JobId,
  JobNotFound,
  JobOptions,
  JobStatus,
  LeaseLost,
  StoreUnavailable
} from "@scriptorium/api"
import { Context, type Effect, type Stream } from "effect"

/** What a submitter gives to create a job. */
export interface NewJob {
  /** A UUID chosen by the caller (so blobs can be written before the row); one is generated when absent. */
  readonly job_id?: JobId | undefined
  readonly filename: string
  /** The page count when already known (admission read it); 0 otherwise. */
  readonly total_pages?: number | undefined
  readonly options?: JobOptions | undefined
  /** Higher runs first; default 0. */
  readonly priority?: number | undefined
  /** How many times the job may be tried before it fails for good; default from the store's retry policy. */
  readonly max_attempts?: number | undefined
  /** Submitting twice with the same key returns the first job instead of creating another. */
  readonly idempotency_key?: string | undefined
  /** A digest of the submission's content: the same key with another fingerprint is an `IdempotencyConflict`. */
  readonly fingerprint?: string | undefined
}

/** The outcome of an insert: the job, and whether this call created it (false: an idempotent repeat). */
export interface Inserted {
  readonly job: Job
  readonly created: boolean
}

/** A worker's claim on a running job. Every write a worker makes carries it; a stale lease is refused. */
export interface Lease {
  readonly job_id: JobId
  /** Unique per claim: a job claimed again after its lease expired gets a new token. */
  readonly token: string
  readonly worker_id: string
}

/** A job handed to a worker, with its lease. */
export interface Claimed {
  readonly job: Job
  readonly lease: Lease
}

/** What a heartbeat learned: the lease was extended, the job was cancelled, or the lease is gone. */
export type HeartbeatResult = "extended" | "cancelled" | "lost"

/** Kinds of change the feed reports, one per transition (and per page checkpoint). */
export type JobEventType =
  | "created"
  | "started"
  | "progress"
  | "page"
  | "completed"
  | "retrying"
  | "released"
  | "expired"
  | "failed"
  | "cancelled"
  | "deleted"

/** One change to one job, with the job as it stood right after the change. `seq` increases in commit order. */
export interface JobEvent {
  readonly seq: number
  readonly type: JobEventType
  readonly job: Job
}

/** A page of `list`, newest first; pass `next_cursor` back to get the next page. */
export interface JobPage {
  readonly jobs: ReadonlyArray<Job>
  readonly next_cursor: string | null
}

/** How `list` is filtered and paged. */
export interface ListQuery {
  readonly status?: JobStatus | undefined
  /** 1..1000, default 100. */
  readonly limit?: number | undefined
  readonly cursor?: string | undefined
}

/** How the change feed is read. */
export interface ChangesQuery {
  /**
   * Replay stored events after this sequence number first, then follow live. `"latest"` (with `job_id`) starts at
   * the job's most recent event, i.e. its current state.
   */
  readonly after?: number | "latest" | undefined
  /** Only this job's events. */
  readonly job_id?: JobId | undefined
}

/** How a failure is reported: retryable failures go back to pending with backoff until attempts run out. */
export interface FailOptions {
  readonly retryable: boolean
}

/** The store's durable queue operations. */
export interface JobStore {
  readonly insert: (job: NewJob) => Effect.Effect<Inserted, IdempotencyConflict | StoreUnavailable>
  readonly get: (id: JobId) => Effect.Effect<Job, JobNotFound | StoreUnavailable>
  readonly list: (query: ListQuery) => Effect.Effect<JobPage, InvalidCursor | StoreUnavailable>
  /** Takes up to `limit` runnable jobs (pending, due), highest priority then oldest first, each under a new lease. */
  readonly claim: (
    options: { readonly worker_id: string; readonly limit: number; readonly lease_ms: number }
  ) => Effect.Effect<ReadonlyArray<Claimed>, StoreUnavailable>
  /** Extends the lease; says when the job was cancelled or the lease lost, so the worker stops. */
  readonly heartbeat: (lease: Lease, lease_ms: number) => Effect.Effect<HeartbeatResult, StoreUnavailable>
  /** Records the job's page count once known. */
  readonly setTotalPages: (lease: Lease, total: number) => Effect.Effect<Job, LeaseLost | StoreUnavailable>
  /** Records that `page` (0-based) is done and its output stored; processed_pages counts distinct pages. */
  readonly checkpoint: (lease: Lease, page: number) => Effect.Effect<Job, LeaseLost | StoreUnavailable>
  /** The pages checkpointed so far, ascending: a resumed job skips them. */
  readonly checkpoints: (id: JobId) => Effect.Effect<ReadonlyArray<number>, StoreUnavailable>
  readonly complete: (lease: Lease) => Effect.Effect<Job, LeaseLost | StoreUnavailable>
  /** Fails the attempt: back to pending after a backoff when retryable and attempts remain, else failed for good. */
  readonly fail: (
    lease: Lease,
    error: string,
    options: FailOptions
  ) => Effect.Effect<Job, LeaseLost | StoreUnavailable>
  /** Hands a running job back to the queue without counting the attempt (worker shutdown). */
  readonly release: (lease: Lease) => Effect.Effect<Job, LeaseLost | StoreUnavailable>
  /** Cancels a pending or running job; a running job's worker hears of it through the feed and its heartbeat. */
  readonly cancel: (id: JobId) => Effect.Effect<Job, JobNotFound | IllegalTransition | StoreUnavailable>
  /** Removes the job, its checkpoints and its history (its blobs are the caller's to delete). */
  readonly delete: (id: JobId) => Effect.Effect<Job, JobNotFound | StoreUnavailable>
  /** Returns jobs whose lease expired to the queue (or fails them when out of attempts); the number reaped. */
  readonly reap: Effect.Effect<number, StoreUnavailable>
  /** Every change, in commit order, across processes. Never ends on its own. */
  readonly changes: (query?: ChangesQuery) => Stream.Stream<JobEvent, StoreUnavailable>
}

/** The JobStore service. */
export const JobStore = Context.GenericTag<JobStore>("@scriptorium/core/JobStore")
