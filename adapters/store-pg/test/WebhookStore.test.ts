/** The webhook outbox on PostgreSQL: the WebhookStore conformance suite against a real server (TestPostgres). */
import { webhookStoreConformance } from "@scriptorium/core/testing"
import { PgJobStore } from "@scriptorium/store-pg"
import { startTestPostgres, type TestPostgres } from "@scriptorium/store-pg/testing"
import { afterAll, beforeAll } from "vitest"

let server: TestPostgres
beforeAll(async () => {
  server = await startTestPostgres()
})
afterAll(async () => {
  await server?.stop()
})

webhookStoreConformance("PgJobStore", {
  freshDatabase: () => server.createDatabase(),
  layer: (url, options) =>
    PgJobStore.layerWithWebhooks({ url, retry: options.retry, maxConnections: 5, pollIntervalMs: 500 })
})
