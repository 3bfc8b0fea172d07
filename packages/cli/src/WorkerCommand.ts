/**
 * `scriptorium worker`: a worker with no HTTP API, for scale-out: it takes jobs from the store named by DATABASE_URL
 * (PostgreSQL: any number of workers on any number of machines), or else from the SQLite database in `--data-dir`
 * (workers on this machine beside a `serve` on the same folder), and reads and writes files under the data folder.
 * It is the standalone server's `coreLayer` without the API. SIGTERM or SIGINT stops it gracefully: it stops
 * claiming, lets running jobs finish for SHUTDOWN_GRACE_SECONDS, hands the rest back to the queue, and exits with 0.
 */
import { Command } from "@effect/cli"
import { Console, Effect, Layer } from "effect"
import * as ExitCode from "./ExitCode.js"
import * as Engine from "./internal/Engine.js"
import { asVariable, concurrency, dataDir, ocrThreads, serverConfig } from "./internal/Flags.js"

/** The `worker` command. */
export const command = Command.make(
  "worker",
  { dataDir, concurrency, ocrThreads },
  ({ concurrency, dataDir, ocrThreads }) =>
    Effect.gen(function*() {
      yield* ExitCode.stopsOnSignal
      const config = yield* serverConfig({
        SCRIPTORIUM_DATA_DIR: asVariable(dataDir),
        WORKER_CONCURRENCY: asVariable(concurrency),
        OCR_THREADS: asVariable(ocrThreads)
      })
      if (config.workerConcurrency === 0) {
        return yield* new ExitCode.UsageError({
          reason: "WORKER_CONCURRENCY is 0, so this worker would take no job; unset it or pass --concurrency 1 or more."
        })
      }
      const store = config.databaseUrl === undefined ? `SQLite in ${config.dataDir}` : "PostgreSQL (DATABASE_URL)"
      // a status message, so on stderr; printed once the worker runs
      const announce = Layer.effectDiscard(Console.error(
        `Scriptorium worker running: ${config.workerConcurrency} job(s) at a time, jobs from ${store}, files in ` +
          `${config.dataDir}. Stop it with SIGTERM or Ctrl-C.`
      ))
      const { server } = yield* Engine.load
      return yield* Layer.launch(Layer.provide(announce, server.coreLayer(config)))
    })
).pipe(
  Command.withDescription(
    "Run a worker only (no HTTP API), taking jobs from PostgreSQL when DATABASE_URL is set, else from the SQLite " +
      "database in the data folder; several workers share one queue. SIGTERM or Ctrl-C stops it gracefully: " +
      "running jobs get SHUTDOWN_GRACE_SECONDS to finish, then go back to the queue." +
      ` ${ExitCode.helpText}`
  )
)
