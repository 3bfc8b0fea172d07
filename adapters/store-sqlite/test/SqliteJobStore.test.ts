import { jobStoreConformance, type StoreHarness, workerConformance } from "@scriptorium/core/testing"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { describe, expect, it } from "@effect/vitest"
import { JobStore } from "@scriptorium/core"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const require = createRequire(import.meta.url)

const harness: StoreHarness = {
  freshDatabase: async () => join(mkdtempSync(join(tmpdir(), "scriptorium-sqlite-")), "jobs.db"),
  layer: (filename, options) => SqliteJobStore.layer({ filename, retry: options.retry }),
  workerScript: fileURLToPath(new URL("./worker-process.mjs", import.meta.url))
}

jobStoreConformance("SqliteJobStore", harness)
workerConformance("SqliteJobStore", harness)

describe("SqliteJobStore: bad files and contention", () => {
  const fresh = () => join(mkdtempSync(join(tmpdir(), "scriptorium-sqlite-")), "jobs.db")
  const submit = Effect.flatMap(JobStore, (s) => s.insert({ filename: "a.pdf" }))

  it.live("a database locked by another process fails with StoreUnavailable saying so, and recovers after", () =>
    Effect.gen(function*() {
      const filename = fresh()
      // create the tables first, then let another OS process take an exclusive lock on the file
      yield* Effect.provide(submit, SqliteJobStore.layer({ filename }))
      const holder = spawn(process.execPath, ["-e", `
        const Database = require("better-sqlite3")
        const db = new Database(${JSON.stringify(filename)})
        db.exec("BEGIN EXCLUSIVE")
        process.stdout.write("locked\\n")
        setTimeout(() => { db.exec("COMMIT"); db.close() }, 60000)
        process.on("SIGTERM", () => { db.exec("ROLLBACK"); db.close(); process.exit(0) })
      `], { cwd: dirname(require.resolve("better-sqlite3/package.json")), stdio: ["ignore", "pipe", "inherit"] })
      yield* Effect.async<void>((resume) => holder.stdout!.once("data", () => resume(Effect.void)))
      const started = Date.now()
      const error = yield* Effect.flip(Effect.provide(submit, SqliteJobStore.layer({ filename, busyTimeoutMs: 300 })))
      expect(error._tag).toBe("StoreUnavailable")
      expect(error.message).toContain("locked by another process")
      expect(Date.now() - started).toBeLessThan(5_000)
      holder.kill("SIGTERM")
      yield* Effect.async<void>((resume) => holder.once("exit", () => resume(Effect.void)))
      const after = yield* Effect.provide(submit, SqliteJobStore.layer({ filename, busyTimeoutMs: 300 }))
      expect(after.created).toBe(true)
    }))

  it.live("a file that is not a SQLite database fails with StoreUnavailable naming the file", () =>
    Effect.gen(function*() {
      const filename = fresh()
      writeFileSync(filename, "this is a text file, not a database ".repeat(200))
      const error = yield* Effect.flip(Effect.provide(submit, SqliteJobStore.layer({ filename })))
      expect(error._tag).toBe("StoreUnavailable")
      expect(error.message).toContain(filename)
      expect(error.message).toContain("not a usable SQLite database")
    }))

  it.live("a folder that cannot be created fails with StoreUnavailable", () =>
    Effect.gen(function*() {
      const blocker = fresh()
      writeFileSync(blocker, "a file where a folder should be")
      const error = yield* Effect.flip(
        Effect.provide(submit, SqliteJobStore.layer({ filename: join(blocker, "sub", "jobs.db") }))
      )
      expect(error._tag).toBe("StoreUnavailable")
      expect(error.message).toContain("writable")
    }))

  it.live("several clients opening one new file at once all migrate it safely", () =>
    Effect.gen(function*() {
      const filename = fresh()
      const results = yield* Effect.all(
        Array.from({ length: 4 }, () => Effect.provide(submit, SqliteJobStore.layer({ filename }))),
        { concurrency: "unbounded" }
      )
      expect(results.every((r) => r.created)).toBe(true)
    }))
})
