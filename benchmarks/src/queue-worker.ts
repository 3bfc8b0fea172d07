/**
 * A worker child process of the queue benchmark (`queue.ts` forks it for the "2 processes x 4" rows): runs a
 * no-op worker of one queue (Scriptorium on SQLite or PostgreSQL, or pg-boss) with the concurrency it is given,
 * notes when each handler started, and reports those times to the parent when asked. Configured by environment
 * (`WorkerEnv`); talks to the parent over the IPC channel (`ToWorker` / `FromWorker`). Not meant to be run by hand.
 */
import {
  type FromWorker,
  openBoss,
  startBossWorkers,
  startScriptoriumWorker,
  stopBoss,
  storeRuntime,
  type ToWorker,
  type WorkerEnv
} from "./internal/QueueHarness.js"

const env = process.env as unknown as WorkerEnv
const send = (message: FromWorker) => process.send?.(message)
const starts: Array<readonly [string, number]> = []
const onStart = (id: string, at: number) => void starts.push([id, at])

const main = async () => {
  const concurrency = Number(env.BENCH_CONCURRENCY)
  let stop: () => Promise<void>
  if (env.BENCH_BACKEND === "pg-boss") {
    const boss = await openBoss(env.BENCH_DATABASE, { migrate: false })
    const stopWorkers = await startBossWorkers(boss, concurrency, onStart)
    stop = async () => {
      await stopWorkers()
      await stopBoss(boss)
    }
  } else {
    const runtime = storeRuntime(env.BENCH_BACKEND, env.BENCH_DATABASE)
    const stopWorker = await startScriptoriumWorker(runtime, concurrency, onStart)
    stop = async () => {
      await stopWorker()
      await runtime.dispose()
    }
  }
  process.on("message", (message: ToWorker) => {
    if (message.type === "dump") send({ type: "starts", starts })
    else if (message.type === "stop") {
      stop().then(() => process.exit(0), (error: unknown) => {
        process.stderr.write(`worker stop failed: ${String(error)}\n`)
        process.exit(1)
      })
    }
  })
  send({ type: "ready" })
}

// an orphan (the parent died) must not keep running
process.on("disconnect", () => process.exit(0))

main().catch((error: unknown) => {
  send({ type: "error", message: error instanceof Error ? error.stack ?? error.message : String(error) })
  process.exit(1)
})
