/** The webhook outbox on SQLite: the WebhookStore conformance suite against a real database file. */
import { webhookStoreConformance } from "@scriptorium/core/testing"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

webhookStoreConformance("SqliteJobStore", {
  freshDatabase: async () => join(mkdtempSync(join(tmpdir(), "scriptorium-webhooks-")), "jobs.db"),
  layer: (filename, options) => SqliteJobStore.layerWithWebhooks({ filename, retry: options.retry })
})
