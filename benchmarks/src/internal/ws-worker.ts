/**
 * The worker process of the WebSocket benchmark: the core's test worker (each page waits SCRIPTORIUM_TEST_PAGE_MS,
 * then is checkpointed, which is a status change) on SQLite or PostgreSQL, chosen by the database's name. Configured
 * by the `TestWorkerEnv` variables; prints "ready" once claiming. Not meant to be run by hand.
 */
import { runTestWorkerProcess } from "@scriptorium/core/testing/worker-process"
import { PgJobStore } from "@scriptorium/store-pg"
import { SqliteJobStore } from "@scriptorium/store-sqlite"

runTestWorkerProcess((database) =>
  database.startsWith("postgres")
    ? PgJobStore.layer({ url: database, maxConnections: 4 })
    : SqliteJobStore.layer({ filename: database })
)
