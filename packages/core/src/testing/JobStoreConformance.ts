/**
 * The JobStore conformance suite: what every adapter must do, checked against its real database. An adapter runs it
 * with one line: `jobStoreConformance("SqliteJobStore", harness)`.
 */
import { describe, expect, it } from "@effect/vitest"
import { type Job, type JobId } from "@scriptorium/api"
import { Chunk, Context, Effect, Either, Fiber, Layer, Option, Stream } from "effect"
import { type JobEvent, JobStore, type Lease } from "../JobStore.js"
import { fastRetry, type StoreHarness, withFreshStore } from "./StoreHarness.js"

const lease = (claimed: { readonly lease: Lease }) => claimed.lease

/** Fails the test with the error's tag when `effect` does not fail with `tag`. */
export const expectFailure = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>, tag: string) =>
  Effect.map(Effect.either(effect), (result) => {
    expect(Either.isLeft(result), `expected a ${tag} failure`).toBe(true)
    if (Either.isLeft(result)) expect(result.left._tag).toBe(tag)
    return Either.isLeft(result) ? result.left : undefined
  })

/** Registers the suite. */
export const jobStoreConformance = (name: string, harness: StoreHarness) =>
  describe(`${name}: JobStore conformance`, () => {
    const live = (title: string, body: () => Effect.Effect<unknown, unknown, JobStore>, timeout?: number) =>
      it.live(title, () => withFreshStore(harness, body), timeout)

    const submit = (filename = "doc.pdf", extra: Partial<{ priority: number; max_attempts: number }> = {}) =>
      Effect.flatMap(JobStore, (s) => Effect.map(s.insert({ filename, ...extra }), (r) => r.job))

    const claimOne = (lease_ms = 30_000, worker_id = "w1") =>
      Effect.flatMap(JobStore, (s) => s.claim({ worker_id, limit: 1, lease_ms })).pipe(
        Effect.map((claimed) => {
          expect(claimed).toHaveLength(1)
          return claimed[0]!
        })
      )

    live("inserts a pending job with the seed's fields, and gets it back", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        const { created, job } = yield* store.insert({ filename: "report.pdf", options: { ocr: "auto" }, priority: 2 })
        expect(created).toBe(true)
        expect(job.status).toBe("pending")
        expect(job.filename).toBe("report.pdf")
        expect(job.total_pages).toBe(0)
        expect(job.processed_pages).toBe(0)
        expect(job.error_message).toBeNull()
        expect(job.completed_at).toBeNull()
        expect(job.attempts).toBe(0)
        expect(job.max_attempts).toBe(fastRetry.max_attempts)
        expect(job.options).toEqual({ ocr: "auto" })
        const again = yield* store.get(job.job_id)
        expect(again).toEqual(job)
        expect(Math.abs(again.created_at.getTime() - Date.now())).toBeLessThan(10_000)
      }))

    live("an unknown id is JobNotFound for get, cancel and delete", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        const missing = "00000000-0000-0000-0000-000000000000" as JobId
        const error = yield* expectFailure(store.get(missing), "JobNotFound")
        expect(error?.message).toContain(missing)
        yield* expectFailure(store.cancel(missing), "JobNotFound")
        yield* expectFailure(store.delete(missing), "JobNotFound")
      }))

    live("the same idempotency key returns the first job; with other content it is a conflict", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        const first = yield* store.insert({ filename: "a.pdf", idempotency_key: "k1", fingerprint: "f1" })
        const repeat = yield* store.insert({ filename: "a.pdf", idempotency_key: "k1", fingerprint: "f1" })
        expect(repeat.created).toBe(false)
        expect(repeat.job.job_id).toBe(first.job.job_id)
        const conflict = yield* expectFailure(
          store.insert({ filename: "b.pdf", idempotency_key: "k1", fingerprint: "f2" }),
          "IdempotencyConflict"
        )
        expect(conflict?.message).toContain("k1")
        const page = yield* store.list({})
        expect(page.jobs).toHaveLength(1)
      }))

    live("concurrent submissions with one idempotency key create one job", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        const results = yield* Effect.all(
          Array.from({ length: 10 }, () => store.insert({ filename: "a.pdf", idempotency_key: "same", fingerprint: "x" })),
          { concurrency: "unbounded" }
        )
        expect(new Set(results.map((r) => r.job.job_id)).size).toBe(1)
        expect(results.filter((r) => r.created)).toHaveLength(1)
      }))

    live("lists newest first, filters by status, and pages with a cursor", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        const ids: Array<string> = []
        for (let i = 0; i < 25; i++) ids.push((yield* submit(`f${i}.pdf`)).job_id)
        yield* claimOne()
        const seen: Array<Job> = []
        let cursor: string | undefined
        let pages = 0
        do {
          const page = yield* store.list({ limit: 10, cursor })
          seen.push(...page.jobs)
          cursor = page.next_cursor ?? undefined
          pages++
        } while (cursor !== undefined)
        expect(pages).toBe(3)
        // newest first, jobs inserted in the same millisecond too
        expect(seen.map((j) => j.job_id)).toEqual([...ids].reverse())
        const processing = yield* store.list({ status: "processing" })
        expect(processing.jobs).toHaveLength(1)
        const pending = yield* store.list({ status: "pending", limit: 1000 })
        expect(pending.jobs).toHaveLength(24)
        yield* expectFailure(store.list({ cursor: "not-a-cursor" }), "InvalidCursor")
        yield* expectFailure(store.list({ cursor: Buffer.from("[1]").toString("base64url") }), "InvalidCursor")
      }))

    live("claims by priority, then oldest first, each job once, under a fresh lease", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        const low = yield* submit("low.pdf")
        const high = yield* submit("high.pdf", { priority: 5 })
        const low2 = yield* submit("low2.pdf")
        const claimed = yield* store.claim({ worker_id: "w1", limit: 2, lease_ms: 30_000 })
        expect(claimed.map((c) => c.job.job_id)).toEqual([high.job_id, low.job_id])
        for (const c of claimed) {
          expect(c.job.status).toBe("processing")
          expect(c.job.attempts).toBe(1)
          expect(c.lease.worker_id).toBe("w1")
        }
        expect(claimed[0]!.lease.token).not.toBe(claimed[1]!.lease.token)
        const rest = yield* store.claim({ worker_id: "w2", limit: 10, lease_ms: 30_000 })
        expect(rest.map((c) => c.job.job_id)).toEqual([low2.job_id])
        expect(yield* store.claim({ worker_id: "w3", limit: 10, lease_ms: 30_000 })).toHaveLength(0)
      }))

    live("claims jobs of one priority in the order they were inserted, within one millisecond too", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        // back to back, so many share a millisecond: their ids, not the clock, keep them in order
        const ids: Array<string> = []
        for (let i = 0; i < 40; i++) ids.push((yield* submit(`f${i}.pdf`)).job_id)
        const claimed: Array<string> = []
        for (;;) {
          const got = yield* store.claim({ worker_id: "w1", limit: 7, lease_ms: 30_000 })
          if (got.length === 0) break
          claimed.push(...got.map((c) => c.job.job_id))
        }
        expect(claimed).toEqual(ids)
      }))

    live("concurrent claimers never share a job", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        for (let i = 0; i < 60; i++) yield* submit(`f${i}.pdf`)
        const claimer = (w: number) =>
          Effect.gen(function*() {
            const mine: Array<string> = []
            for (;;) {
              const got = yield* store.claim({ worker_id: `w${w}`, limit: 3, lease_ms: 30_000 })
              if (got.length === 0) return mine
              mine.push(...got.map((c) => c.job.job_id))
            }
          })
        const all = (yield* Effect.all(Array.from({ length: 8 }, (_, w) => claimer(w)), { concurrency: "unbounded" }))
          .flat()
        expect(all).toHaveLength(60)
        expect(new Set(all).size).toBe(60)
      }))

    live("heartbeat extends a held lease, and reports a cancel or a lost lease", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        yield* submit()
        const c = yield* claimOne()
        expect(yield* store.heartbeat(lease(c), 30_000)).toBe("extended")
        expect(yield* store.heartbeat({ ...lease(c), token: "forged" }, 30_000)).toBe("lost")
        yield* store.cancel(c.job.job_id)
        expect(yield* store.heartbeat(lease(c), 30_000)).toBe("cancelled")
      }))

    live("checkpoints count distinct pages and survive for a resumed attempt", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        yield* submit()
        const c = yield* claimOne()
        expect((yield* store.setTotalPages(lease(c), 4)).total_pages).toBe(4)
        yield* store.checkpoint(lease(c), 2)
        yield* store.checkpoint(lease(c), 0)
        const job = yield* store.checkpoint(lease(c), 2)
        expect(job.processed_pages).toBe(2)
        expect(yield* store.checkpoints(c.job.job_id)).toEqual([0, 2])
      }))

    live("complete ends the job; a finished job cannot move again", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        yield* submit()
        const c = yield* claimOne()
        const done = yield* store.complete(lease(c))
        expect(done.status).toBe("completed")
        expect(done.completed_at).not.toBeNull()
        yield* expectFailure(store.complete(lease(c)), "LeaseLost")
        const illegal = yield* expectFailure(store.cancel(c.job.job_id), "IllegalTransition")
        expect(illegal?.message).toContain("completed and cannot become cancelled")
      }))

    live("a retryable failure backs off exponentially, then fails for good after max attempts", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        const job = yield* submit()
        const failedAt: Array<number> = []
        for (let attempt = 1; attempt <= 3; attempt++) {
          const started = Date.now()
          let claimed = yield* store.claim({ worker_id: "w", limit: 1, lease_ms: 30_000 })
          while (claimed.length === 0) {
            yield* Effect.sleep(10)
            claimed = yield* store.claim({ worker_id: "w", limit: 1, lease_ms: 30_000 })
          }
          if (attempt > 1) failedAt.push(Date.now() - started)
          expect(claimed[0]!.job.attempts).toBe(attempt)
          const after = yield* store.fail(lease(claimed[0]!), `boom ${attempt}`, { retryable: true })
          expect(after.status).toBe(attempt < 3 ? "pending" : "failed")
          expect(after.error_message).toBe(`boom ${attempt}`)
        }
        // 100 ms then 200 ms: each wait at least the delay, and the second clearly longer than the first
        expect(failedAt[0]).toBeGreaterThanOrEqual(90)
        expect(failedAt[1]).toBeGreaterThanOrEqual(190)
        const final = yield* store.get(job.job_id)
        expect(final.status).toBe("failed")
        expect(final.attempts).toBe(3)
        expect(final.completed_at).not.toBeNull()
      }))

    live("a non-retryable failure fails at once", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        yield* submit()
        const c = yield* claimOne()
        const failed = yield* store.fail(lease(c), "not a PDF", { retryable: false })
        expect(failed.status).toBe("failed")
        expect(failed.attempts).toBe(1)
      }))

    live("release hands a job back without counting the attempt", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        yield* submit()
        const c = yield* claimOne()
        const released = yield* store.release(lease(c))
        expect(released.status).toBe("pending")
        expect(released.attempts).toBe(0)
        expect((yield* claimOne()).job.attempts).toBe(1)
      }))

    live("cancels a pending job and a running one; the running one's writes are refused", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        const pending = yield* submit("p.pdf")
        yield* submit("r.pdf")
        // claim the second one only: cancel the first before
        expect((yield* store.cancel(pending.job_id)).status).toBe("cancelled")
        const c = yield* claimOne()
        const cancelled = yield* store.cancel(c.job.job_id)
        expect(cancelled.status).toBe("cancelled")
        expect(cancelled.completed_at).not.toBeNull()
        yield* expectFailure(store.checkpoint(lease(c), 0), "LeaseLost")
        yield* expectFailure(store.complete(lease(c)), "LeaseLost")
        yield* expectFailure(store.cancel(c.job.job_id), "IllegalTransition")
        expect(yield* store.claim({ worker_id: "w", limit: 5, lease_ms: 1000 })).toHaveLength(0)
      }))

    live("an expired lease is reaped and taken over; the old holder's writes are refused", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        yield* submit()
        const old = yield* claimOne(150, "crashed")
        yield* store.checkpoint(lease(old), 0)
        expect(yield* store.reap).toBe(0)
        yield* Effect.sleep(250)
        expect(yield* store.reap).toBe(1)
        const reaped = yield* store.get(old.job.job_id)
        expect(reaped.status).toBe("pending")
        const fresh = yield* claimOne(30_000, "rescuer")
        expect(fresh.job.attempts).toBe(2)
        expect(yield* store.checkpoints(fresh.job.job_id)).toEqual([0])
        expect(yield* store.heartbeat(lease(old), 30_000)).toBe("lost")
        yield* expectFailure(store.checkpoint(lease(old), 1), "LeaseLost")
        yield* expectFailure(store.complete(lease(old)), "LeaseLost")
        expect((yield* store.complete(lease(fresh))).status).toBe("completed")
      }))

    live("a job whose lease expires on its last attempt fails with a clear message", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        const job = yield* submit("x.pdf", { max_attempts: 1 })
        yield* claimOne(50)
        yield* Effect.sleep(120)
        expect(yield* store.reap).toBe(1)
        const failed = yield* store.get(job.job_id)
        expect(failed.status).toBe("failed")
        expect(failed.error_message).toContain("stopped responding")
      }))

    live("delete removes the job and its checkpoints", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        yield* submit()
        const c = yield* claimOne()
        yield* store.checkpoint(lease(c), 0)
        yield* store.delete(c.job.job_id)
        yield* expectFailure(store.get(c.job.job_id), "JobNotFound")
        expect(yield* store.checkpoints(c.job.job_id)).toEqual([])
        yield* expectFailure(store.complete(lease(c)), "LeaseLost")
      }))

    live("the change feed sees every transition of a job, in order", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        const collected = yield* store.changes().pipe(
          Stream.takeUntil((e) => e.type === "completed"),
          Stream.runCollect,
          Effect.fork
        )
        yield* Effect.sleep(100)
        yield* submit()
        const c = yield* claimOne()
        yield* store.setTotalPages(lease(c), 2)
        yield* store.checkpoint(lease(c), 0)
        yield* store.checkpoint(lease(c), 1)
        yield* store.complete(lease(c))
        const events = Chunk.toReadonlyArray(yield* Fiber.join(collected).pipe(Effect.timeout("5 seconds")))
        expect(events.map((e) => e.type)).toEqual(["created", "started", "progress", "page", "page", "completed"])
        expect(events.map((e) => e.job.processed_pages)).toEqual([0, 0, 0, 1, 2, 2])
        for (let i = 1; i < events.length; i++) expect(events[i]!.seq).toBeGreaterThan(events[i - 1]!.seq)
        // replay: from a sequence number, the rest comes back from the stored history
        const replayed = yield* store.changes({ after: events[2]!.seq }).pipe(Stream.take(3), Stream.runCollect)
        expect(Chunk.toReadonlyArray(replayed).map((e) => e.seq)).toEqual(events.slice(3).map((e) => e.seq))
        // "latest" starts at the job's current state
        const latest = yield* store.changes({ job_id: c.job.job_id, after: "latest" }).pipe(Stream.runHead)
        expect(Option.map(latest, (e: JobEvent) => e.type)).toEqual(Option.some("completed"))
      }))

    it.live("get sees a write at once: the writer's own, and another client's of the same database", () =>
      Effect.gen(function*() {
        const database = yield* Effect.promise(() => harness.freshDatabase())
        const reader = yield* Layer.build(harness.layer(database, { retry: fastRetry }))
        const writer = yield* Layer.build(harness.layer(database, { retry: fastRetry }))
        const [read, write] = [Context.get(reader, JobStore), Context.get(writer, JobStore)]
        for (let i = 0; i < 20; i++) {
          const { job } = yield* write.insert({ filename: `doc-${i}.pdf` })
          expect((yield* write.get(job.job_id)).status).toBe("pending")
          expect((yield* read.get(job.job_id)).status).toBe("pending")
          yield* write.cancel(job.job_id)
          expect((yield* write.get(job.job_id)).status).toBe("cancelled")
          expect((yield* read.get(job.job_id)).status).toBe("cancelled")
        }
      }).pipe(Effect.scoped))

    it.live("the change feed carries events between two clients of one database", () =>
      Effect.gen(function*() {
        const database = yield* Effect.promise(() => harness.freshDatabase())
        const watcher = harness.layer(database, { retry: fastRetry })
        const writer = harness.layer(database, { retry: fastRetry })
        const seen = yield* Effect.flatMap(JobStore, (s) =>
          s.changes().pipe(Stream.take(2), Stream.runCollect)).pipe(Effect.provide(watcher), Effect.fork)
        yield* Effect.sleep(300)
        const job = yield* Effect.provide(submit(), writer)
        yield* Effect.provide(Effect.flatMap(JobStore, (s) => s.cancel(job.job_id)), writer)
        const events = Chunk.toReadonlyArray(yield* Fiber.join(seen).pipe(Effect.timeout("5 seconds")))
        expect(events.map((e) => [e.type, e.job.job_id])).toEqual([["created", job.job_id], ["cancelled", job.job_id]])
      }))
  })
