/**
 * The job state machine as pure functions over a stored record: what claim, heartbeat, checkpoint, complete, fail,
 * release, cancel and lease expiry do to a job, and which event each one emits. Stores only persist what these
 * functions decide, so every adapter behaves the same and the rules are tested once, without a database.
 */
import { Job, type JobId, type JobOptions, type JobStatus, LeaseLost, transition } from "@scriptorium/api"
import type { IllegalTransition } from "@scriptorium/api"
import { Either } from "effect"
import type { HeartbeatResult, JobEventType, Lease } from "./JobStore.js"

/** A job as a store keeps it: the public fields plus the lease, the schedule and a version for compare-and-set. */
export interface JobRecord {
  readonly job_id: JobId
  readonly status: JobStatus
  readonly filename: string
  readonly total_pages: number
  readonly processed_pages: number
  /** Epoch milliseconds, as every time in a record. */
  readonly created_at: number
  readonly updated_at: number
  readonly completed_at: number | null
  readonly error_message: string | null
  readonly attempts: number
  readonly max_attempts: number
  readonly priority: number
  readonly idempotency_key: string | null
  readonly fingerprint: string | null
  readonly options: JobOptions
  /** A pending job is not claimed before this time (retry backoff). */
  readonly run_at: number
  readonly lease_token: string | null
  readonly lease_worker: string | null
  readonly lease_expires_at: number | null
  /** Bumped by every write, so a store can update "only if nobody changed it since I read it". */
  readonly version: number
}

/** How failed attempts are retried: exponential backoff from `base_delay_ms`, capped at `max_delay_ms`. */
export interface RetryPolicy {
  readonly max_attempts: number
  readonly base_delay_ms: number
  readonly max_delay_ms: number
}

/** Three attempts, 1 s then 2 s apart. */
export const defaultRetryPolicy: RetryPolicy = { max_attempts: 3, base_delay_ms: 1_000, max_delay_ms: 5 * 60_000 }

/** The delay before attempt `attempts + 1`, after `attempts` failed ones. */
export const retryDelay = (policy: RetryPolicy, attempts: number): number =>
  Math.min(policy.max_delay_ms, policy.base_delay_ms * 2 ** Math.max(0, attempts - 1))

/** A change decided by the state machine: the record to store and the event to publish. */
export interface Change {
  readonly record: JobRecord
  readonly event: JobEventType
}

/** The public view of a record. A store's records are valid by construction, so the schema's checks are skipped. */
export const toJob = (r: JobRecord): Job =>
  new Job({
    job_id: r.job_id,
    status: r.status,
    filename: r.filename,
    total_pages: r.total_pages,
    processed_pages: r.processed_pages,
    created_at: new Date(r.created_at),
    updated_at: new Date(r.updated_at),
    error_message: r.error_message,
    completed_at: r.completed_at === null ? null : new Date(r.completed_at),
    attempts: r.attempts,
    max_attempts: r.max_attempts,
    priority: r.priority,
    idempotency_key: r.idempotency_key,
    options: r.options
  }, { disableValidation: true })

/** True when `lease` is the live lease on `r`. */
export const holds = (r: JobRecord, lease: Lease): boolean =>
  r.status === "processing" && r.lease_token === lease.token

const noLease = { lease_token: null, lease_worker: null, lease_expires_at: null } as const

const touch = (r: JobRecord, now: number, patch: Partial<JobRecord>): JobRecord => ({
  ...r,
  ...patch,
  updated_at: now,
  version: r.version + 1
})

const owned = (r: JobRecord, lease: Lease): Either.Either<JobRecord, LeaseLost> =>
  holds(r, lease) ? Either.right(r) : Either.left(new LeaseLost({ job_id: r.job_id }))

/** Moves `r` to `to` if the job model allows it; `to` ends the job when it is terminal. */
const moveTo = (
  r: JobRecord,
  to: JobStatus,
  now: number,
  patch: Partial<JobRecord>
): Either.Either<JobRecord, IllegalTransition> =>
  Either.map(transition(r.job_id, r.status, to), (status) =>
    touch(r, now, {
      ...patch,
      status,
      ...(status === "pending" || status === "processing" ? {} : { completed_at: now, ...noLease })
    }))

/** A new pending record. */
export const created = (fields: {
  readonly job_id: JobId
  readonly filename: string
  readonly total_pages: number
  readonly options: JobOptions
  readonly priority: number
  readonly max_attempts: number
  readonly idempotency_key: string | null
  readonly fingerprint: string | null
  readonly now: number
}): JobRecord => ({
  job_id: fields.job_id,
  status: "pending",
  filename: fields.filename,
  total_pages: fields.total_pages,
  processed_pages: 0,
  created_at: fields.now,
  updated_at: fields.now,
  completed_at: null,
  error_message: null,
  attempts: 0,
  max_attempts: fields.max_attempts,
  priority: fields.priority,
  idempotency_key: fields.idempotency_key,
  fingerprint: fields.fingerprint,
  options: fields.options,
  run_at: fields.now,
  ...noLease,
  version: 0
})

/** What a heartbeat finds, and the record with its lease extended when it is still held. */
export const heartbeat = (
  r: JobRecord,
  lease: Lease,
  now: number,
  lease_ms: number
): { readonly result: HeartbeatResult; readonly record?: JobRecord } => {
  if (r.status === "cancelled") return { result: "cancelled" }
  if (!holds(r, lease)) return { result: "lost" }
  return { result: "extended", record: touch(r, now, { lease_expires_at: now + lease_ms }) }
}

/** Records the page count. */
export const setTotalPages = (
  r: JobRecord,
  lease: Lease,
  total: number,
  now: number
): Either.Either<Change, LeaseLost> =>
  Either.map(owned(r, lease), (r) => ({ record: touch(r, now, { total_pages: total }), event: "progress" }))

/** Records a checkpointed page, given the number of distinct pages now checkpointed. */
export const checkpointed = (
  r: JobRecord,
  lease: Lease,
  processed: number,
  now: number
): Either.Either<Change, LeaseLost> =>
  Either.map(owned(r, lease), (r) => ({
    record: touch(r, now, { processed_pages: processed, total_pages: Math.max(r.total_pages, processed) }),
    event: "page"
  }))

/** Finishes the job. */
export const complete = (r: JobRecord, lease: Lease, now: number): Either.Either<Change, LeaseLost> =>
  Either.flatMap(owned(r, lease), (r) =>
    Either.mapBoth(moveTo(r, "completed", now, { error_message: null }), {
      onLeft: () => new LeaseLost({ job_id: r.job_id }),
      onRight: (record) => ({ record, event: "completed" as const })
    }))

/** Fails the attempt: retried after a backoff while attempts remain and the failure is retryable. */
export const fail = (
  r: JobRecord,
  lease: Lease,
  error: string,
  retryable: boolean,
  policy: RetryPolicy,
  now: number
): Either.Either<Change, LeaseLost> =>
  Either.flatMap(owned(r, lease), (r) => Either.mapLeft(failAttempt(r, error, retryable, policy, now), () =>
    new LeaseLost({ job_id: r.job_id })))

const failAttempt = (
  r: JobRecord,
  error: string,
  retryable: boolean,
  policy: RetryPolicy,
  now: number
): Either.Either<Change, IllegalTransition> =>
  retryable && r.attempts < r.max_attempts
    ? Either.map(
      moveTo(r, "pending", now, { error_message: error, run_at: now + retryDelay(policy, r.attempts), ...noLease }),
      (record) => ({ record, event: "retrying" as const })
    )
    : Either.map(moveTo(r, "failed", now, { error_message: error }), (record) => ({ record, event: "failed" as const }))

/** Hands a running job back without counting the attempt. */
export const release = (r: JobRecord, lease: Lease, now: number): Either.Either<Change, LeaseLost> =>
  Either.flatMap(owned(r, lease), (r) =>
    Either.mapBoth(
      moveTo(r, "pending", now, { attempts: Math.max(0, r.attempts - 1), run_at: now, ...noLease }),
      { onLeft: () => new LeaseLost({ job_id: r.job_id }), onRight: (record) => ({ record, event: "released" as const }) }
    ))

/** Cancels a pending or running job. */
export const cancel = (r: JobRecord, now: number): Either.Either<Change, IllegalTransition> =>
  Either.map(moveTo(r, "cancelled", now, {}), (record) => ({ record, event: "cancelled" as const }))

/** True when `r` is running under a lease that ran out before `now`. */
export const leaseExpired = (r: JobRecord, now: number): boolean =>
  r.status === "processing" && r.lease_expires_at !== null && r.lease_expires_at < now

/**
 * Returns a job whose worker stopped heart-beating to the queue (resuming after its checkpoints), or fails it when
 * it has used all its attempts: a job that kills its worker every time must not loop forever.
 */
export const expire = (r: JobRecord, policy: RetryPolicy, now: number): Either.Either<Change, IllegalTransition> => {
  const error = `The worker processing this job stopped responding (attempt ${r.attempts} of ${r.max_attempts}); ` +
    `it may have crashed or run out of memory.`
  return Either.map(failAttempt(r, error, true, { ...policy, base_delay_ms: 0 }, now), (c) => ({
    record: c.record,
    event: c.event === "retrying" ? "expired" : c.event
  }))
}
