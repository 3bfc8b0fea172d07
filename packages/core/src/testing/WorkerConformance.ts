/**
 * The Worker suite, run by every store adapter on its real database: concurrency, retries, time limits, cancel,
 * graceful shutdown, resume after a crash, and real OS processes sharing one queue (including one killed with
 * SIGKILL mid-job).
 */
import { describe, expect, it } from "@effect/vitest"
import type { Job, JobId } from "@scriptorium/api"
import { type Duration, Effect, Exit, Schedule, Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { JobFailure, type JobHandler } from "../JobHandler.js"
import { JobStore } from "../JobStore.js"
import * as Worker from "../Worker.js"
import { fastRetry, type StoreHarness, withFreshStore } from "./StoreHarness.js"
import type { TestWorkerEnv } from "./TestWorkerProcess.js"

/** Polls until every job is in a terminal status (or `status`), then returns them. */
export const awaitJobs = (
  ids: ReadonlyArray<string>,
  until: (job: Job) => boolean = (job) => ["completed", "failed", "cancelled"].includes(job.status),
  timeout: Duration.DurationInput = "20 seconds"
) =>
  Effect.flatMap(JobStore, (store) =>
    Effect.forEach(ids, (id) => store.get(id as JobId)).pipe(
      Effect.filterOrFail((jobs) => jobs.every(until), () => "not yet" as const),
      Effect.retry(Schedule.spaced("25 millis")),
      Effect.timeoutFail({ duration: timeout, onTimeout: () => new Error(`jobs did not reach the expected state`) })
    ))

const submit = (options: Record<string, unknown> = {}, max_attempts?: number) =>
  Effect.flatMap(JobStore, (s) => Effect.map(s.insert({ filename: "doc.pdf", options, max_attempts }), (r) => r.job))

const fastWorker = { pollMs: 100, leaseMs: 2_000, heartbeatMs: 200, reapIntervalMs: 200 } as const

/** Runs `body` with a worker running `handler` in the background. */
const withWorker = <A, E, R>(handler: JobHandler, config: Worker.WorkerConfig, body: Effect.Effect<A, E, R>) =>
  Effect.scoped(Effect.zipRight(Worker.start(handler, { ...fastWorker, ...config }), body))

/** A child process running the adapter's worker script. */
const startWorkerProcess = (script: string, env: TestWorkerEnv) =>
  Effect.acquireRelease(
    Effect.async<ChildProcess, Error>((resume) => {
      const child = spawn(process.execPath, [script], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stderr = ""
      child.stderr!.on("data", (d) => (stderr += String(d)))
      child.stdout!.on("data", (d) => {
        if (String(d).includes("ready")) resume(Effect.succeed(child))
      })
      child.on("exit", (code) => resume(Effect.fail(new Error(`worker process exited (${code}): ${stderr}`))))
    }),
    (child) => Effect.sync(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"))
  )

const readLog = (file: string) =>
  readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0).map((l) => l.split(" ") as [string, string, string])

/** Registers the suite. */
export const workerConformance = (name: string, harness: StoreHarness) =>
  describe(`${name}: Worker`, () => {
    const live = (
      title: string,
      body: (database: string) => Effect.Effect<unknown, unknown, JobStore | Scope.Scope>,
      timeout = 30_000
    ) => it.live(title, () => Effect.scoped(withFreshStore(harness, body)), timeout)

    live("runs jobs to completion, never more at once than its concurrency", () =>
      Effect.gen(function*() {
        let now = 0
        let peak = 0
        const handler: JobHandler = () =>
          Effect.acquireUseRelease(
            Effect.sync(() => (peak = Math.max(peak, ++now))),
            () => Effect.sleep(150),
            () => Effect.sync(() => now--)
          )
        const ids = yield* Effect.forEach(Array.from({ length: 7 }), () => Effect.map(submit(), (j) => j.job_id))
        const jobs = yield* withWorker(handler, { concurrency: 3 }, awaitJobs(ids))
        expect(jobs.map((j) => j.status)).toEqual(Array(7).fill("completed"))
        expect(peak).toBe(3)
      }))

    live("a handler that throws is retried with backoff, then the job fails with its message", () =>
      Effect.gen(function*() {
        let calls = 0
        const handler: JobHandler = () =>
          Effect.sync(() => {
            calls++
            throw new Error("the handler exploded")
          })
        const job = yield* submit()
        const [failed] = yield* withWorker(handler, {}, awaitJobs([job.job_id]))
        expect(failed!.status).toBe("failed")
        expect(failed!.attempts).toBe(fastRetry.max_attempts)
        expect(failed!.error_message).toContain("the handler exploded")
        expect(calls).toBe(fastRetry.max_attempts)
      }))

    live("a failure the handler marks as final fails the job at once with its message", () =>
      Effect.gen(function*() {
        const handler: JobHandler = () =>
          Effect.fail(new JobFailure({ message: "This file is not a PDF; upload a PDF.", retryable: false }))
        const job = yield* submit()
        const [failed] = yield* withWorker(handler, {}, awaitJobs([job.job_id]))
        expect(failed!.status).toBe("failed")
        expect(failed!.attempts).toBe(1)
        expect(failed!.error_message).toBe("This file is not a PDF; upload a PDF.")
      }))

    live("a handler that hangs past the per-job time limit is stopped and the job fails", () =>
      Effect.gen(function*() {
        const job = yield* submit()
        const started = Date.now()
        const [failed] = yield* withWorker(() => Effect.never, { jobTimeoutMs: 300 }, awaitJobs([job.job_id]))
        expect(failed!.status).toBe("failed")
        expect(failed!.error_message).toContain("time limit")
        expect(failed!.attempts).toBe(1)
        expect(Date.now() - started).toBeLessThan(5_000)
      }))

    live("cancelling a running job, from another client of the database, interrupts its handler within a second", (database) =>
      Effect.gen(function*() {
        let interruptedAt = 0
        let started = false
        const handler: JobHandler = () =>
          Effect.sync(() => (started = true)).pipe(
            Effect.zipRight(Effect.never),
            Effect.onInterrupt(() => Effect.sync(() => (interruptedAt = Date.now())))
          )
        const job = yield* submit()
        const otherClient = harness.layer(database, { retry: fastRetry })
        yield* withWorker(handler, { heartbeatMs: 10_000 }, Effect.gen(function*() {
          yield* awaitJobs([job.job_id], (j) => j.status === "processing")
          yield* Effect.sleep(50).pipe(Effect.repeat({ until: () => started }))
          const cancelledAt = Date.now()
          yield* Effect.flatMap(JobStore, (s) => s.cancel(job.job_id)).pipe(Effect.provide(otherClient))
          yield* Effect.sleep(20).pipe(Effect.repeat({ until: () => interruptedAt > 0 }), Effect.timeout("3 seconds"))
          expect(interruptedAt - cancelledAt).toBeLessThan(1_000)
        }))
        expect((yield* Effect.flatMap(JobStore, (s) => s.get(job.job_id))).status).toBe("cancelled")
      }))

    live("a job cancelled while pending never runs", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        let ran = 0
        const cancelled = yield* submit()
        yield* store.cancel(cancelled.job_id)
        const other = yield* submit()
        yield* withWorker(() => Effect.sync(() => ran++), {}, awaitJobs([other.job_id]))
        expect(ran).toBe(1)
        expect((yield* store.get(cancelled.job_id)).status).toBe("cancelled")
      }))

    live("shutdown lets a short job finish and hands a long one back to the queue, attempt uncounted", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        const short = yield* submit({ ms: 100 })
        const long = yield* submit({ ms: 60_000 })
        const handler: JobHandler = (context) => Effect.sleep(Number(context.job.options.ms))
        const scope = yield* Scope.make()
        yield* Worker.start(handler, { ...fastWorker, concurrency: 2, shutdownGraceMs: 500 }).pipe(Scope.extend(scope))
        yield* awaitJobs([short.job_id, long.job_id], (j) => j.status !== "pending").pipe(
          Effect.onError(() => Scope.close(scope, Exit.void))
        )
        yield* Scope.close(scope, Exit.void)
        expect((yield* store.get(short.job_id)).status).toBe("completed")
        const handedBack = yield* store.get(long.job_id)
        expect(handedBack.status).toBe("pending")
        expect(handedBack.attempts).toBe(0)
      }))

    live("a crashed worker's job is taken over after its lease expires and resumes after its last checkpoint", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        const job = yield* submit({ pages: 5 })
        // the "crashed" worker: claims, checkpoints two pages, then is never heard from again
        const [crashed] = yield* store.claim({ worker_id: "crashed", limit: 1, lease_ms: 300 })
        yield* store.setTotalPages(crashed!.lease, 5)
        yield* store.checkpoint(crashed!.lease, 0)
        yield* store.checkpoint(crashed!.lease, 1)
        const processed: Array<number> = []
        let skipped: ReadonlyArray<number> = []
        const handler: JobHandler = (context) =>
          Effect.gen(function*() {
            skipped = [...context.done].sort()
            for (let page = 0; page < 5; page++) {
              if (context.done.has(page)) continue
              processed.push(page)
              yield* context.checkpoint(page)
            }
          })
        const [done] = yield* withWorker(handler, {}, awaitJobs([job.job_id]))
        expect(done!.status).toBe("completed")
        expect(done!.attempts).toBe(2)
        expect(done!.processed_pages).toBe(5)
        expect(skipped).toEqual([0, 1])
        expect(processed).toEqual([2, 3, 4])
      }))

    live("200 jobs, 2 OS processes x 4 workers: every job processed exactly once", (database) =>
      Effect.gen(function*() {
        const log = join(mkdtempSync(join(tmpdir(), "scriptorium-log-")), "work.log")
        writeFileSync(log, "")
        const ids = yield* Effect.forEach(Array.from({ length: 200 }), () => Effect.map(submit(), (j) => j.job_id))
        const env = { SCRIPTORIUM_TEST_DB: database, SCRIPTORIUM_TEST_LOG: log, SCRIPTORIUM_TEST_CONCURRENCY: "4" }
        yield* Effect.all([startWorkerProcess(harness.workerScript, env), startWorkerProcess(harness.workerScript, env)])
        const jobs = yield* awaitJobs(ids, undefined, "60 seconds")
        expect(jobs.every((j) => j.status === "completed")).toBe(true)
        const lines = readLog(log)
        expect(lines).toHaveLength(200)
        expect(new Set(lines.map(([id]) => id))).toEqual(new Set(ids))
      }), 90_000)

    live("a worker process killed with SIGKILL mid-job: another takes over and checkpointed pages are not redone", (database) =>
      Effect.gen(function*() {
        const store = yield* JobStore
        const log = join(mkdtempSync(join(tmpdir(), "scriptorium-log-")), "work.log")
        writeFileSync(log, "")
        const job = yield* submit({ pages: 8 })
        const env = {
          SCRIPTORIUM_TEST_DB: database,
          SCRIPTORIUM_TEST_LOG: log,
          SCRIPTORIUM_TEST_LEASE_MS: "1000",
          SCRIPTORIUM_TEST_PAGE_MS: "150"
        }
        const victim = yield* startWorkerProcess(harness.workerScript, env)
        yield* awaitJobs([job.job_id], (j) => j.processed_pages >= 3)
        victim.kill("SIGKILL")
        yield* Effect.async<void>((resume) => {
          if (victim.exitCode !== null || victim.signalCode !== null) resume(Effect.void)
          else victim.once("exit", () => resume(Effect.void))
        })
        const checkpointed = yield* store.checkpoints(job.job_id)
        expect(checkpointed.length).toBeGreaterThanOrEqual(3)
        expect((yield* store.get(job.job_id)).status).toBe("processing")
        const rescuer = yield* startWorkerProcess(harness.workerScript, env)
        const [done] = yield* awaitJobs([job.job_id], undefined, "30 seconds")
        expect(done!.status).toBe("completed")
        expect(done!.processed_pages).toBe(8)
        expect(done!.attempts).toBe(2)
        const lines = readLog(log)
        for (const page of checkpointed) {
          expect(lines.filter(([, p]) => p === String(page)), `page ${page}`).toHaveLength(1)
          expect(lines.find(([, p]) => p === String(page))![2]).toBe(String(victim.pid))
        }
        for (let page = 0; page < 8; page++) expect(lines.some(([, p]) => p === String(page))).toBe(true)
        expect(lines.some(([, , pid]) => pid === String(rescuer.pid))).toBe(true)
      }), 60_000)
  })

