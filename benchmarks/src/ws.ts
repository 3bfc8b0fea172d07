/**
 * The WebSocket status stream's figures, on SQLite and on PostgreSQL:
 *
 * - Latency from a status change to its WebSocket message, with 1,000 sockets connected: the API process
 *   (`internal/ws-server.ts`: the facade and the WebSocket transport, no worker) serves the sockets; a worker in
 *   ANOTHER process (`internal/ws-worker.ts`, the core's test worker: each page waits, then is checkpointed) makes
 *   the changes. The sockets (in this process) watch J jobs, 1,000 / J sockets each; every job goes through claimed,
 *   its page count, each of its P pages and completed, and each change reaches its job's sockets. A message's
 *   latency is the time it arrived here minus its `updated_at` (the worker's clock at the change; one machine, one
 *   clock, millisecond resolution), so it spans the store's change feed, the fan-out and the socket. p50, p99, max.
 * - Memory per idle subscriber: the API process's RSS, and its heap + external (Buffers), each after a full
 *   collection, before and after the 1,000 sockets connect (watching pending jobs, nothing changing), divided by
 *   1,000.
 *
 * Progress on stderr, a markdown table on stdout. Targets: p99 < 100 ms; < 50 KB per idle subscriber.
 *
 * Run after `npx tsc -b`: node benchmarks/dist/ws.js [--sockets N] [--jobs J] [--pages P] [--page-ms MS]
 *                                                    [--only sqlite,pg]
 * Defaults: 1,000 sockets, 20 jobs of 20 pages, 50 ms a page, 2 jobs at a time (about 25,000 messages per store;
 * about a minute in all). PostgreSQL: a throwaway server from the system binaries, or the server in DATABASE_URL.
 */
import { startTestPostgres, type TestPostgres } from "@scriptorium/store-pg/testing"
import { type ChildProcess, fork, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import WebSocket from "ws"
import { runMain } from "./internal/Main.js"
import { fmt, machineLine, ms, percentile, positive } from "./internal/Stats.js"
import type { FromWsServer, ToWsServer } from "./internal/ws-server.js"

const { values: flags } = parseArgs({
  options: {
    sockets: { type: "string" },
    jobs: { type: "string" },
    pages: { type: "string" },
    "page-ms": { type: "string" },
    only: { type: "string" },
    help: { type: "boolean", default: false }
  }
})
if (flags.help) {
  process.stdout.write(
    "node benchmarks/dist/ws.js [--sockets N] [--jobs J] [--pages P] [--page-ms MS] [--only sqlite,pg]\n"
  )
  process.exit(0)
}
const options = {
  sockets: Math.floor(positive("--sockets", flags.sockets, 1_000)),
  jobs: Math.floor(positive("--jobs", flags.jobs, 20)),
  pages: Math.floor(positive("--pages", flags.pages, 20)),
  pageMs: positive("--page-ms", flags["page-ms"], 50),
  stores: (flags.only ?? "sqlite,pg").split(",").map((s) => s.trim()).filter((s) => s !== "")
}

const log = (line: string) => process.stderr.write(`${line}\n`)
const serverScript = fileURLToPath(new URL("./internal/ws-server.js", import.meta.url))
const workerScript = fileURLToPath(new URL("./internal/ws-worker.js", import.meta.url))

// ---------------------------------------------------------------------------------------------------------------
// The processes

const children = new Set<ChildProcess>()
const temps: Array<string> = []
let postgres: TestPostgres | undefined

const cleanUp = async () => {
  for (const child of children) child.kill("SIGKILL")
  children.clear()
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true })
  await postgres?.stop()
}

/** The API process, and a way to ask it things. */
const startApiServer = async (database: string, blobs: string) => {
  const child = fork(serverScript, [], {
    execArgv: ["--expose-gc"],
    env: { ...process.env, BENCH_DATABASE: database, BENCH_BLOBS: blobs },
    stdio: ["ignore", "ignore", "inherit", "ipc"]
  })
  children.add(child)
  const next = () =>
    new Promise<FromWsServer>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the API process exited (${code})`))
      child.once("exit", onExit)
      child.once("message", (message: FromWsServer) => {
        child.off("exit", onExit)
        if (message.type === "error") reject(new Error(`the API process failed: ${message.message}`))
        else resolve(message)
      })
    })
  const ready = await next()
  if (ready.type !== "ready") throw new Error(`unexpected first message ${ready.type}`)
  const ask = <T extends FromWsServer["type"]>(message: ToWsServer, type: T) =>
    new Promise<Extract<FromWsServer, { type: T }>>((resolve, reject) => {
      next().then(
        (answer) =>
          answer.type === type
            ? resolve(answer as Extract<FromWsServer, { type: T }>)
            : reject(new Error(`expected ${type}, got ${answer.type}`)),
        reject
      )
      child.send(message)
    })
  const stop = async () => {
    const exited = new Promise((resolve) => child.once("exit", resolve))
    child.send({ type: "stop" } satisfies ToWsServer)
    await exited
    children.delete(child)
  }
  return { port: ready.port, pid: child.pid!, ask, stop }
}

/** The worker process; resolves once it claims jobs. */
const startWorker = async (database: string, logFile: string) => {
  const child = spawn(process.execPath, [workerScript], {
    env: {
      ...process.env,
      SCRIPTORIUM_TEST_DB: database,
      SCRIPTORIUM_TEST_LOG: logFile,
      SCRIPTORIUM_TEST_PAGE_MS: String(options.pageMs),
      SCRIPTORIUM_TEST_CONCURRENCY: "2"
    },
    stdio: ["ignore", "pipe", "inherit"]
  })
  children.add(child)
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (data: Buffer) => data.toString().includes("ready") && resolve())
    child.once("exit", (code) => reject(new Error(`the worker process exited (${code}) before it was ready`)))
  })
  return async () => {
    const exited = new Promise((resolve) => child.once("exit", resolve))
    child.kill("SIGTERM")
    await exited
    children.delete(child)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// One store

interface Row {
  readonly store: string
  readonly messages: number
  readonly p50: number
  readonly p99: number
  readonly max: number
  /** The same, of the change feed alone (arrival in the API process). */
  readonly feedP50: number
  readonly feedP99: number
  readonly rssPerSocket: number
  readonly heapPerSocket: number
  readonly ok: boolean
}

/** Opens the sockets (100 at a time) and records the latency of every message after the first of each. */
const openSockets = async (port: number, ids: ReadonlyArray<string>, latencies: Array<number>) => {
  const sockets: Array<{ readonly first: Promise<void>; readonly closed: Promise<number> }> = []
  for (let start = 0; start < options.sockets; start += 100) {
    const batch = Array.from({ length: Math.min(100, options.sockets - start) }, (_, k) => {
      const url = `ws://127.0.0.1:${port}/ws/${ids[(start + k) % ids.length]}`
      const socket = new WebSocket(url, { perMessageDeflate: false })
      let seen = 0
      const first = new Promise<void>((resolve, reject) => {
        socket.once("error", reject)
        socket.on("message", (data) => {
          const arrived = Date.now()
          if (seen++ === 0) return resolve()
          const { updated_at } = JSON.parse(data.toString()) as { updated_at: string }
          latencies.push(arrived - Date.parse(updated_at))
        })
      })
      const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)))
      return { first, closed }
    })
    await Promise.all(batch.map((s) => s.first))
    sockets.push(...batch)
  }
  return sockets
}

const runStore = async (store: string, database: string): Promise<Row> => {
  const dir = mkdtempSync(join(tmpdir(), "scriptorium-bench-ws-"))
  temps.push(dir)
  log(`${store}: starting the API process`)
  const api = await startApiServer(database, join(dir, "blobs"))
  const { ids } = await api.ask({ type: "submit", jobs: options.jobs, pages: options.pages }, "submitted")

  const before = await api.ask({ type: "memory" }, "memory")
  const latencies: Array<number> = []
  log(`${store}: connecting ${options.sockets} sockets to ${ids.length} pending jobs`)
  const sockets = await openSockets(api.port, ids, latencies)
  const after = await api.ask({ type: "memory" }, "memory")
  if (after.connections !== options.sockets) throw new Error(`the server counts ${after.connections} sockets`)

  log(`${store}: a worker process runs the ${ids.length} jobs (${options.pages} pages, ${options.pageMs} ms each)`)
  const stopWorker = await startWorker(database, join(dir, "work.log"))
  const codes = await Promise.all(sockets.map((s) => s.closed))
  await stopWorker()
  const { lags } = await api.ask({ type: "feedLags" }, "feedLags")
  await api.stop()

  const expected = options.sockets * (options.pages + 3) // claimed, the page count, each page, completed
  const sorted = [...latencies].sort((a, b) => a - b)
  const feed = [...lags].sort((a, b) => a - b)
  const row: Row = {
    store,
    messages: latencies.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1) ?? Number.NaN,
    feedP50: percentile(feed, 0.5),
    feedP99: percentile(feed, 0.99),
    rssPerSocket: (after.rss - before.rss) / options.sockets,
    heapPerSocket: (after.heapUsed + after.external - before.heapUsed - before.external) / options.sockets,
    ok: codes.every((code) => code === 1000) && latencies.length >= expected
  }
  log(`${store}: ${row.messages} messages (expected at least ${expected}), p99 ${ms(row.p99)} ms`)
  return row
}

// ---------------------------------------------------------------------------------------------------------------

const main = async () => {
  const load = loadavg()[0]!
  const rows: Array<Row> = []
  let pgVersion: string | undefined
  for (const store of options.stores) {
    if (store === "sqlite") {
      const dir = mkdtempSync(join(tmpdir(), "scriptorium-bench-ws-db-"))
      temps.push(dir)
      rows.push(await runStore("SQLite", join(dir, "jobs.db")))
    } else if (store === "pg") {
      postgres ??= await startTestPostgres()
      pgVersion = "PostgreSQL (TestPostgres)"
      rows.push(await runStore("PostgreSQL", await postgres.createDatabase()))
    } else {
      throw new Error(`--only: unknown store '${store}' (sqlite, pg)`)
    }
  }
  const kb = (bytes: number) => `${fmt(bytes / 1024)} KB`
  const lines = [
    "## WebSocket status stream",
    "",
    machineLine(load, pgVersion),
    "",
    `${options.sockets} sockets on ${options.jobs} jobs (${options.sockets / options.jobs} each); ` +
    "a worker in another " +
    `process runs them (${options.pages} pages of ${options.pageMs} ms, 2 at a time). Latency: message arrival minus ` +
    "the change's `updated_at`; the change feed alone: its arrival in the API process (from a subscription of its " +
    "own). Memory: the API process, after GC, before and after the sockets connect.",
    "",
    "| store | messages | p50 ms | p99 ms | max ms | change feed alone p50 / p99 ms | RSS per idle socket | " +
    "heap + external per idle socket | all closed 1000 |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ...rows.map((r) =>
      `| ${r.store} | ${r.messages} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ` +
      `${ms(r.feedP50)} / ${ms(r.feedP99)} | ` +
      `${kb(r.rssPerSocket)} | ` +
      `${kb(r.heapPerSocket)} | ${r.ok ? "yes" : "NO"} |`
    ),
    "",
    "Targets: p99 < 100 ms on both stores; < 50 KB per idle subscriber."
  ]
  log("")
  process.stdout.write(`${lines.join("\n")}\n`)
}

runMain("WebSocket", main, cleanUp)
