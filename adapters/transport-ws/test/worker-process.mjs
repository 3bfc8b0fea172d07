// A worker child process for the multi-process tests (runs the built packages: build first with `npx tsc -b`).
// The database names its store: a postgres:// URL is PostgreSQL, anything else a SQLite file.
import { runTestWorkerProcess } from "@scriptorium/core/testing/worker-process"
import { PgJobStore } from "@scriptorium/store-pg"
import { SqliteJobStore } from "@scriptorium/store-sqlite"

runTestWorkerProcess((database) =>
  database.startsWith("postgres")
    ? PgJobStore.layer({ url: database, maxConnections: 4 })
    : SqliteJobStore.layer({ filename: database })
)
