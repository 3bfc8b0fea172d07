// A worker child process for the multi-process tests (runs the built packages: `npm test` builds first).
import { runTestWorkerProcess } from "@scriptorium/core/testing/worker-process"
import { SqliteJobStore } from "@scriptorium/store-sqlite"

runTestWorkerProcess((filename) => SqliteJobStore.layer({ filename }))
