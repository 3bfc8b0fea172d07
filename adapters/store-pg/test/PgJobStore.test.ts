import { describe, expect, it } from "@effect/vitest"
import { JobStore } from "@scriptorium/core"
import { jobStoreConformance, type StoreHarness, workerConformance } from "@scriptorium/core/testing"
import { PgJobStore } from "@scriptorium/store-pg"
import { startTestPostgres, type TestPostgres } from "@scriptorium/store-pg/testing"
import { Effect } from "effect"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll } from "vitest"

let server: TestPostgres
beforeAll(async () => {
  server = await startTestPostgres()
})
afterAll(async () => {
  await server?.stop()
})

const harness: StoreHarness = {
  freshDatabase: () => server.createDatabase(),
  layer: (url, options) => PgJobStore.layer({ url, retry: options.retry, maxConnections: 5, pollIntervalMs: 500 }),
  workerScript: fileURLToPath(new URL("./worker-process.mjs", import.meta.url))
}

jobStoreConformance("PgJobStore", harness)
workerConformance("PgJobStore", harness)

describe("PgJobStore: an unreachable server", () => {
  const freePort = () =>
    new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as { port: number }
        probe.close(() => resolve(port))
      })
    })

  it.live("fails at start with a clear error after retrying", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const started = Date.now()
      const error = yield* Effect.flip(Effect.provide(
        Effect.flatMap(JobStore, (s) => s.list({})),
        PgJobStore.layer({ url: `postgres://postgres@127.0.0.1:${port}/jobs`, connectRetryMs: 1_500 })
      ))
      expect(error._tag).toBe("StoreUnavailable")
      expect(error.message).toContain(`Cannot reach PostgreSQL at 127.0.0.1:${port}/jobs`)
      expect(error.message).toContain("DATABASE_URL")
      // it retried for the configured time before giving up
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_400)
    }))

  it.live("connects once the server comes up while it is retrying", () =>
    Effect.gen(function*() {
      const url = yield* Effect.promise(() => server.createDatabase())
      const port = yield* Effect.promise(freePort)
      // a TCP proxy that starts forwarding to the real server only after a second
      const { startDelayedProxy } = yield* Effect.promise(() => import("./DelayedProxy.js"))
      const proxy = yield* Effect.acquireRelease(
        Effect.promise(() => startDelayedProxy(port, server.port, 1_000)),
        (p) => Effect.promise(() => p.close())
      )
      void proxy
      const proxied = url.replace(`:${server.port}/`, `:${port}/`)
      const page = yield* Effect.provide(
        Effect.flatMap(JobStore, (s) => s.list({})),
        PgJobStore.layer({ url: proxied, connectRetryMs: 10_000 })
      )
      expect(page.jobs).toEqual([])
    }).pipe(Effect.scoped))
})
