/**
 * The body of a worker child process for the multi-process tests: a real Worker on a real store, whose handler
 * appends one line per unit of work to a log file, so the parent can count how often each job and page ran.
 * Configured by environment variables (see `TestWorkerEnv`); prints "ready" once it is claiming.
 */
import { Effect, Fiber, type Layer } from "effect"
import { appendFileSync } from "node:fs"
import type { JobHandler } from "../JobHandler.js"
import type { JobStore } from "../JobStore.js"
import * as Worker from "../Worker.js"

/** The environment a test worker process reads. */
export interface TestWorkerEnv {
  /** The database, as the harness names it. */
  readonly SCRIPTORIUM_TEST_DB: string
  /** The file each unit of work appends a line to: `job_id page pid` (page `-` for a job without pages). */
  readonly SCRIPTORIUM_TEST_LOG: string
  readonly SCRIPTORIUM_TEST_CONCURRENCY?: string
  readonly SCRIPTORIUM_TEST_LEASE_MS?: string
  /** How long each page takes. */
  readonly SCRIPTORIUM_TEST_PAGE_MS?: string
}

/** A handler that "processes" `job.options.pages` pages (none: a no-op job), skipping checkpointed ones. */
export const loggingHandler = (logFile: string, pageMs: number): JobHandler => (context) =>
  Effect.gen(function*() {
    const pages = Number(context.job.options.pages ?? 0)
    if (pages === 0) {
      appendFileSync(logFile, `${context.job.job_id} - ${process.pid}\n`)
      return
    }
    yield* context.setTotalPages(pages)
    for (let page = 0; page < pages; page++) {
      if (context.done.has(page)) continue
      yield* Effect.sleep(pageMs)
      appendFileSync(logFile, `${context.job.job_id} ${page} ${process.pid}\n`)
      yield* context.checkpoint(page)
    }
  })

/** Runs a worker on the store `makeLayer` opens until SIGTERM (graceful) or SIGKILL. */
export const runTestWorkerProcess = (makeLayer: (database: string) => Layer.Layer<JobStore, unknown>): void => {
  const env = process.env as unknown as TestWorkerEnv
  const handler = loggingHandler(env.SCRIPTORIUM_TEST_LOG, Number(env.SCRIPTORIUM_TEST_PAGE_MS ?? 0))
  const program = Effect.scoped(
    Effect.gen(function*() {
      yield* Worker.start(handler, {
        concurrency: Number(env.SCRIPTORIUM_TEST_CONCURRENCY ?? 4),
        leaseMs: Number(env.SCRIPTORIUM_TEST_LEASE_MS ?? 2_000),
        pollMs: 100,
        shutdownGraceMs: 2_000
      })
      process.stdout.write("ready\n")
      return yield* Effect.never
    })
  ).pipe(Effect.provide(makeLayer(env.SCRIPTORIUM_TEST_DB)))
  const fiber = Effect.runFork(program)
  fiber.addObserver((exit) => {
    if (exit._tag === "Failure" && !exit.cause.toString().includes("interrupt")) {
      process.stderr.write(`worker failed: ${exit.cause.toString()}\n`)
      process.exit(1)
    }
  })
  process.on("SIGTERM", () => {
    Effect.runPromise(Fiber.interrupt(fiber)).then(() => process.exit(0), () => process.exit(1))
  })
}
