/**
 * Live status across processes: the API process serves WebSockets over the store and runs NO worker; a worker in a
 * separate OS process (worker-process.mjs, the core's test worker: it records each page and logs it) changes the jobs.
 * Every change the child makes must reach the sockets of the API process through the store's change feed: an
 * efficient tail of the events table on SQLite (one file shared by both processes), LISTEN/NOTIFY on PostgreSQL.
 */
import type { JobStore } from "@scriptorium/core"
import { Scriptorium } from "@scriptorium/core"
import { LocalBlobStore } from "@scriptorium/storage-local"
import { PgJobStore } from "@scriptorium/store-pg"
import { startTestPostgres, type TestPostgres } from "@scriptorium/store-pg/testing"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { Context, Effect, Layer, ManagedRuntime } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, eventually, type Message, serve, type Served } from "./Sockets.js"

const workerScript = fileURLToPath(new URL("./worker-process.mjs", import.meta.url))

/** Starts the worker process on `database` and waits until it claims jobs. */
const startWorker = async (database: string, log: string): Promise<ChildProcess> => {
  const child = spawn(process.execPath, [workerScript], {
    env: {
      ...process.env,
      SCRIPTORIUM_TEST_DB: database,
      SCRIPTORIUM_TEST_LOG: log,
      SCRIPTORIUM_TEST_PAGE_MS: "100",
      SCRIPTORIUM_TEST_CONCURRENCY: "2"
    },
    stdio: ["ignore", "pipe", "inherit"]
  })
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (data: Buffer) => data.toString().includes("ready") && resolve())
    child.once("exit", (code) => reject(new Error(`the worker process exited (${code}) before it was ready`)))
  })
  return child
}

const stopWorker = (child: ChildProcess | undefined) =>
  new Promise<void>((resolve) => {
    if (child === undefined || child.exitCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })

class Server extends Context.Tag("test/Server")<Server, Served>() {}

const progress = (m: Message) => `${m.status}:${m.processed_pages}/${m.total_pages}`

const suite = (name: string, freshDatabase: () => Promise<string>, store: (database: string) => Layer.Layer<JobStore, unknown>) =>
  describe(`${name}: a worker in another process`, () => {
    let runtime: ManagedRuntime.ManagedRuntime<Server | Scriptorium.Scriptorium, unknown> | undefined
    let worker: ChildProcess | undefined
    let url = ""
    const log = join(mkdtempSync(join(tmpdir(), "scriptorium-ws-mp-")), "work.log")

    beforeAll(async () => {
      const database = await freshDatabase()
      const blobs = mkdtempSync(join(tmpdir(), "scriptorium-ws-blobs-"))
      // the API process: the facade and the sockets, no Worker
      const core = Layer.provideMerge(Scriptorium.layer, Layer.merge(store(database), LocalBlobStore.layer({ root: blobs })))
      runtime = ManagedRuntime.make(Layer.scoped(Server, serve()).pipe(Layer.provideMerge(core)))
      url = (await runtime.runPromise(Server)).url
      worker = await startWorker(database, log)
    })
    afterAll(async () => {
      await stopWorker(worker)
      await runtime?.dispose()
    })

    it("every change made by the worker process reaches the API process's sockets, in order, then 1000", async () => {
      const everything = connect(`${url}/ws`)
      await everything.opened
      const job = await runtime!.runPromise(Effect.flatMap(Scriptorium.Scriptorium, (s) =>
        s.submit({ filename: "three-pages.pdf", content: new Uint8Array([1]), options: { pages: 3 } })))
      const watcher = connect(`${url}/ws/${job.job_id}`)
      expect(await watcher.closed).toEqual({ code: 1000, reason: "The job is completed; this was its last status." })
      await eventually(() => everything.messages.some((m) => m.job_id === job.job_id && m.status === "completed"))
      const lifecycle = everything.messages.filter((m) => m.job_id === job.job_id).map(progress)
      expect(lifecycle).toEqual([
        "pending:0/0",
        "processing:0/0",
        "processing:0/3",
        "processing:1/3",
        "processing:2/3",
        "processing:3/3",
        "completed:3/3"
      ])
      const own = watcher.messages.map(progress)
      expect(lifecycle.slice(lifecycle.length - own.length)).toEqual(own)
      // the pages were done by the other process, not this one
      const lines = readFileSync(log, "utf8").trim().split("\n").filter((line) => line.startsWith(job.job_id))
      expect(lines.map((line) => line.split(" ")[2])).toEqual([String(worker!.pid), String(worker!.pid), String(worker!.pid)])
      expect(worker!.pid).not.toBe(process.pid)
      everything.socket.close()
    })
  })

suite(
  "SQLite",
  async () => join(mkdtempSync(join(tmpdir(), "scriptorium-ws-sqlite-")), "jobs.db"),
  (filename) => SqliteJobStore.layer({ filename })
)

let postgres: TestPostgres | undefined
beforeAll(async () => {
  postgres = await startTestPostgres()
})
afterAll(() => postgres?.stop())

suite(
  "PostgreSQL",
  () => postgres!.createDatabase(),
  (url) => PgJobStore.layer({ url, maxConnections: 4 })
)
