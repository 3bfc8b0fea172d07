/**
 * The tables every SQL JobStore keeps (jobs, their page checkpoints, their events, and their webhook deliveries with
 * every attempt), written once for SQLite and PostgreSQL. Times are epoch milliseconds in BIGINT columns and options
 * are JSON text, so the same queries run on both dialects.
 */
import { Migrator, SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { StoreUnavailable } from "@scriptorium/api"
import { Effect, Schedule } from "effect"

/** The tables, named with a prefix so they can live beside an application's own tables. */
export const tables = {
  jobs: "scriptorium_jobs",
  pages: "scriptorium_job_pages",
  events: "scriptorium_job_events",
  deliveries: "scriptorium_webhook_deliveries",
  attempts: "scriptorium_webhook_attempts"
} as const

/** The DDL of the first migration; `serial` is the dialect's auto-increment key for the event log. */
const statements = (serial: string): ReadonlyArray<string> => [
  `CREATE TABLE ${tables.jobs} (
    job_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    filename TEXT NOT NULL,
    total_pages INTEGER NOT NULL DEFAULT 0,
    processed_pages INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    completed_at BIGINT,
    error_message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT UNIQUE,
    fingerprint TEXT,
    options TEXT NOT NULL DEFAULT '{}',
    run_at BIGINT NOT NULL,
    lease_token TEXT,
    lease_worker TEXT,
    lease_expires_at BIGINT,
    version INTEGER NOT NULL DEFAULT 0
  )`,
  // claim: the best pending job that is due
  `CREATE INDEX ${tables.jobs}_runnable ON ${tables.jobs} (status, priority DESC, run_at, created_at)`,
  // reap: running jobs whose lease ran out
  `CREATE INDEX ${tables.jobs}_leases ON ${tables.jobs} (status, lease_expires_at)`,
  // list: newest first, with and without a status filter
  `CREATE INDEX ${tables.jobs}_newest ON ${tables.jobs} (created_at, job_id)`,
  `CREATE INDEX ${tables.jobs}_status_newest ON ${tables.jobs} (status, created_at, job_id)`,
  `CREATE TABLE ${tables.pages} (
    job_id TEXT NOT NULL,
    page INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (job_id, page)
  )`,
  `CREATE TABLE ${tables.events} (
    seq ${serial},
    job_id TEXT NOT NULL,
    type TEXT NOT NULL,
    at BIGINT NOT NULL,
    job TEXT NOT NULL
  )`,
  `CREATE INDEX ${tables.events}_job ON ${tables.events} (job_id, seq)`,
  `CREATE INDEX ${tables.events}_at ON ${tables.events} (at)`
]

/**
 * The DDL of the second migration: the webhook outbox. One delivery per job (written when the job ends), leased to
 * one dispatcher at a time, and one row per attempt.
 */
const webhookStatements: ReadonlyArray<string> = [
  `CREATE TABLE ${tables.deliveries} (
    delivery_id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_token TEXT,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  )`,
  // claim: deliveries still delivering, soonest due first
  `CREATE INDEX ${tables.deliveries}_due ON ${tables.deliveries} (state, next_attempt_at)`,
  `CREATE TABLE ${tables.attempts} (
    delivery_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at BIGINT NOT NULL,
    status_code INTEGER,
    error TEXT,
    PRIMARY KEY (delivery_id, attempt)
  )`
]

/** Creates the webhook tables in one transaction. */
export const createWebhookTables = (sql: SqlClient.SqlClient): Effect.Effect<void, SqlError> =>
  sql.withTransaction(Effect.forEach(webhookStatements, (ddl) => sql.unsafe(ddl), { discard: true }))

/** Creates the tables and indexes in one transaction. */
export const createTables = (
  sql: SqlClient.SqlClient,
  serial: "INTEGER PRIMARY KEY AUTOINCREMENT" | "BIGSERIAL PRIMARY KEY"
): Effect.Effect<void, SqlError> =>
  sql.withTransaction(Effect.forEach(statements(serial), (ddl) => sql.unsafe(ddl), { discard: true }))

/**
 * Brings the tables up to date, safely when several processes start at once: the migrator records what ran, and a
 * process that lost the race waits until the winner's tables are visible.
 */
export const migrate = (
  serial: "INTEGER PRIMARY KEY AUTOINCREMENT" | "BIGSERIAL PRIMARY KEY",
  describeError: (error: SqlError) => string
): Effect.Effect<void, StoreUnavailable, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* Migrator.make({})({
      loader: Migrator.fromRecord({
        "1_create_tables": createTables(sql, serial),
        "2_webhooks": createWebhookTables(sql)
      }),
      table: "scriptorium_migrations"
    })
    // the newest migration's last table: once it is visible, every table is
    yield* sql`SELECT 1 FROM ${sql(tables.attempts)} LIMIT 0`.pipe(
      Effect.retry(Schedule.intersect(Schedule.spaced("100 millis"), Schedule.recurs(100)))
    )
  }).pipe(
    Effect.catchTag("SqlError", (e) => Effect.fail(new StoreUnavailable({ reason: describeError(e) }))),
    Effect.catchTag("MigrationError", (e) =>
      Effect.fail(new StoreUnavailable({ reason: `Could not set up Scriptorium's tables: ${e.message}` })))
  )
