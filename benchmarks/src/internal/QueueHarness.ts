/**
 * What the queue benchmark's parent process and its worker child processes share: the clock, the no-op workers of
 * each queue under test (Scriptorium's Worker on a JobStore, pg-boss's `work`), and the messages between the two.
 */
import { JobStore, Worker } from "@scriptorium/core"
import type { StoreUnavailable } from "@scriptorium/api"
import { PgJobStore } from "@scriptorium/store-pg"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { Effect, Exit, Layer, Logger, LogLevel, ManagedRuntime, Scope } from "effect"
import PgBoss from "pg-boss"

/** Milliseconds since the epoch with sub-millisecond resolution; comparable across processes on one machine. */
export const now = (): number => performance.timeOrigin + performance.now()

/** The queues under test. */
export type Backend = "sqlite" | "pg" | "pg-boss"

/** A store runtime: the JobStore layer, with the Worker's info logs (one per shutdown) silenced. */
export type StoreRuntime = ManagedRuntime.ManagedRuntime<JobStore, StoreUnavailable>

/** Opens the store for `sqlite` (a file name) or `pg` (a URL), each with its defaults. */
export const storeRuntime = (backend: "sqlite" | "pg", database: string): StoreRuntime =>
  ManagedRuntime.make(
    Layer.merge(
      backend === "sqlite" ? SqliteJobStore.layer({ filename: database }) : PgJobStore.layer({ url: database }),
      Logger.minimumLogLevel(LogLevel.Warning)
    )
  )

/** Records when a job's handler started. */
export type OnStart = (jobId: string, at: number) => void

/**
 * Starts a Scriptorium Worker with `concurrency` slots whose handler does nothing but note the time it started.
 * Every WorkerConfig field is left at its default. Returns a function that shuts the worker down.
 */
export const startScriptoriumWorker = async (
  runtime: StoreRuntime,
  concurrency: number,
  onStart: OnStart
): Promise<() => Promise<void>> => {
  const scope = await runtime.runPromise(Scope.make())
  await runtime.runPromise(
    Scope.extend(Worker.start(({ job }) => Effect.sync(() => onStart(job.job_id, now())), { concurrency }), scope)
  )
  return () => runtime.runPromise(Scope.close(scope, Exit.void))
}

/** The pg-boss queue the benchmark uses. */
export const bossQueue = "noop"

/** pg-boss's polling interval: its minimum (pg-boss 10 refuses anything below 0.5 s). */
export const bossPollingIntervalSeconds = 0.5

/**
 * A pg-boss instance: its defaults (pool of 10, like PgJobStore's), minus cron scheduling and maintenance, neither
 * of which does anything for no-op jobs in a run of seconds. `migrate` creates its schema (the parent's job).
 */
export const openBoss = async (url: string, options: { readonly migrate: boolean }): Promise<PgBoss> => {
  const boss = new PgBoss({ connectionString: url, schedule: false, supervise: false, migrate: options.migrate })
  boss.on("error", (error) => {
    // a stopped instance's pool can still report its connection being closed when the server stops: not news
    if (!stopped.has(boss)) process.stderr.write(`pg-boss error (${new URL(url).pathname}): ${error.message}\n`)
  })
  await boss.start()
  return boss
}

const stopped = new WeakSet<PgBoss>()

/** Stops a pg-boss instance (letting running handlers finish) and closes its pool. */
export const stopBoss = async (boss: PgBoss): Promise<void> => {
  await boss.stop({ graceful: true, wait: true, close: true, timeout: 5_000 })
  stopped.add(boss)
}

/**
 * `concurrency` pg-boss workers: pg-boss 10 has no per-worker concurrency option (teamSize went in 10.0,
 * localConcurrency came in 12.x, which needs Node 22), so concurrency is `work()` called that many times, each
 * fetching one job per poll (batchSize 1) and running the no-op handler. Returns a function that stops them.
 */
export const startBossWorkers = async (
  boss: PgBoss,
  concurrency: number,
  onStart: OnStart
): Promise<() => Promise<void>> => {
  const ids: Array<string> = []
  for (let i = 0; i < concurrency; i++) {
    ids.push(
      await boss.work<object>(
        bossQueue,
        { batchSize: 1, pollingIntervalSeconds: bossPollingIntervalSeconds },
        async (jobs) => {
          const at = now()
          for (const job of jobs) onStart(job.id, at)
        }
      )
    )
  }
  return async () => {
    for (const id of ids) await boss.offWork({ id })
  }
}

/** Messages from the parent to a worker child process. */
export type ToWorker = { readonly type: "dump" } | { readonly type: "stop" }

/** Messages from a worker child process to its parent. */
export type FromWorker =
  | { readonly type: "ready" }
  | { readonly type: "starts"; readonly starts: ReadonlyArray<readonly [string, number]> }
  | { readonly type: "error"; readonly message: string }

/** The environment of a worker child process. */
export interface WorkerEnv {
  readonly BENCH_BACKEND: Backend
  /** SQLite file name, or PostgreSQL URL. */
  readonly BENCH_DATABASE: string
  readonly BENCH_CONCURRENCY: string
}
