/**
 * A JobStore over any @effect/sql client. The state machine lives in core's JobLifecycle; this module only reads a
 * record, asks the lifecycle what to do, and writes the answer back with compare-and-set on `version`, together with
 * the event it produced (and, when the job ends naming a webhook, its delivery: the outbox), in one transaction. The SQLite and PostgreSQL adapters differ only in how they claim (SKIP
 * LOCKED on PostgreSQL), how events are ordered, and how other processes are woken up; they pass those in as options.
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import {
  IdempotencyConflict,
  type IllegalTransition,
  InvalidCursor,
  type Job,
  type JobId,
  JobNotFound,
  LeaseLost,
  StoreUnavailable
} from "@scriptorium/api"
import {
  type Claimed,
  defaultRetryPolicy,
  type Inserted,
  type JobEventType,
  JobIds,
  JobLifecycle,
  type JobPage,
  type JobRecord,
  type JobStore,
  type Lease,
  type ListQuery,
  type NewJob,
  type RetryPolicy
} from "@scriptorium/core"
import { Clock, Data, Effect, Either, Option, type Scope, type Stream } from "effect"
import { type EventFeed, makeEventFeed } from "./EventFeed.js"
import { decodeRecord, encodeRecord, type Row } from "./Rows.js"
import { tables } from "./Schema.js"
import { enqueue, removeForJob } from "./SqlWebhookStore.js"

/** What differs between SQL dialects, and the store's tunables. */
export interface SqlJobStoreOptions {
  /** Turns a driver error into a sentence that says what went wrong and what to do. */
  readonly describeError: (error: SqlError) => string
  /** Appended to the claim's candidate query: `FOR UPDATE SKIP LOCKED` on PostgreSQL, nothing on SQLite. */
  readonly claimLock: string
  /**
   * Inserts a transaction's events in one statement. The dialect makes sure event numbers follow commit order
   * (PostgreSQL: under a transaction-scoped advisory lock; SQLite already has a single writer) and tells other
   * processes to look (PostgreSQL: NOTIFY). Default: a plain multi-row INSERT.
   */
  readonly insertEvents?: ((rows: ReadonlyArray<EventRow>) => Effect.Effect<void, SqlError>) | undefined
  /** Hints that another process wrote events (LISTEN); the event table stays the truth. */
  readonly wakeups: Stream.Stream<void, SqlError>
  /** How often the change feed looks for events written by other processes when no hint arrives. */
  readonly pollIntervalMs?: number | undefined
  /** Retry policy for failed attempts; jobs may override max_attempts. */
  readonly retry?: RetryPolicy | undefined
  /** How long the event history is kept for late subscribers; default 24 hours. */
  readonly eventRetentionMs?: number | undefined
  /**
   * Reads one job's row outside any transaction, for `get` (the status route, which clients poll): a dialect with a
   * cheaper way than a statement through @effect/sql gives it (SQLite: a prepared statement on a read-only connection
   * of its own). Default: the same query through the client.
   */
  readonly readJob?: ((id: string) => Effect.Effect<Row | undefined, SqlError>) | undefined
}

/** One row of the event log, as written. */
export interface EventRow {
  readonly job_id: string
  readonly type: JobEventType
  readonly at: number
  /** The job right after the change, as JSON. */
  readonly job: string
}

/** The compare-and-set lost: someone wrote the job between our read and our write; read again. */
class Conflict extends Data.TaggedError("Conflict") {}

/** Builds the store; the change feed's poller lives as long as the scope. */
export const make = (
  options: SqlJobStoreOptions
): Effect.Effect<JobStore, never, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const policy = options.retry ?? defaultRetryPolicy
    const retentionMs = options.eventRetentionMs ?? 24 * 60 * 60_000

    const unavailable = (error: SqlError) => new StoreUnavailable({ reason: options.describeError(error) })
    const orUnavailable = <A, E, R>(
      effect: Effect.Effect<A, E, R>
    ): Effect.Effect<A, Exclude<E, SqlError> | StoreUnavailable, R> =>
      Effect.catchIf(effect, isSqlError, (e) => Effect.fail(unavailable(e))) as Effect.Effect<
        A,
        Exclude<E, SqlError> | StoreUnavailable,
        R
      >

    const feed: EventFeed = yield* makeEventFeed({
      sql,
      pollIntervalMs: options.pollIntervalMs ?? 100,
      wakeups: options.wakeups,
      unavailable
    })

    const readRecord = (id: string) =>
      Effect.map(sql<Row>`SELECT * FROM ${sql(tables.jobs)} WHERE job_id = ${id}`, (rows) =>
        rows.length === 0 ? Option.none() : Option.some(decodeRecord(rows[0]!)))

    const insertEvents = options.insertEvents ??
      ((rows: ReadonlyArray<EventRow>) => Effect.asVoid(sql`INSERT INTO ${sql(tables.events)} ${sql.insert(rows.map((row) => ({ ...row })))}`))

    const eventRow = (type: JobEventType, record: JobRecord, now: number): EventRow => ({
      job_id: record.job_id,
      type,
      at: now,
      job: JSON.stringify(encodeRecord(record))
    })

    const appendEvent = (type: JobEventType, record: JobRecord, now: number) =>
      insertEvents([eventRow(type, record, now)])

    /** Writes `next` only if the row still has `expected`'s version; fails with Conflict otherwise. */
    const compareAndSet = (expected: JobRecord, next: JobRecord) =>
      Effect.flatMap(
        sql<Row>`UPDATE ${sql(tables.jobs)} SET ${sql.update(encodeRecord(next), ["job_id"])}
                 WHERE job_id = ${expected.job_id} AND version = ${expected.version} RETURNING job_id`,
        (rows) => rows.length === 1 ? Effect.void : Effect.fail(new Conflict())
      )

    /**
     * The one write path for single-job changes: read the record, let `decide` (which runs inside the transaction,
     * after any writes of its own, so SQLite takes its write lock first) return the change, store it with its event.
     * Retries when another writer got in between.
     */
    const mutate = <E1, E2>(
      id: string,
      missing: () => E1,
      decide: (record: JobRecord, now: number) => Effect.Effect<JobLifecycle.Change, E2 | SqlError>
    ): Effect.Effect<Job, E1 | E2 | StoreUnavailable> =>
      Effect.gen(function*() {
        const current = yield* readRecord(id)
        if (Option.isNone(current)) return yield* Effect.fail(missing())
        const now = yield* Clock.currentTimeMillis
        const change = yield* sql.withTransaction(
          Effect.gen(function*() {
            const change = yield* decide(current.value, now)
            yield* compareAndSet(current.value, change.record)
            yield* appendEvent(change.event, change.record, now)
            // the webhook outbox: a job that just ended commits its delivery with its status, or neither
            yield* enqueue(sql, change.record, now)
            return change
          })
        )
        feed.poke()
        return JobLifecycle.toJob(change.record)
      }).pipe(
        Effect.retry({ while: (e) => e instanceof Conflict, times: 50 }),
        Effect.catchIf((e): e is Conflict => e instanceof Conflict, () =>
          Effect.dieMessage(`Job ${id} changed 50 times while one write was being made`)),
        orUnavailable
      ) as Effect.Effect<Job, E1 | E2 | StoreUnavailable>

    const fromEither = <A, E>(either: Either.Either<A, E>): Effect.Effect<A, E> =>
      Either.match(either, { onLeft: Effect.fail, onRight: Effect.succeed })

    const notFound = (id: string) => () => new JobNotFound({ job_id: id })
    const leaseLost = (lease: Lease) => () => new LeaseLost({ job_id: lease.job_id })

    const insert = (input: NewJob): Effect.Effect<Inserted, IdempotencyConflict | StoreUnavailable> =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const record = JobLifecycle.created({
          job_id: input.job_id ?? JobIds.at(now),
          filename: input.filename,
          total_pages: input.total_pages ?? 0,
          options: input.options ?? {},
          priority: input.priority ?? 0,
          max_attempts: input.max_attempts ?? policy.max_attempts,
          idempotency_key: input.idempotency_key ?? null,
          fingerprint: input.fingerprint ?? null,
          now
        })
        const inserted = yield* sql.withTransaction(
          Effect.gen(function*() {
            const rows = yield* sql<Row>`INSERT INTO ${sql(tables.jobs)} ${sql.insert(encodeRecord(record))}
                                       ON CONFLICT DO NOTHING RETURNING job_id`
            if (rows.length === 0) return false
            yield* appendEvent("created", record, now)
            return true
          })
        )
        if (inserted) {
          feed.poke()
          return { job: JobLifecycle.toJob(record), created: true }
        }
        return yield* existingForKey(input)
      }).pipe(orUnavailable)

    /** An insert that hit an existing row: the same idempotency key (a repeat, or a conflict) or a reused job id. */
    const existingForKey = (input: NewJob) =>
      Effect.gen(function*() {
        const rows = input.idempotency_key === undefined
          ? []
          : yield* sql<Row>`SELECT * FROM ${sql(tables.jobs)} WHERE idempotency_key = ${input.idempotency_key}`
        if (rows.length === 0) {
          return yield* Effect.dieMessage(`Job id ${input.job_id} is already taken; job ids must be unique`)
        }
        const existing = decodeRecord(rows[0]!)
        if (existing.fingerprint !== (input.fingerprint ?? null)) {
          return yield* Effect.fail(
            new IdempotencyConflict({ idempotency_key: input.idempotency_key!, job_id: existing.job_id })
          )
        }
        return { job: JobLifecycle.toJob(existing), created: false }
      })

    const readForGet = options.readJob === undefined
      ? readRecord
      : (id: string) => Effect.map(options.readJob!(id), (row) => Option.map(Option.fromNullable(row), decodeRecord))

    const get = (id: JobId) =>
      Effect.flatMap(readForGet(id), Option.match({
        onNone: () => Effect.fail(new JobNotFound({ job_id: id })),
        onSome: (r) => Effect.succeed(JobLifecycle.toJob(r))
      })).pipe(orUnavailable)

    const list = (query: ListQuery): Effect.Effect<JobPage, InvalidCursor | StoreUnavailable> =>
      Effect.gen(function*() {
        const limit = Math.max(1, Math.min(1000, Math.floor(query.limit ?? 100)))
        const after = query.cursor === undefined ? undefined : yield* decodeCursor(query.cursor)
        const rows = yield* sql<Row>`SELECT * FROM ${sql(tables.jobs)} WHERE ${
          sql.and([
            ...(query.status === undefined ? [] : [sql`status = ${query.status}`]),
            ...(after === undefined
              ? []
              : [sql`(created_at < ${after.created_at} OR (created_at = ${after.created_at} AND job_id < ${after.job_id}))`])
          ])
        } ORDER BY created_at DESC, job_id DESC LIMIT ${limit + 1}`
        const records = rows.slice(0, limit).map(decodeRecord)
        const last = records[records.length - 1]
        return {
          jobs: records.map(JobLifecycle.toJob),
          next_cursor: rows.length > limit && last !== undefined ? encodeCursor(last) : null
        }
      }).pipe(orUnavailable)

    const claim = (o: { readonly worker_id: string; readonly limit: number; readonly lease_ms: number }) =>
      Effect.gen(function*() {
        if (o.limit <= 0) return []
        const now = yield* Clock.currentTimeMillis
        const batch = crypto.randomUUID()
        const claimed = yield* sql.withTransaction(
          Effect.gen(function*() {
            const rows = yield* sql<Row>`UPDATE ${sql(tables.jobs)} SET
                status = 'processing', attempts = attempts + 1, version = version + 1, updated_at = ${now},
                lease_token = CAST(${batch} AS TEXT) || ':' || job_id, lease_worker = ${o.worker_id},
                lease_expires_at = ${now + o.lease_ms}
              WHERE job_id IN (
                SELECT job_id FROM ${sql(tables.jobs)} WHERE status = 'pending' AND run_at <= ${now}
                ORDER BY priority DESC, run_at, created_at, job_id LIMIT ${o.limit} ${sql.literal(options.claimLock)}
              ) RETURNING *`
            const records = rows.map(decodeRecord).sort(byPriorityThenAge)
            if (records.length > 0) yield* insertEvents(records.map((r) => eventRow("started", r, now)))
            return records
          })
        )
        if (claimed.length > 0) feed.poke()
        return claimed.map((r): Claimed => ({
          job: JobLifecycle.toJob(r),
          lease: { job_id: r.job_id, token: r.lease_token!, worker_id: o.worker_id }
        }))
      }).pipe(orUnavailable)

    const heartbeat = (lease: Lease, lease_ms: number) =>
      Effect.gen(function*() {
        for (;;) {
          const current = yield* readRecord(lease.job_id)
          if (Option.isNone(current)) return "lost" as const
          const now = yield* Clock.currentTimeMillis
          const beat = JobLifecycle.heartbeat(current.value, lease, now, lease_ms)
          if (beat.record === undefined) return beat.result
          // no event: a heartbeat changes nothing a watcher cares about
          const written = yield* Effect.either(compareAndSet(current.value, beat.record))
          if (Either.isRight(written)) return beat.result
        }
      }).pipe(orUnavailable)

    const setTotalPages = (lease: Lease, total: number) =>
      mutate(lease.job_id, leaseLost(lease), (r, now) => fromEither(JobLifecycle.setTotalPages(r, lease, total, now)))

    const checkpoint = (lease: Lease, page: number) =>
      mutate(lease.job_id, leaseLost(lease), (r, now) =>
        Effect.gen(function*() {
          if (!JobLifecycle.holds(r, lease)) return yield* Effect.fail(leaseLost(lease)())
          yield* sql`INSERT INTO ${sql(tables.pages)} (job_id, page, created_at) VALUES (${lease.job_id}, ${page}, ${now})
                     ON CONFLICT DO NOTHING`
          const [count] = yield* sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM ${sql(tables.pages)}
                                                            WHERE job_id = ${lease.job_id}`
          return yield* fromEither(JobLifecycle.checkpointed(r, lease, Number(count!.n), now))
        }))

    const checkpoints = (id: JobId) =>
      Effect.map(
        sql<{ page: number | string }>`SELECT page FROM ${sql(tables.pages)} WHERE job_id = ${id} ORDER BY page`,
        (rows) => rows.map((row) => Number(row.page))
      ).pipe(orUnavailable)

    const complete = (lease: Lease) =>
      mutate(lease.job_id, leaseLost(lease), (r, now) => fromEither(JobLifecycle.complete(r, lease, now)))

    const fail = (lease: Lease, error: string, o: { readonly retryable: boolean }) =>
      mutate(
        lease.job_id,
        leaseLost(lease),
        (r, now) => fromEither(JobLifecycle.fail(r, lease, error, o.retryable, policy, now))
      )

    const release = (lease: Lease) =>
      mutate(lease.job_id, leaseLost(lease), (r, now) => fromEither(JobLifecycle.release(r, lease, now)))

    const cancel = (id: JobId) =>
      mutate(id, notFound(id), (r, now) => fromEither(JobLifecycle.cancel(r, now)))

    const remove = (id: JobId) =>
      Effect.gen(function*() {
        const current = yield* readRecord(id)
        if (Option.isNone(current)) return yield* Effect.fail(new JobNotFound({ job_id: id }))
        const now = yield* Clock.currentTimeMillis
        yield* sql.withTransaction(
          Effect.gen(function*() {
            const rows = yield* sql<Row>`DELETE FROM ${sql(tables.jobs)}
                                       WHERE job_id = ${id} AND version = ${current.value.version} RETURNING job_id`
            if (rows.length === 0) return yield* Effect.fail(new Conflict())
            yield* sql`DELETE FROM ${sql(tables.pages)} WHERE job_id = ${id}`
            yield* removeForJob(sql, id)
            yield* appendEvent("deleted", current.value, now)
          })
        )
        feed.poke()
        return JobLifecycle.toJob(current.value)
      }).pipe(
        Effect.retry({ while: (e) => e instanceof Conflict, times: 50 }),
        Effect.catchIf((e): e is Conflict => e instanceof Conflict, () => Effect.dieMessage(`Job ${id} kept changing`)),
        orUnavailable
      ) as Effect.Effect<Job, JobNotFound | StoreUnavailable>

    const reap = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const expired = yield* sql<Row>`SELECT job_id FROM ${sql(tables.jobs)}
                                      WHERE status = 'processing' AND lease_expires_at < ${now}`
      let reaped = 0
      for (const row of expired) {
        const id = String(row.job_id)
        const outcome = yield* Effect.either(mutate(id, notFound(id), (r, now): Effect.Effect<
          JobLifecycle.Change,
          IllegalTransition | NotExpired
        > =>
          JobLifecycle.leaseExpired(r, now)
            ? fromEither(JobLifecycle.expire(r, policy, now))
            : Effect.fail(new NotExpired())))
        if (Either.isRight(outcome)) reaped++
        else if (outcome.left._tag === "StoreUnavailable") return yield* Effect.fail(outcome.left)
      }
      yield* sql`DELETE FROM ${sql(tables.events)} WHERE at < ${now - retentionMs}`
      return reaped
    }).pipe(orUnavailable)

    return {
      insert,
      get,
      list,
      claim,
      heartbeat,
      setTotalPages,
      checkpoint,
      checkpoints,
      complete,
      fail,
      release,
      cancel,
      delete: remove,
      reap,
      changes: (query) => feed.changes(query ?? {})
    } satisfies JobStore
  })

/** A lease-expiry candidate that heart-beat again between the scan and the write: leave it alone. */
class NotExpired extends Data.TaggedError("NotExpired") {}

const isSqlError = (u: unknown): u is SqlError =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "SqlError"

const byPriorityThenAge = (a: JobRecord, b: JobRecord) =>
  b.priority - a.priority || a.run_at - b.run_at || a.created_at - b.created_at || compareIds(a.job_id, b.job_id)

/** Job ids in the order SQL sorts them (lower-case hex with the hyphens in the same places: as in any collation). */
const compareIds = (a: string, b: string) => a < b ? -1 : a > b ? 1 : 0

/** Cursors are opaque to clients: the position after the last job of a page. */
const encodeCursor = (r: JobRecord): string =>
  Buffer.from(JSON.stringify([r.created_at, r.job_id])).toString("base64url")

const decodeCursor = (cursor: string): Effect.Effect<{ created_at: number; job_id: string }, InvalidCursor> =>
  Effect.try({
    try: () => {
      const [created_at, job_id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown[]
      if (typeof created_at !== "number" || !Number.isFinite(created_at) || typeof job_id !== "string") throw 0
      return { created_at, job_id }
    },
    catch: () => new InvalidCursor({ cursor })
  })
