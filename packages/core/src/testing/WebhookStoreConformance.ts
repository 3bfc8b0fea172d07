/**
 * The WebhookStore conformance suite: what every adapter's webhook outbox must do, checked against its real database.
 * The delivery row is written by the adapter's JobStore when a job ends, so the suite drives jobs through the
 * JobStore and reads deliveries back through the WebhookStore. An adapter runs it with one line:
 * `webhookStoreConformance("SqliteJobStore", harness)`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Job, type JobId } from "@scriptorium/api"
import { Context, Effect, Layer, Option, Schema } from "effect"
import type { RetryPolicy } from "../JobLifecycle.js"
import { JobStore, type NewJob } from "../JobStore.js"
import * as Webhooks from "../Webhooks.js"
import { fastRetry } from "./StoreHarness.js"

/** An adapter's way in for the suite. */
export interface WebhookStoreHarness {
  /** A fresh, empty database, named so that another client can open it (a file path, a URL). */
  readonly freshDatabase: () => Promise<string>
  /** Both stores on that database; called several times it gives several independent clients of one database. */
  readonly layer: (
    database: string,
    options: { readonly retry?: RetryPolicy }
  ) => Layer.Layer<JobStore | Webhooks.WebhookStore, unknown>
}

type Stores = JobStore | Webhooks.WebhookStore

const receiver = "http://127.0.0.1:9/hook"

/** Registers the suite. */
export const webhookStoreConformance = (name: string, harness: WebhookStoreHarness) =>
  describe(`${name}: WebhookStore conformance`, () => {
    const live = (title: string, body: (database: string) => Effect.Effect<unknown, unknown, Stores>, timeout?: number) =>
      it.live(title, () =>
        Effect.gen(function*() {
          const database = yield* Effect.promise(() => harness.freshDatabase())
          return yield* Effect.provide(body(database), harness.layer(database, { retry: fastRetry }))
        }), timeout)

    const submit = (input: Partial<NewJob> = {}, url: string | null = receiver) =>
      Effect.flatMap(JobStore, (s) =>
        Effect.map(
          s.insert({ filename: "doc.pdf", ...input, options: url === null ? {} : { [Webhooks.webhookUrlOption]: url } }),
          (r) => r.job
        ))

    /** Claims the oldest pending job, which must be `id`, and completes it. */
    const runToCompletion = (id: JobId) =>
      Effect.gen(function*() {
        const store = yield* JobStore
        const [claimed] = yield* store.claim({ worker_id: "w", limit: 1, lease_ms: 30_000 })
        expect(claimed?.job.job_id).toBe(id)
        return yield* store.complete(claimed!.lease)
      })

    const deliveryOf = (id: JobId) =>
      Effect.flatMap(Webhooks.WebhookStore, (w) => w.get(id)).pipe(Effect.map(Option.getOrUndefined))

    const claimAll = (limit = 100, lease_ms = 30_000, owner = "d1") =>
      Effect.flatMap(Webhooks.WebhookStore, (w) => w.claim({ owner, limit, lease_ms }))

    const encoded = (job: Job) => JSON.parse(JSON.stringify(Schema.encodeSync(Job)(job)))

    live("a job that completes with a webhook gets one delivery, due at once, carrying its status JSON", () =>
      Effect.gen(function*() {
        const jobs = yield* JobStore
        const job = yield* submit()
        const quiet = yield* submit({}, null)
        expect(yield* deliveryOf(job.job_id)).toBeUndefined()
        const before = Date.now()
        const done = yield* runToCompletion(job.job_id)
        yield* runToCompletion(quiet.job_id)
        const delivery = yield* deliveryOf(job.job_id)
        expect(delivery).toBeDefined()
        expect(delivery!.job_id).toBe(job.job_id)
        expect(delivery!.url).toBe(receiver)
        expect(delivery!.event).toBe("job.completed")
        expect(delivery!.state).toBe("delivering")
        expect(delivery!.attempts).toEqual([])
        expect(delivery!.next_attempt_at).toBeGreaterThanOrEqual(before - 1_000)
        expect(delivery!.next_attempt_at).toBeLessThanOrEqual(Date.now())
        expect(JSON.parse(delivery!.payload)).toEqual(encoded(done))
        expect(JSON.parse(delivery!.payload)).toEqual(encoded(yield* jobs.get(job.job_id)))
        expect(yield* deliveryOf(quiet.job_id)).toBeUndefined()
        const claimed = yield* claimAll()
        expect(claimed.map((c) => c.job_id)).toEqual([job.job_id])
        expect(claimed[0]!.attempt).toBe(1)
        expect(claimed[0]!.payload).toBe(delivery!.payload)
        expect(claimed[0]!.event).toBe("job.completed")
      }))

    live("failing for good, cancelling and a lease running out of attempts each write one; a retry writes none", () =>
      Effect.gen(function*() {
        const jobs = yield* JobStore
        const failed = yield* submit({ priority: 4 })
        const retried = yield* submit({ priority: 3 })
        const cancelled = yield* submit({ priority: 2 })
        const [a, b] = yield* jobs.claim({ worker_id: "w", limit: 2, lease_ms: 30_000 })
        expect([a!.job.job_id, b!.job.job_id]).toEqual([failed.job_id, retried.job_id])
        yield* jobs.fail(a!.lease, "broken for good", { retryable: false })
        const back = yield* jobs.fail(b!.lease, "try again", { retryable: true })
        expect(back.status).toBe("pending")
        yield* jobs.cancel(cancelled.job_id)
        // submitted last with the highest priority, so it is the next claimed whatever the retry's backoff
        const expired = yield* submit({ priority: 9, max_attempts: 1 })
        const [c] = yield* jobs.claim({ worker_id: "w", limit: 1, lease_ms: 50 })
        expect(c!.job.job_id).toBe(expired.job_id)
        yield* Effect.sleep(120)
        expect(yield* jobs.reap).toBe(1)
        expect((yield* jobs.get(expired.job_id)).status).toBe("failed")
        expect((yield* deliveryOf(failed.job_id))?.event).toBe("job.failed")
        expect(yield* deliveryOf(retried.job_id)).toBeUndefined()
        expect((yield* deliveryOf(cancelled.job_id))?.event).toBe("job.cancelled")
        expect((yield* deliveryOf(expired.job_id))?.event).toBe("job.failed")
        const cancelledPayload = JSON.parse((yield* deliveryOf(cancelled.job_id))!.payload)
        expect(cancelledPayload.status).toBe("cancelled")
        expect((yield* claimAll()).map((d) => d.job_id).sort()).toEqual(
          [failed.job_id, cancelled.job_id, expired.job_id].sort()
        )
      }))

    live("a claimed delivery is leased to its claimer until the lease runs out; a stale lease records nothing", () =>
      Effect.gen(function*() {
        const webhooks = yield* Webhooks.WebhookStore
        const job = yield* submit()
        yield* runToCompletion(job.job_id)
        const [first] = yield* claimAll(10, 150, "d1")
        expect(first?.attempt).toBe(1)
        expect(yield* claimAll(10, 150, "d2")).toEqual([])
        yield* Effect.sleep(250)
        const [second] = yield* claimAll(10, 30_000, "d2")
        expect(second?.delivery_id).toBe(first!.delivery_id)
        // nothing was recorded, so it is still the first attempt, under a new lease
        expect(second?.attempt).toBe(1)
        expect(second?.lease_token).not.toBe(first!.lease_token)
        const outcome = { at: Date.now(), status_code: 200, error: null }
        expect(yield* webhooks.record(first!, outcome, { state: "delivered" })).toBe(false)
        expect((yield* deliveryOf(job.job_id))!.attempts).toEqual([])
        expect(yield* webhooks.record(second!, outcome, { state: "delivered" })).toBe(true)
        expect(yield* webhooks.record(second!, outcome, { state: "delivered" })).toBe(false)
        const delivery = yield* deliveryOf(job.job_id)
        expect(delivery!.state).toBe("delivered")
        expect(delivery!.attempts).toEqual([{ attempt: 1, ...outcome }])
      }))

    live("each attempt is recorded with what follows: a retry is not due before its time, then delivered", () =>
      Effect.gen(function*() {
        const webhooks = yield* Webhooks.WebhookStore
        const job = yield* submit()
        yield* runToCompletion(job.job_id)
        const [first] = yield* claimAll()
        const failedAt = Date.now()
        const retryAt = failedAt + 300
        yield* webhooks.record(first!, { at: failedAt, status_code: 500, error: "the receiver answered HTTP 500" }, {
          state: "delivering",
          next_attempt_at: retryAt
        })
        const waiting = yield* deliveryOf(job.job_id)
        expect(waiting!.state).toBe("delivering")
        expect(waiting!.next_attempt_at).toBe(retryAt)
        expect(waiting!.attempts).toEqual([
          { attempt: 1, at: failedAt, status_code: 500, error: "the receiver answered HTTP 500" }
        ])
        expect(yield* claimAll()).toEqual([])
        yield* Effect.sleep(Math.max(0, retryAt - Date.now()) + 50)
        const [second] = yield* claimAll()
        expect(second?.attempt).toBe(2)
        const okAt = Date.now()
        yield* webhooks.record(second!, { at: okAt, status_code: 204, error: null }, { state: "delivered" })
        const done = yield* deliveryOf(job.job_id)
        expect(done!.state).toBe("delivered")
        expect(done!.next_attempt_at).toBeNull()
        expect(done!.attempts.map((a) => [a.attempt, a.status_code, a.error])).toEqual([
          [1, 500, "the receiver answered HTTP 500"],
          [2, 204, null]
        ])
        expect(done!.attempts[1]!.at).toBe(okAt)
        expect(yield* claimAll()).toEqual([])
      }))

    live("a delivery that gave up is failed and never claimed again", () =>
      Effect.gen(function*() {
        const webhooks = yield* Webhooks.WebhookStore
        const job = yield* submit()
        yield* runToCompletion(job.job_id)
        const [first] = yield* claimAll()
        yield* webhooks.record(first!, { at: Date.now(), status_code: null, error: "the connection was refused" }, {
          state: "failed"
        })
        const delivery = yield* deliveryOf(job.job_id)
        expect(delivery!.state).toBe("failed")
        expect(delivery!.next_attempt_at).toBeNull()
        expect(delivery!.attempts).toHaveLength(1)
        expect(delivery!.attempts[0]!.status_code).toBeNull()
        yield* Effect.sleep(50)
        expect(yield* claimAll()).toEqual([])
      }))

    live("claims from several clients at once never hand out one delivery twice", (database) =>
      Effect.gen(function*() {
        const count = 24
        for (let i = 0; i < count; i++) {
          const job = yield* submit()
          yield* runToCompletion(job.job_id)
        }
        const clients = yield* Effect.forEach([1, 2, 3], () =>
          Effect.map(Layer.build(harness.layer(database, { retry: fastRetry })), (ctx) =>
            Context.get(ctx, Webhooks.WebhookStore)))
        const drain = (store: Webhooks.WebhookStore, owner: string) =>
          Effect.gen(function*() {
            const mine: Array<string> = []
            for (;;) {
              const batch = yield* store.claim({ owner, limit: 3, lease_ms: 30_000 })
              // more than there are means deliveries were handed out again: stop, and let the count say so
              if (batch.length === 0 || mine.length > count) return mine
              mine.push(...batch.map((d) => d.delivery_id))
            }
          })
        const claimed = yield* Effect.all(clients.map((c, i) => drain(c, `d${i}`)), { concurrency: "unbounded" })
        const all = claimed.flat()
        expect(all).toHaveLength(count)
        expect(new Set(all).size).toBe(count)
      }).pipe(Effect.scoped), 60_000)

    live("a delivery written by one client is there for another (it outlives the process that ended the job)", (database) =>
      Effect.gen(function*() {
        const id = yield* Effect.provide(
          Effect.gen(function*() {
            const job = yield* submit()
            yield* runToCompletion(job.job_id)
            return job.job_id
          }),
          harness.layer(database, { retry: fastRetry })
        )
        const delivery = yield* deliveryOf(id)
        expect(delivery?.state).toBe("delivering")
        expect((yield* claimAll()).map((d) => d.job_id)).toEqual([id])
      }))

    live("deleting a job deletes its delivery and attempts", () =>
      Effect.gen(function*() {
        const jobs = yield* JobStore
        const webhooks = yield* Webhooks.WebhookStore
        const job = yield* submit()
        const other = yield* submit()
        yield* runToCompletion(job.job_id)
        yield* runToCompletion(other.job_id)
        const claimed = yield* claimAll()
        const mine = claimed.find((d) => d.job_id === job.job_id)!
        const theirs = claimed.find((d) => d.job_id === other.job_id)!
        const failure = { at: Date.now(), status_code: 503, error: "the receiver answered HTTP 503" }
        yield* webhooks.record(mine, failure, { state: "delivering", next_attempt_at: Date.now() })
        yield* webhooks.record(theirs, failure, { state: "delivering", next_attempt_at: Date.now() })
        yield* jobs.delete(job.job_id)
        expect(yield* deliveryOf(job.job_id)).toBeUndefined()
        const [again, ...rest] = yield* claimAll()
        expect(rest).toEqual([])
        expect(again?.job_id).toBe(other.job_id)
        expect(again?.attempt).toBe(2)
        expect((yield* deliveryOf(other.job_id))!.attempts).toHaveLength(1)
      }))

    live("Webhooks.get shows the webhook pending, then delivering, then delivered with its attempts", () =>
      Effect.gen(function*() {
        const read = yield* Webhooks.make
        const webhooks = yield* Webhooks.WebhookStore
        const job = yield* submit()
        const quiet = yield* submit({}, null)
        expect(yield* read.get(quiet.job_id)).toEqual(Option.none())
        expect(yield* read.get("00000000-0000-0000-0000-000000000000" as JobId)).toEqual(Option.none())
        expect(yield* read.get(job.job_id)).toEqual(
          Option.some({ url: receiver, state: "pending", next_attempt_at: null, attempts: [] })
        )
        yield* runToCompletion(job.job_id)
        const delivering = Option.getOrThrow(yield* read.get(job.job_id))
        expect(delivering.state).toBe("delivering")
        expect(delivering.next_attempt_at).toBeInstanceOf(Date)
        const [claimed] = yield* claimAll()
        const at = Date.now()
        yield* webhooks.record(claimed!, { at, status_code: 200, error: null }, { state: "delivered" })
        expect(yield* read.get(job.job_id)).toEqual(Option.some({
          url: receiver,
          state: "delivered",
          next_attempt_at: null,
          attempts: [{ attempt: 1, at: new Date(at), status_code: 200, error: null }]
        }))
      }))
  })
