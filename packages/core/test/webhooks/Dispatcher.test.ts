/**
 * The webhook dispatcher end to end on a real SQLite file, with a real Worker and a real HTTP receiver (node:http on
 * a free port): deliveries are signed and sent once, failures are retried with backoff and recorded, a dead or hung
 * receiver neither stalls the worker nor holds more than the concurrency bound, a delivery due while no dispatcher ran
 * goes out when one starts, and two dispatchers on one database send each attempt once.
 */
import { describe, expect, it } from "@effect/vitest"
import { Job, type JobId, webhookDeliveryHeader, webhookEventHeader, webhookSignatureHeader } from "@scriptorium/api"
import { JobFailure, type JobHandler, JobStore, Webhooks, Worker } from "@scriptorium/core"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { Context, Effect, Layer, Option, Schema, type Scope } from "effect"
import { mkdtempSync } from "node:fs"
import { createServer, type IncomingHttpHeaders } from "node:http"
import { createServer as createTcpServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

const secret = "test-webhook-secret"

/** A request the receiver got. */
interface Received {
  readonly headers: IncomingHttpHeaders
  readonly body: string
  readonly at: number
}

/** What the receiver does with the `index`-th request (from 0) it gets for one delivery id: a status, or never answer. */
type Answer = (received: Received, indexForDelivery: number) => number | "hang"

interface Receiver {
  readonly url: string
  readonly received: ReadonlyArray<Received>
  /** Requests being held open right now. */
  readonly open: () => number
}

/** A real HTTP receiver on a free port, closed (with any hung connection) with the scope. */
const receiver = (answer: Answer): Effect.Effect<Receiver, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ receiver: Receiver; close: () => Promise<void> }>((resume) => {
      const received: Array<Received> = []
      const perDelivery = new Map<string, number>()
      let open = 0
      const server = createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (c: Buffer) => chunks.push(c))
        req.on("end", () => {
          const r: Received = { headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() }
          received.push(r)
          const id = String(req.headers[webhookDeliveryHeader] ?? "")
          const index = perDelivery.get(id) ?? 0
          perDelivery.set(id, index + 1)
          const status = answer(r, index)
          if (status === "hang") {
            open++
            req.socket.once("close", () => open--)
            return
          }
          res.writeHead(status, { "content-type": "text/plain" }).end("ok")
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as { port: number }
        resume(Effect.succeed({
          receiver: {
            url: `http://127.0.0.1:${port}/hooks/scriptorium`,
            received,
            open: () => open
          },
          close: () =>
            new Promise<void>((done) => {
              server.closeAllConnections()
              server.close(() => done())
            })
        }))
      })
    }),
    (r) => Effect.promise(r.close)
  ).pipe(Effect.map((r) => r.receiver))

/** A port nothing listens on: bound, then released. */
const closedPort = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const probe = createTcpServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
)

/** Completes every job at once; fails, or runs until cancelled, those whose options say so. */
const handler: JobHandler = (context) =>
  context.job.options.fail === true
    ? Effect.fail(new JobFailure({ message: "Told to fail.", retryable: false }))
    : context.job.options.hold === true
    ? Effect.never
    : context.checkpoint(0)

const freshDatabase = () => join(mkdtempSync(join(tmpdir(), "scriptorium-dispatch-")), "jobs.db")

/** The stores on `filename`, the Webhooks service with its dispatcher, and (unless told not to) a Worker. */
const stack = (filename: string, config: Webhooks.WebhooksConfig, worker = true) =>
  Layer.provideMerge(
    Layer.merge(
      Webhooks.layer({ secret, pollMs: 100, ...config }),
      worker ? Worker.layer(handler, { pollMs: 50, concurrency: 2 }) : Layer.empty
    ),
    SqliteJobStore.layerWithWebhooks({ filename })
  )

const submit = (url: string, options: Record<string, unknown> = {}) =>
  Effect.flatMap(JobStore, (s) =>
    Effect.map(s.insert({ filename: "doc.pdf", options: { ...options, [Webhooks.webhookUrlOption]: url } }), (r) =>
      r.job))

/** Polls `check` until it returns a value, or fails the test after `timeoutMs`. */
const eventually = <A, E, R>(
  what: string,
  check: Effect.Effect<A | undefined, E, R>,
  timeoutMs = 10_000
): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const value = yield* check
      if (value !== undefined) return value
      if (Date.now() > deadline) return yield* Effect.dieMessage(`Timed out waiting for ${what}`)
      yield* Effect.sleep(25)
    }
  })

const webhookOf = (id: JobId) =>
  Effect.flatMap(Webhooks.Webhooks, (w) => w.get(id)).pipe(Effect.map(Option.getOrUndefined))

/** The webhook once it reached `state`. */
const webhookIn = (id: JobId, state: string, timeoutMs?: number) =>
  eventually(`the webhook of ${id} to be ${state}`, Effect.map(webhookOf(id), (w) => w?.state === state ? w : undefined), timeoutMs)

const forDelivery = (r: Receiver, id: string) => r.received.filter((x) => x.headers[webhookDeliveryHeader] === id)

const encoded = (job: Job) => JSON.parse(JSON.stringify(Schema.encodeSync(Job)(job)))

describe("Webhooks dispatcher", () => {
  it.live("a completed job's status JSON is delivered once, signed, with its event and delivery id", () =>
    Effect.gen(function*() {
      const hooks = yield* receiver(() => 200)
      const job = yield* submit(hooks.url)
      const webhook = yield* webhookIn(job.job_id, "delivered")
      expect(webhook.url).toBe(hooks.url)
      expect(webhook.next_attempt_at).toBeNull()
      expect(webhook.attempts).toHaveLength(1)
      expect(webhook.attempts[0]).toMatchObject({ attempt: 1, status_code: 200, error: null })
      // give a second, wrong delivery every chance to arrive before counting
      yield* Effect.sleep(500)
      expect(hooks.received).toHaveLength(1)
      const [request] = hooks.received
      const final = yield* Effect.flatMap(JobStore, (s) => s.get(job.job_id))
      expect(final.status).toBe("completed")
      expect(JSON.parse(request!.body)).toEqual(encoded(final))
      expect(request!.headers["content-type"]).toBe("application/json")
      expect(request!.headers[webhookEventHeader]).toBe("job.completed")
      const deliveryId = request!.headers[webhookDeliveryHeader]
      expect(deliveryId).toMatch(/^[0-9a-f-]{36}$/)
      const signature = String(request!.headers[webhookSignatureHeader])
      expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/)
      const t = Number(/^t=(\d+)/.exec(signature)![1])
      expect(Math.abs(t - request!.at / 1000)).toBeLessThan(5)
      expect(Webhooks.verifySignature(secret, signature, request!.body, { toleranceSeconds: 60 })).toBe(true)
      expect(Webhooks.verifySignature("another-secret", signature, request!.body, { toleranceSeconds: 60 })).toBe(false)
      expect(Webhooks.verifySignature(secret, signature, request!.body.replace("completed", "failed"))).toBe(false)
      expect(Webhooks.verifySignature(secret, signature, request!.body, { nowSeconds: t + 3_600 })).toBe(false)
    }).pipe(Effect.scoped, Effect.provide(stack(freshDatabase(), {}))))

  it.live("failed and cancelled jobs are announced with their own events; a job without a webhook with none", () =>
    Effect.gen(function*() {
      const hooks = yield* receiver(() => 204)
      const failed = yield* submit(hooks.url, { fail: true })
      yield* webhookIn(failed.job_id, "delivered")
      // cancelled while a worker runs it
      const cancelled = yield* submit(hooks.url, { hold: true })
      yield* eventually("the held job to start", Effect.map(Effect.flatMap(JobStore, (s) => s.get(cancelled.job_id)), (j) =>
        j.status === "processing" ? j : undefined))
      yield* Effect.flatMap(JobStore, (s) => s.cancel(cancelled.job_id))
      const quiet = yield* Effect.flatMap(JobStore, (s) => s.insert({ filename: "quiet.pdf" }))
      yield* eventually("the quiet job to end", Effect.map(Effect.flatMap(JobStore, (s) => s.get(quiet.job.job_id)), (j) =>
        j.status === "completed" ? j : undefined))
      const cancelledHook = yield* eventually("the cancelled job's webhook to be delivered", Effect.map(
        webhookOf(cancelled.job_id),
        (w) => w?.state === "delivered" ? w : undefined
      ))
      expect(cancelledHook.attempts).toHaveLength(1)
      expect(yield* webhookOf(quiet.job.job_id)).toBeUndefined()
      yield* Effect.sleep(300)
      const events = hooks.received.map((r) => [JSON.parse(r.body).job_id, JSON.parse(r.body).status, r.headers[webhookEventHeader]])
      expect(events).toHaveLength(2)
      expect(events).toContainEqual([failed.job_id, "failed", "job.failed"])
      expect(events).toContainEqual([cancelled.job_id, "cancelled", "job.cancelled"])
    }).pipe(Effect.scoped, Effect.provide(stack(freshDatabase(), {}))))

  it.live("a receiver answering 500 then 200 is retried after the backoff, and both attempts are recorded", () =>
    Effect.gen(function*() {
      const hooks = yield* receiver((_, index) => (index === 0 ? 500 : 200))
      const job = yield* submit(hooks.url)
      const webhook = yield* webhookIn(job.job_id, "delivered")
      expect(webhook.attempts.map((a) => [a.attempt, a.status_code, a.error])).toEqual([
        [1, 500, "the receiver answered HTTP 500"],
        [2, 200, null]
      ])
      const [first, second] = webhook.attempts
      expect(second!.at.getTime() - first!.at.getTime()).toBeGreaterThanOrEqual(400)
      expect(hooks.received).toHaveLength(2)
      const [a, b] = hooks.received
      expect(b!.at - a!.at).toBeGreaterThanOrEqual(400)
      // the same delivery, the same body; only the signature's time may differ
      expect(b!.headers[webhookDeliveryHeader]).toBe(a!.headers[webhookDeliveryHeader])
      expect(b!.body).toBe(a!.body)
      expect(Webhooks.verifySignature(secret, String(b!.headers[webhookSignatureHeader]), b!.body)).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(stack(freshDatabase(), { baseDelayMs: 400 }))))

  it.live("a receiver that is down is retried with growing delays, then the delivery fails for good", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const job = yield* submit(`http://127.0.0.1:${port}/gone`)
      const webhook = yield* webhookIn(job.job_id, "failed")
      expect(webhook.next_attempt_at).toBeNull()
      expect(webhook.attempts.map((a) => a.attempt)).toEqual([1, 2, 3])
      for (const attempt of webhook.attempts) {
        expect(attempt.status_code).toBeNull()
        expect(attempt.error).toContain("ECONNREFUSED")
      }
      const [a1, a2, a3] = webhook.attempts.map((a) => a.at.getTime())
      expect(a2! - a1!).toBeGreaterThanOrEqual(150)
      expect(a3! - a2!).toBeGreaterThanOrEqual(300)
      // given up: no fourth attempt comes
      yield* Effect.sleep(800)
      expect((yield* webhookOf(job.job_id))!.attempts).toHaveLength(3)
    }).pipe(Effect.provide(stack(freshDatabase(), { baseDelayMs: 150, maxAttempts: 3 }))))

  it.live("a receiver that never answers times out, holds no more than `concurrency` requests, and never stalls the worker", () =>
    Effect.gen(function*() {
      const hooks = yield* receiver(() => "hang")
      const hooked = yield* Effect.forEach([1, 2, 3, 4], () => submit(hooks.url))
      yield* eventually("two requests hanging", Effect.sync(() => hooks.open() === 2 ? true : undefined))
      // while the dispatcher is stuck on the receiver, the worker goes on completing jobs
      const started = Date.now()
      const others = yield* Effect.forEach([1, 2, 3, 4, 5], () =>
        Effect.flatMap(JobStore, (s) => s.insert({ filename: "other.pdf" })))
      yield* eventually("the other jobs to complete", Effect.gen(function*() {
        const jobs = yield* Effect.forEach(others, (o) => Effect.flatMap(JobStore, (s) => s.get(o.job.job_id)))
        return jobs.every((j) => j.status === "completed") ? true : undefined
      }))
      expect(Date.now() - started).toBeLessThan(800)
      expect(hooks.open()).toBeGreaterThan(0)
      const failed = yield* Effect.forEach(hooked, (j) => webhookIn(j.job_id, "failed", 20_000))
      for (const webhook of failed) {
        expect(webhook.attempts).toHaveLength(2)
        for (const attempt of webhook.attempts) {
          expect(attempt.status_code).toBeNull()
          expect(attempt.error).toBe("no response within 1000 ms")
        }
      }
      expect(hooks.received).toHaveLength(8)
      // an attempt holds its slot until it gives up 1 s after it started, so with two slots no more than two attempts
      // can start within any 950 ms (the dispatcher's own start times: the receiver's lag behind them varies)
      const starts = failed.flatMap((w) => w.attempts.map((a) => a.at.getTime())).sort((a, b) => a - b)
      const crowded = Math.max(...starts.map((t) => starts.filter((u) => u >= t && u < t + 950).length))
      expect(crowded).toBe(2)
    }).pipe(
      Effect.scoped,
      Effect.provide(stack(freshDatabase(), { timeoutMs: 1_000, concurrency: 2, baseDelayMs: 50, maxAttempts: 2 }))
    ), 30_000)

  it.live("a delivery that fell due while no dispatcher ran goes out when one starts", () =>
    Effect.gen(function*() {
      const filename = freshDatabase()
      const hooks = yield* receiver(() => 200)
      // the job ends in a process with no dispatcher, which then goes away
      const job = yield* Effect.provide(
        Effect.gen(function*() {
          const store = yield* JobStore
          const job = yield* submit(hooks.url)
          const [claimed] = yield* store.claim({ worker_id: "gone", limit: 1, lease_ms: 30_000 })
          yield* store.complete(claimed!.lease)
          return job
        }),
        SqliteJobStore.layer({ filename })
      )
      yield* Effect.sleep(300)
      expect(hooks.received).toHaveLength(0)
      const webhook = yield* Effect.provide(webhookIn(job.job_id, "delivered"), stack(filename, {}, false))
      expect(webhook.attempts).toHaveLength(1)
      expect(hooks.received).toHaveLength(1)
      expect(JSON.parse(hooks.received[0]!.body).status).toBe("completed")
    }).pipe(Effect.scoped))

  it.live("two dispatchers on one database send each attempt once", () =>
    Effect.gen(function*() {
      const filename = freshDatabase()
      // every delivery fails once, so each has two attempts that both dispatchers race for
      const hooks = yield* receiver((_, index) => (index === 0 ? 503 : 200))
      const config = { pollMs: 20, baseDelayMs: 100, concurrency: 4 }
      const [one] = yield* Effect.forEach([1, 2], () =>
        Layer.build(stack(filename, config)).pipe(Effect.map((ctx) => Context.get(ctx, JobStore))))
      const count = 20
      const jobs = yield* Effect.forEach(Array.from({ length: count }), () =>
        Effect.map(one!.insert({ filename: "doc.pdf", options: { [Webhooks.webhookUrlOption]: hooks.url } }), (r) =>
          r.job))
      const read = yield* Layer.build(Webhooks.readLayer.pipe(Layer.provide(SqliteJobStore.layerWithWebhooks({ filename }))))
        .pipe(Effect.map((ctx) => Context.get(ctx, Webhooks.Webhooks)))
      yield* eventually("every delivery to be delivered", Effect.gen(function*() {
        const states = yield* Effect.forEach(jobs, (j) => read.get(j.job_id))
        return states.every((w) => Option.isSome(w) && w.value.state === "delivered") ? true : undefined
      }), 30_000)
      yield* Effect.sleep(500)
      const ids = new Set(hooks.received.map((r) => String(r.headers[webhookDeliveryHeader])))
      expect(ids.size).toBe(count)
      for (const id of ids) expect(forDelivery(hooks, id)).toHaveLength(2)
      for (const job of jobs) {
        const webhook = Option.getOrThrow(yield* read.get(job.job_id))
        expect(webhook.attempts.map((a) => a.status_code)).toEqual([503, 200])
      }
    }).pipe(Effect.scoped), 60_000)

  it.live("a URL whose host is not on the allow-list is never requested; the delivery fails saying why", () =>
    Effect.gen(function*() {
      const hooks = yield* receiver(() => 200)
      const job = yield* submit(hooks.url)
      const webhook = yield* webhookIn(job.job_id, "failed")
      expect(webhook.attempts).toHaveLength(1)
      expect(webhook.attempts[0]!.error).toContain("not on the webhook allow-list")
      expect(hooks.received).toHaveLength(0)
    }).pipe(Effect.scoped, Effect.provide(stack(freshDatabase(), { allowedHosts: ["hooks.example.com"] }))))
})
