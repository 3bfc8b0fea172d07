// A worker child process for the multi-process tests (runs the built packages: `npm test` builds first).
import { runTestWorkerProcess } from "@scriptorium/core/testing/worker-process"
import { PgJobStore } from "@scriptorium/store-pg"

runTestWorkerProcess((url) => PgJobStore.layer({ url, maxConnections: 4 }))
