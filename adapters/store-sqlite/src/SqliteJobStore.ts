/**
 * JobStore (and WebhookStore) on SQLite: the embedded default. One file, WAL journal, and a busy timeout, so several
 * processes (an API server and workers) can share the file; every writing transaction starts with its write, so
 * SQLite's single writer lock is taken up front and never upgraded mid-transaction.
 */
import { Reactivity } from "@effect/experimental"
import { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { StoreUnavailable } from "@scriptorium/api"
import { JobStore, type RetryPolicy, Webhooks } from "@scriptorium/core"
import { migrate, SqlJobStore, SqlWebhookStore, tables } from "@scriptorium/store-sql"
import type { Row } from "@scriptorium/store-sql"
import { Context, Effect, Layer, type Scope, Stream } from "effect"
import { mkdirSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname } from "node:path"

/** better-sqlite3 (the driver @effect/sql-sqlite-node runs on), as much of it as the job reader uses. */
const Database = createRequire(import.meta.url)("better-sqlite3") as new(
  filename: string,
  options: { readonly readonly: boolean; readonly fileMustExist: boolean }
) => {
  prepare(sql: string): { get(...params: ReadonlyArray<unknown>): unknown }
  close(): void
}

/** Where the database lives and how it behaves under contention. */
export interface SqliteJobStoreConfig {
  /** The database file; its folder is created when missing. */
  readonly filename: string
  /** How long a write waits for another process's lock before failing with StoreUnavailable; default 5 s. */
  readonly busyTimeoutMs?: number | undefined
  /** How often the change feed looks for other processes' writes; default 50 ms. */
  readonly pollIntervalMs?: number | undefined
  readonly retry?: RetryPolicy | undefined
  readonly eventRetentionMs?: number | undefined
}

/** Both stores on one connection: the jobs, and the webhook deliveries their store writes when a job ends. */
export interface SqliteStores {
  readonly jobs: JobStore
  readonly webhooks: Webhooks.WebhookStore
}

/** Opens (and migrates) the database and builds both stores; closed with the scope. */
export const makeStores = (config: SqliteJobStoreConfig): Effect.Effect<SqliteStores, StoreUnavailable, Scope.Scope> =>
  Effect.gen(function*() {
    const busyTimeoutMs = config.busyTimeoutMs ?? 5_000
    const describeError = describe(config.filename, busyTimeoutMs)
    const client = yield* open(config.filename, describeError)
    // WAL makes a crash lose nothing committed; NORMAL sync is safe with WAL against a process crash or kill -9
    // (only a power loss can drop the last commits), and much faster than FULL.
    yield* Effect.all([
      client.unsafe(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`),
      client.unsafe("PRAGMA synchronous = NORMAL")
    ]).pipe(Effect.mapError((e) => new StoreUnavailable({ reason: describeError(e) })))
    yield* migrate("INTEGER PRIMARY KEY AUTOINCREMENT", describeError).pipe(
      Effect.provideService(SqlClient.SqlClient, client)
    )
    const jobs = yield* SqlJobStore.make({
      describeError,
      claimLock: "",
      wakeups: Stream.never,
      pollIntervalMs: config.pollIntervalMs ?? 50,
      retry: config.retry,
      eventRetentionMs: config.eventRetentionMs,
      readJob: config.filename === ":memory:" ? undefined : yield* jobReader(config.filename, describeError)
    }).pipe(Effect.provideService(SqlClient.SqlClient, client))
    const webhooks = yield* SqlWebhookStore.make({ describeError, claimLock: "" }).pipe(
      Effect.provideService(SqlClient.SqlClient, client)
    )
    return { jobs, webhooks }
  })

/** Opens (and migrates) the database and builds the job store; closed with the scope. */
export const make = (config: SqliteJobStoreConfig): Effect.Effect<JobStore, StoreUnavailable, Scope.Scope> =>
  Effect.map(makeStores(config), (stores) => stores.jobs)

/** The job store as a layer. */
export const layer = (config: SqliteJobStoreConfig): Layer.Layer<JobStore, StoreUnavailable> =>
  Layer.scoped(JobStore, make(config))

/**
 * The JobStore and the WebhookStore on the same connection, as one layer: what `Webhooks.layer` (the dispatcher) and
 * `Webhooks.readLayer` need. Jobs that name a webhook get their delivery written by either layer; this one can read it.
 */
export const layerWithWebhooks = (
  config: SqliteJobStoreConfig
): Layer.Layer<JobStore | Webhooks.WebhookStore, StoreUnavailable> =>
  Layer.scopedContext(Effect.map(makeStores(config), (stores) =>
    Context.make(JobStore, stores.jobs).pipe(Context.add(Webhooks.WebhookStore, stores.webhooks))))

/** Opens the file; a file that cannot be opened is a StoreUnavailable, not a crash. */
const open = (filename: string, describeError: (e: SqlError) => string) =>
  Effect.gen(function*() {
    if (filename !== ":memory:") {
      yield* Effect.try({
        try: () => mkdirSync(dirname(filename), { recursive: true }),
        catch: (cause) =>
          new StoreUnavailable({
            reason: `Cannot create the folder of the SQLite database ${filename} (${String(cause)}); ` +
              `choose a writable location.`
          })
      })
    }
    return yield* SqliteClient.make({ filename }).pipe(
      Effect.provide(Reactivity.layer),
      // better-sqlite3 throws while opening (missing folder, not a database, locked): report it, don't crash
      Effect.catchAllDefect((cause) =>
        Effect.fail(new StoreUnavailable({ reason: describeError({ cause, message: "open" } as SqlError) })))
    )
  })

/**
 * Reads one job by id through a prepared statement on a read-only connection of its own, closed with the scope. The
 * status route is what clients poll, and a statement through @effect/sql costs ~50 µs of CPU (its span, scope,
 * connection semaphore, statement cache and template) where the prepared statement costs ~11 (measured in-process,
 * 20,000 reads). WAL lets it read beside the writing connection: it sees every committed write, never waits for a
 * writer, and a job written by this process is there as soon as its write returned.
 */
const jobReader = (filename: string, describeError: (e: SqlError) => string) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        const db = new Database(filename, { readonly: true, fileMustExist: true })
        return { db, byId: db.prepare(`SELECT * FROM ${tables.jobs} WHERE job_id = ?`) }
      },
      catch: (cause) => new StoreUnavailable({ reason: describeError(new SqlError({ cause, message: "open" })) })
    }),
    ({ db }) => Effect.sync(() => db.close())
  ).pipe(Effect.map(({ byId }) => (id: string) =>
    Effect.try({
      try: () => byId.get(id) as Row | undefined,
      catch: (cause) => new SqlError({ cause, message: "Failed to read the job" })
    })
  ))

/** Turns a driver error into a sentence that says what to do. */
const describe = (filename: string, busyTimeoutMs: number) => (error: SqlError): string => {
  const cause = error.cause as { code?: string; message?: string } | undefined
  const code = cause?.code ?? ""
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return `The SQLite database ${filename} is locked by another process and stayed locked for ${busyTimeoutMs} ms; ` +
      `end the other process's transaction (or backup), or raise busyTimeoutMs.`
  }
  if (code === "SQLITE_CANTOPEN") {
    return `Cannot open the SQLite database ${filename}; check that its folder exists and is writable.`
  }
  if (code === "SQLITE_FULL") return `The disk holding ${filename} is full; free space and retry.`
  if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT") {
    return `${filename} is not a usable SQLite database (${code}); point the store at another file.`
  }
  return `The SQLite database ${filename} failed: ${cause?.message ?? error.message}`
}
