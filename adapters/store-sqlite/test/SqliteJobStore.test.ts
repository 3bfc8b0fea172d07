import { jobStoreConformance, type StoreHarness, workerConformance } from "@scriptorium/core/testing"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const harness: StoreHarness = {
  freshDatabase: async () => join(mkdtempSync(join(tmpdir(), "scriptorium-sqlite-")), "jobs.db"),
  layer: (filename, options) => SqliteJobStore.layer({ filename, retry: options.retry }),
  workerScript: fileURLToPath(new URL("./worker-process.mjs", import.meta.url))
}

jobStoreConformance("SqliteJobStore", harness)
workerConformance("SqliteJobStore", harness)
