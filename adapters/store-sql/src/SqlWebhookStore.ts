/**
 * The WebhookStore over any @effect/sql client, and the outbox writes the SQL JobStore makes in its own transactions:
 * a delivery row when a job ends with a webhook, and the removal of a job's deliveries with the job. Claims lease
 * rows with one `UPDATE ... RETURNING` (plus `FOR UPDATE SKIP LOCKED` on PostgreSQL), and an attempt is recorded
 * only by the lease's holder, so dispatchers in several processes never record (or, within a lease, send) one
 * attempt twice.
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { isTerminal, type JobId, StoreUnavailable } from "@scriptorium/api"
import { type JobRecord, JobLifecycle, Webhooks } from "@scriptorium/core"
import { Clock, Effect, Option } from "effect"
import type { Row } from "./Rows.js"
import { tables } from "./Schema.js"

/** What differs between SQL dialects. */
export interface SqlWebhookStoreOptions {
  /** Turns a driver error into a sentence that says what went wrong and what to do. */
  readonly describeError: (error: SqlError) => string
  /** Appended to the claim's candidate query: `FOR UPDATE SKIP LOCKED` on PostgreSQL, nothing on SQLite. */
  readonly claimLock: string
}

/**
 * Writes the delivery a job's ending calls for (nothing when it named no webhook). Runs inside the transaction that
 * stores the ended job, so both commit or neither does; a second write for the same job is ignored.
 */
export const enqueue = (
  sql: SqlClient.SqlClient,
  record: JobRecord,
  now: number
): Effect.Effect<void, SqlError> =>
  // most writes (checkpoints, claims) leave the job running: skip them before building anything
  Option.match(isTerminal(record.status) ? Webhooks.deliveryFor(JobLifecycle.toJob(record), now) : Option.none(), {
    onNone: () => Effect.void,
    onSome: (d) =>
      Effect.asVoid(sql`INSERT INTO ${sql(tables.deliveries)} ${
        sql.insert({
          delivery_id: d.delivery_id,
          job_id: d.job_id,
          url: d.url,
          event: d.event,
          payload: d.payload,
          state: "delivering",
          attempts: 0,
          next_attempt_at: d.created_at,
          created_at: d.created_at,
          updated_at: d.created_at
        })
      } ON CONFLICT DO NOTHING`)
  })

/** Removes a job's deliveries and their attempts, inside the transaction that deletes the job. */
export const removeForJob = (sql: SqlClient.SqlClient, jobId: string): Effect.Effect<void, SqlError> =>
  Effect.asVoid(Effect.zipRight(
    sql`DELETE FROM ${sql(tables.attempts)} WHERE delivery_id IN (
          SELECT delivery_id FROM ${sql(tables.deliveries)} WHERE job_id = ${jobId})`,
    sql`DELETE FROM ${sql(tables.deliveries)} WHERE job_id = ${jobId}`
  ))

/** Builds the store on the client in context. */
export const make = (
  options: SqlWebhookStoreOptions
): Effect.Effect<Webhooks.WebhookStore, never, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const orUnavailable = <A>(effect: Effect.Effect<A, SqlError>): Effect.Effect<A, StoreUnavailable> =>
      Effect.mapError(effect, (e) => new StoreUnavailable({ reason: options.describeError(e) }))

    const claim = (o: { readonly owner: string; readonly limit: number; readonly lease_ms: number }) =>
      Effect.gen(function*() {
        if (o.limit <= 0) return []
        const now = yield* Clock.currentTimeMillis
        const batch = crypto.randomUUID()
        const leasable = sql`state = 'delivering' AND next_attempt_at <= ${now}
                             AND (lease_expires_at IS NULL OR lease_expires_at < ${now})`
        // the outer condition repeats the inner one: a row another claim took between our snapshot and our lock
        // is then left alone rather than taken twice
        const rows = yield* sql<Row>`UPDATE ${sql(tables.deliveries)} SET
            lease_token = CAST(${batch} AS TEXT) || ':' || delivery_id, lease_owner = ${o.owner},
            lease_expires_at = ${now + o.lease_ms}, updated_at = ${now}
          WHERE ${leasable} AND delivery_id IN (
            SELECT delivery_id FROM ${sql(tables.deliveries)} WHERE ${leasable}
            ORDER BY next_attempt_at, created_at, delivery_id LIMIT ${o.limit} ${sql.literal(options.claimLock)}
          ) RETURNING *`
        return rows
          .map((row): Webhooks.ClaimedDelivery => ({
            delivery_id: String(row.delivery_id),
            job_id: String(row.job_id) as JobId,
            url: String(row.url),
            event: String(row.event) as Webhooks.WebhookEvent,
            payload: String(row.payload),
            attempt: Number(row.attempts) + 1,
            lease_token: String(row.lease_token)
          }))
      }).pipe(orUnavailable)

    const record = (
      claimed: Webhooks.ClaimedDelivery,
      attempt: Webhooks.DeliveryAttempt,
      next: Webhooks.DeliveryNext
    ) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        return yield* sql.withTransaction(Effect.gen(function*() {
          // the write comes first, so SQLite takes its write lock up front
          const updated = yield* sql<Row>`UPDATE ${sql(tables.deliveries)} SET
              state = ${next.state}, attempts = ${claimed.attempt},
              next_attempt_at = ${next.state === "delivering" ? next.next_attempt_at : null},
              lease_token = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = ${now}
            WHERE delivery_id = ${claimed.delivery_id} AND lease_token = ${claimed.lease_token}
            RETURNING delivery_id`
          if (updated.length === 0) return false
          yield* sql`INSERT INTO ${sql(tables.attempts)} ${
            sql.insert({
              delivery_id: claimed.delivery_id,
              attempt: claimed.attempt,
              at: attempt.at,
              status_code: attempt.status_code,
              error: attempt.error
            })
          }`
          return true
        }))
      }).pipe(orUnavailable)

    const get = (id: JobId) =>
      Effect.gen(function*() {
        const [row] = yield* sql<Row>`SELECT * FROM ${sql(tables.deliveries)} WHERE job_id = ${id}`
        if (row === undefined) return Option.none()
        const attempts = yield* sql<Row>`SELECT * FROM ${sql(tables.attempts)}
                                         WHERE delivery_id = ${String(row.delivery_id)} ORDER BY attempt`
        return Option.some(decodeDelivery(row, attempts))
      }).pipe(orUnavailable)

    return { claim, record, get } satisfies Webhooks.WebhookStore
  })

const numberOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))

/** A delivery row and its attempt rows as a record; numbers go through Number() as PostgreSQL's BIGINTs are strings. */
const decodeDelivery = (row: Row, attempts: ReadonlyArray<Row>): Webhooks.DeliveryRecord => ({
  delivery_id: String(row.delivery_id),
  job_id: String(row.job_id) as JobId,
  url: String(row.url),
  event: String(row.event) as Webhooks.WebhookEvent,
  payload: String(row.payload),
  state: String(row.state) as Webhooks.DeliveryRecord["state"],
  next_attempt_at: numberOrNull(row.next_attempt_at),
  created_at: Number(row.created_at),
  attempts: attempts.map((a) => ({
    attempt: Number(a.attempt),
    at: Number(a.at),
    status_code: numberOrNull(a.status_code),
    error: a.error === null || a.error === undefined ? null : String(a.error)
  }))
})
