/**
 * Webhook dispatchers in two processes on one PostgreSQL database (a real server from TestPostgres, a real HTTP
 * receiver, a child process running the built packages): every attempt of every delivery is sent once, and a job that
 * ended while no dispatcher ran is delivered by whichever starts. Build first (`npx tsc -b`): the child runs dist.
 */
import { describe, expect, it } from "@effect/vitest"
import { webhookDeliveryHeader } from "@scriptorium/api"
import { JobStore, Webhooks } from "@scriptorium/core"
import { PgJobStore } from "@scriptorium/store-pg"
import { startTestPostgres, type TestPostgres } from "@scriptorium/store-pg/testing"
import { Context, Effect, Layer, Option, type Scope } from "effect"
import { spawn } from "node:child_process"
import { createServer } from "node:http"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll } from "vitest"

let server: TestPostgres
beforeAll(async () => {
  server = await startTestPostgres()
})
afterAll(async () => {
  await server?.stop()
})

const root = fileURLToPath(new URL("../../..", import.meta.url))

/** A receiver that answers 503 to the first request of each delivery and 200 after; it counts them per delivery. */
const flakyReceiver: Effect.Effect<{ url: string; perDelivery: Map<string, number> }, never, Scope.Scope> =
  Effect.acquireRelease(
    Effect.async<{ url: string; perDelivery: Map<string, number>; close: () => Promise<void> }>((resume) => {
      const perDelivery = new Map<string, number>()
      const http = createServer((req, res) => {
        req.resume()
        req.on("end", () => {
          const id = String(req.headers[webhookDeliveryHeader])
          const seen = perDelivery.get(id) ?? 0
          perDelivery.set(id, seen + 1)
          res.writeHead(seen === 0 ? 503 : 200).end()
        })
      })
      http.listen(0, "127.0.0.1", () => {
        const { port } = http.address() as { port: number }
        resume(Effect.succeed({
          url: `http://127.0.0.1:${port}/hook`,
          perDelivery,
          close: () => new Promise<void>((done) => {
            http.closeAllConnections()
            http.close(() => done())
          })
        }))
      })
    }),
    (r) => Effect.promise(r.close)
  )

/** A dispatcher in its own OS process, on the built packages; stopped with the scope. */
const childDispatcher = (url: string, config: Webhooks.WebhooksConfig) =>
  Effect.acquireRelease(
    Effect.async<ReturnType<typeof spawn>>((resume) => {
      const script = `
        import { Webhooks } from "@scriptorium/core"
        import { PgJobStore } from "@scriptorium/store-pg"
        import { Effect, Layer } from "effect"
        const ready = Layer.effectDiscard(Effect.sync(() => process.stdout.write("ready\\n")))
        const dispatcher = Layer.merge(Webhooks.layer(${JSON.stringify(config)}), ready).pipe(
          Layer.provide(PgJobStore.layerWithWebhooks({ url: ${JSON.stringify(url)}, maxConnections: 3, pollIntervalMs: 200 }))
        )
        Effect.runFork(Layer.launch(dispatcher))
        process.on("SIGTERM", () => process.exit(0))
      `
      const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
        cwd: root,
        stdio: ["ignore", "pipe", "inherit"]
      })
      child.stdout!.once("data", () => resume(Effect.succeed(child)))
      child.once("exit", (code) => resume(Effect.dieMessage(`The dispatcher process exited early (${code})`)))
    }),
    (child) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null) return resume(Effect.void)
        child.once("exit", () => resume(Effect.void))
        child.kill("SIGTERM")
      })
  )

const waitUntil = (what: string, check: Effect.Effect<boolean, unknown>, timeoutMs: number) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (!(yield* check)) {
      if (Date.now() > deadline) return yield* Effect.dieMessage(`Timed out waiting for ${what}`)
      yield* Effect.sleep(50)
    }
  })

describe("PgJobStore: webhook dispatchers in two processes", () => {
  it.live("send every attempt of every delivery once, including deliveries that fell due before either started", () =>
    Effect.gen(function*() {
      const url = yield* Effect.promise(() => server.createDatabase())
      const hooks = yield* flakyReceiver
      const stores = yield* Layer.build(PgJobStore.layerWithWebhooks({ url, maxConnections: 5, pollIntervalMs: 200 }))
      const jobs = Context.get(stores, JobStore)
      const read = Context.get(yield* Layer.build(Webhooks.readLayer.pipe(Layer.provide(Layer.succeedContext(stores)))),
        Webhooks.Webhooks)
      const finish = (count: number) =>
        Effect.gen(function*() {
          const ids = []
          for (let i = 0; i < count; i++) {
            const { job } = yield* jobs.insert({ filename: "doc.pdf", options: { [Webhooks.webhookUrlOption]: hooks.url } })
            ids.push(job.job_id)
          }
          const claimed = yield* jobs.claim({ worker_id: "w", limit: count, lease_ms: 30_000 })
          yield* Effect.forEach(claimed, (c) => jobs.complete(c.lease))
          return ids
        })
      // ended before any dispatcher ran: the outbox holds them
      const early = yield* finish(10)
      const config = { pollMs: 50, baseDelayMs: 100, concurrency: 3 }
      yield* childDispatcher(url, config)
      yield* Layer.build(Webhooks.layer(config).pipe(Layer.provide(Layer.succeedContext(stores))))
      const late = yield* finish(20)
      const all = [...early, ...late]
      const delivered = Effect.map(
        Effect.forEach(all, (id) => read.get(id)),
        (hooksOf) => hooksOf.every((w) => Option.isSome(w) && w.value.state === "delivered")
      )
      yield* waitUntil("every delivery to be delivered", delivered, 40_000)
      yield* Effect.sleep(500)
      expect(hooks.perDelivery.size).toBe(all.length)
      expect([...hooks.perDelivery.values()].every((n) => n === 2)).toBe(true)
      for (const id of all) {
        const webhook = Option.getOrThrow(yield* read.get(id))
        expect(webhook.attempts.map((a) => [a.attempt, a.status_code])).toEqual([[1, 503], [2, 200]])
      }
    }).pipe(Effect.scoped), 90_000)
})
