/**
 * JobStore (and WebhookStore) on PostgreSQL: several workers on several machines share one queue. Claims use
 * `FOR UPDATE SKIP LOCKED` so concurrent workers never wait on each other's rows; event numbers are handed out under
 * a transaction-scoped advisory lock so they follow commit order (a sequence alone would let a reader skip an event
 * that commits late); NOTIFY wakes other processes at once, and the event table stays the truth when a notification
 * is lost.
 */
import { Reactivity } from "@effect/experimental"
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { StoreUnavailable } from "@scriptorium/api"
import { JobStore, type RetryPolicy, Webhooks } from "@scriptorium/core"
import { type EventRow, migrate, SqlJobStore, SqlWebhookStore, tables } from "@scriptorium/store-sql"
import { Context, Duration, Effect, Layer, Redacted, Schedule, type Scope, Stream } from "effect"

/** How to reach the database and how the store behaves. */
export interface PgJobStoreConfig {
  /** A `postgres://user:password@host:port/database` URL. */
  readonly url: string
  /** Pool size per process; default 10. */
  readonly maxConnections?: number | undefined
  /** How long to keep trying to reach the server at start before failing; default 10 s. */
  readonly connectRetryMs?: number | undefined
  /** How often the change feed polls when no notification arrives; default 1 s. */
  readonly pollIntervalMs?: number | undefined
  readonly retry?: RetryPolicy | undefined
  readonly eventRetentionMs?: number | undefined
}

/** The NOTIFY channel writers signal on. */
const channel = "scriptorium_jobs"
/** The advisory lock key that orders event numbers (an arbitrary constant: "scri" in ASCII). */
const eventLock = 0x73637269

/** Names this process in its notifications, so it can ignore its own. */
const instance = crypto.randomUUID()

/**
 * One statement per transaction's events: take the ordering lock, notify, and insert, in a single round trip so the
 * lock is held for as short a time as possible (it is released at COMMIT). The uncorrelated subquery runs once,
 * before any row is produced, so every event number is drawn under the lock.
 */
const insertEventsSql = (count: number): string => {
  const values = Array.from({ length: count }, (_, i) =>
    `(CAST($${i * 4 + 3} AS TEXT), CAST($${i * 4 + 4} AS TEXT), CAST($${i * 4 + 5} AS BIGINT), CAST($${i * 4 + 6} AS TEXT))`)
  return `INSERT INTO ${tables.events} (job_id, type, at, job)
    SELECT v.job_id, v.type, v.at, v.job
    FROM (SELECT pg_advisory_xact_lock(CAST($1 AS BIGINT)), pg_notify(CAST($2 AS TEXT), '${instance}')) AS ordered,
         (VALUES ${values.join(", ")}) AS v(job_id, type, at, job)`
}

const eventParams = (row: EventRow, index: number): ReadonlyArray<string | number> =>
  index === 0 ? [eventLock, channel, row.job_id, row.type, row.at, row.job] : [row.job_id, row.type, row.at, row.job]

/** Both stores on one pool: the jobs, and the webhook deliveries their store writes when a job ends. */
export interface PgStores {
  readonly jobs: JobStore
  readonly webhooks: Webhooks.WebhookStore
}

/** Connects (retrying while the server is unreachable), migrates and builds both stores; closed with the scope. */
export const makeStores = (config: PgJobStoreConfig): Effect.Effect<PgStores, StoreUnavailable, Scope.Scope> =>
  Effect.gen(function*() {
    const describeError = describe(config.url)
    const client = yield* connect(config, describeError)
    yield* migrate("BIGSERIAL PRIMARY KEY", describeError).pipe(Effect.provideService(SqlClient.SqlClient, client))
    const jobs = yield* SqlJobStore.make({
      describeError,
      claimLock: "FOR UPDATE SKIP LOCKED",
      insertEvents: (rows) => client.unsafe(insertEventsSql(rows.length), rows.flatMap(eventParams)).pipe(Effect.asVoid),
      // our own notifications come back too: the feed was already poked for those, so skip them
      wakeups: client.listen(channel).pipe(Stream.filter((sender) => sender !== instance), Stream.as(undefined)),
      pollIntervalMs: config.pollIntervalMs ?? 1_000,
      retry: config.retry,
      eventRetentionMs: config.eventRetentionMs
    }).pipe(Effect.provideService(SqlClient.SqlClient, client))
    const webhooks = yield* SqlWebhookStore.make({ describeError, claimLock: "FOR UPDATE SKIP LOCKED" }).pipe(
      Effect.provideService(SqlClient.SqlClient, client)
    )
    return { jobs, webhooks }
  })

/** Connects, migrates and builds the job store; closed with the scope. */
export const make = (config: PgJobStoreConfig): Effect.Effect<JobStore, StoreUnavailable, Scope.Scope> =>
  Effect.map(makeStores(config), (stores) => stores.jobs)

/** The job store as a layer. */
export const layer = (config: PgJobStoreConfig): Layer.Layer<JobStore, StoreUnavailable> =>
  Layer.scoped(JobStore, make(config))

/**
 * The JobStore and the WebhookStore on the same pool, as one layer: what `Webhooks.layer` (the dispatcher) and
 * `Webhooks.readLayer` need. Jobs that name a webhook get their delivery written by either layer; this one can read it.
 */
export const layerWithWebhooks = (
  config: PgJobStoreConfig
): Layer.Layer<JobStore | Webhooks.WebhookStore, StoreUnavailable> =>
  Layer.scopedContext(Effect.map(makeStores(config), (stores) =>
    Context.make(JobStore, stores.jobs).pipe(Context.add(Webhooks.WebhookStore, stores.webhooks))))

/** Opens the pool, retrying with backoff for `connectRetryMs`: a database that starts after us is normal. */
const connect = (config: PgJobStoreConfig, describeError: (e: SqlError) => string) => {
  const deadline = Duration.millis(config.connectRetryMs ?? 10_000)
  return PgClient.make({
    url: Redacted.make(config.url),
    maxConnections: config.maxConnections ?? 10,
    connectTimeout: Duration.seconds(5),
    applicationName: "scriptorium"
  }).pipe(
    Effect.provide(Reactivity.layer),
    Effect.tapError((e) => Effect.logWarning(`${describeError(e)} Retrying.`)),
    Effect.retry(Schedule.exponential("200 millis", 2).pipe(
      Schedule.union(Schedule.spaced("2 seconds")),
      Schedule.upTo(deadline)
    )),
    Effect.mapError((e) => new StoreUnavailable({ reason: describeError(e) }))
  )
}

/** Where the URL points, without its password. */
const target = (url: string): string => {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || "5432"}${u.pathname}`
  } catch {
    return "the configured server"
  }
}

/** Turns a driver error into a sentence that says what to do. */
const describe = (url: string) => (error: SqlError): string => {
  const cause = error.cause as { code?: string; message?: string } | undefined
  const code = cause?.code ?? ""
  const where = target(url)
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EHOSTUNREACH" || code === "ETIMEDOUT") {
    return `Cannot reach PostgreSQL at ${where} (${code}); check DATABASE_URL and that the server is running.`
  }
  if (code === "28P01" || code === "28000") {
    return `PostgreSQL at ${where} refused the credentials (${code}); check the user and password in DATABASE_URL.`
  }
  if (code === "3D000") return `The database in DATABASE_URL does not exist at ${where}; create it or fix the URL.`
  if (code === "53300") return `PostgreSQL at ${where} has no free connections; lower maxConnections or raise the server's max_connections.`
  if (/timed out/i.test(cause?.message ?? error.message)) {
    return `PostgreSQL at ${where} did not answer in time; check the network and the server's load.`
  }
  return `PostgreSQL at ${where} failed: ${cause?.message ?? error.message}`
}
