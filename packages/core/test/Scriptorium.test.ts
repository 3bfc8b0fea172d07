/**
 * The facade end to end on the embedded defaults (SQLite file, local directory) with a real Worker: the handler here
 * copies the input to an output, standing in for the document pipeline.
 */
import { describe, expect, it } from "@effect/vitest"
import { JobNotFound } from "@scriptorium/api"
import {
  BlobStore,
  collectBytes,
  JobFailure,
  JobFiles,
  type JobHandler,
  Scriptorium,
  Worker
} from "@scriptorium/core"
import { LocalBlobStore } from "@scriptorium/storage-local"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { Chunk, Effect, Fiber, Layer, Stream } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** Copies the input to `output/copy.txt`, page by page as the options say; fails or hangs on request. */
const handler: JobHandler<BlobStore> = (context) =>
  Effect.gen(function*() {
    const blobs = yield* BlobStore
    const options = context.job.options
    if (options.fail === true) return yield* new JobFailure({ message: "Told to fail.", retryable: false })
    if (typeof options.sleepMs === "number") yield* Effect.sleep(options.sleepMs)
    if (options.lateWrite === true) {
      // a handler stuck in work it cannot abandon: it writes after the job was cancelled and deleted
      yield* Effect.uninterruptible(Effect.zipRight(
        Effect.sleep(400),
        Effect.flatMap(JobFiles.outputKey(context.job.job_id, "late.txt"), (key) => blobs.put(key, text("late")))
      ))
    }
    const pages = Number(options.pages ?? 1)
    yield* context.setTotalPages(pages)
    for (let page = 0; page < pages; page++) {
      yield* Effect.sleep(20)
      yield* context.checkpoint(page)
    }
    const input = yield* JobFiles.inputKey(context.job.job_id)
    yield* blobs.put(yield* JobFiles.outputKey(context.job.job_id, "copy.txt"), blobs.get(input))
  })

const stack = () => {
  const dir = mkdtempSync(join(tmpdir(), "scriptorium-facade-"))
  const storage = Layer.merge(
    SqliteJobStore.layer({ filename: join(dir, "jobs.db") }),
    LocalBlobStore.layer({ root: join(dir, "blobs") })
  )
  return Layer.provideMerge(
    Layer.merge(Scriptorium.layer, Worker.layer(handler, { pollMs: 100, concurrency: 2, shutdownGraceMs: 300 })),
    storage
  )
}

const text = (s: string) => new TextEncoder().encode(s)
const decode = (b: Uint8Array) => new TextDecoder().decode(b)

describe("Scriptorium facade", () => {
  it.live("submit returns a pending job at once; wait, outputs and result give the finished work", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      const started = Date.now()
      const job = yield* s.submit({ filename: "hello.txt", content: text("hello world"), options: { pages: 3 } })
      expect(job.status).toBe("pending")
      expect(Date.now() - started).toBeLessThan(1_000)
      const done = yield* s.wait(job.job_id, { timeoutMs: 10_000 })
      expect(done.status).toBe("completed")
      expect(done.processed_pages).toBe(3)
      expect(yield* s.outputs(job.job_id)).toEqual(["copy.txt"])
      expect(decode(yield* collectBytes(s.result(job.job_id, "copy.txt")))).toBe("hello world")
      const error = yield* Effect.flip(collectBytes(s.result(job.job_id, "missing.txt")))
      expect(error._tag).toBe("BlobNotFound")
      const escape = yield* Effect.flip(collectBytes(s.result(job.job_id, "../../etc/passwd")))
      expect(escape._tag).toBe("InvalidBlobKey")
    }).pipe(Effect.provide(stack())))

  it.live("watch streams the job's states in order and ends when it finishes", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      const job = yield* s.submit({ filename: "a.txt", content: text("a"), options: { pages: 4, sleepMs: 200 } })
      const states = Chunk.toReadonlyArray(yield* Stream.runCollect(s.watch(job.job_id)).pipe(Effect.timeout("10 seconds")))
      expect(states[0]!.status).toBe("pending")
      expect(states[states.length - 1]!.status).toBe("completed")
      const statuses = [...new Set(states.map((j) => j.status))]
      expect(statuses).toEqual(["pending", "processing", "completed"])
      const pages = states.filter((j) => j.status === "processing").map((j) => j.processed_pages)
      expect(pages).toEqual([...pages].sort((a, b) => a - b))
      expect(pages).toContain(4)
      // a finished job's watch is its final state alone
      const again = Chunk.toReadonlyArray(yield* Stream.runCollect(s.watch(job.job_id)))
      expect(again.map((j) => j.status)).toEqual(["completed"])
    }).pipe(Effect.provide(stack())))

  it.live("results of unfinished, failed and cancelled jobs are typed errors", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      const slow = yield* s.submit({ filename: "s.txt", content: text("s"), options: { sleepMs: 60_000 } })
      const notYet = yield* Effect.flip(s.outputs(slow.job_id))
      expect(notYet._tag).toBe("JobNotFinished")
      const failing = yield* s.submit({ filename: "f.txt", content: text("f"), options: { fail: true } })
      const failed = yield* s.wait(failing.job_id, { timeoutMs: 10_000 })
      expect(failed.status).toBe("failed")
      const error = yield* Effect.flip(s.outputs(failing.job_id))
      expect(error._tag).toBe("JobFailed")
      expect(error.message).toContain("Told to fail.")
      yield* s.cancel(slow.job_id)
      expect((yield* Effect.flip(s.outputs(slow.job_id)))._tag).toBe("JobCancelled")
      const timedOut = yield* Effect.flip(s.wait(
        (yield* s.submit({ filename: "t.txt", content: text("t"), options: { sleepMs: 60_000 } })).job_id,
        { timeoutMs: 200 }
      ))
      expect(timedOut._tag).toBe("WaitTimedOut")
      expect((yield* Effect.flip(s.status("nope")))._tag).toBe("JobNotFound")
    }).pipe(Effect.provide(stack())))

  it.live("an idempotency key returns the first job for the same file and refuses another file", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      const blobs = yield* BlobStore
      const first = yield* s.submit({ filename: "a.pdf", content: text("one"), idempotency_key: "k" })
      const again = yield* s.submit({ filename: "a.pdf", content: Stream.make(text("o"), text("ne")), idempotency_key: "k" })
      expect(again.job_id).toBe(first.job_id)
      const conflict = yield* Effect.flip(s.submit({ filename: "a.pdf", content: text("two"), idempotency_key: "k" }))
      expect(conflict._tag).toBe("IdempotencyConflict")
      // the repeat and the conflict left no files behind: only the first job's folder exists
      const page = yield* s.list()
      expect(page.jobs.map((j) => j.job_id)).toEqual([first.job_id])
      for (const job of page.jobs) expect((yield* blobs.list(job.job_id)).length).toBeGreaterThan(0)
    }).pipe(Effect.provide(stack())))

  it.live("delete cancels a running job, then removes its files and its record", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      const blobs = yield* BlobStore
      const job = yield* s.submit({ filename: "a.txt", content: text("a"), options: { sleepMs: 60_000 } })
      yield* s.watch(job.job_id).pipe(Stream.takeUntil((j) => j.status === "processing"), Stream.runDrain)
      yield* s.delete(job.job_id)
      expect((yield* Effect.flip(s.status(job.job_id)))._tag).toBe("JobNotFound")
      expect(yield* blobs.list(job.job_id)).toEqual([])
      expect((yield* Effect.flip(s.delete(job.job_id)))._tag).toBe("JobNotFound")
    }).pipe(Effect.provide(stack())))

  it.live("a delete sweeps again what a handler still wrote after the job was deleted", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      const blobs = yield* BlobStore
      const job = yield* s.submit({ filename: "a.txt", content: text("a"), options: { lateWrite: true } })
      yield* s.watch(job.job_id).pipe(Stream.takeUntil((j) => j.status === "processing"), Stream.runDrain)
      yield* s.delete(job.job_id)
      yield* Effect.sleep(600)
      expect(yield* blobs.list(job.job_id)).toEqual([`${job.job_id}/output/late.txt`])
      yield* Effect.sleep(2_000)
      expect(yield* blobs.list(job.job_id)).toEqual([])
    }).pipe(Effect.provide(stack())))

  it.live("a wait in progress ends when the job is deleted: with the cancel that precedes the deletion", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      const job = yield* s.submit({ filename: "a.txt", content: text("a"), options: { sleepMs: 60_000 } })
      const waiting = yield* Effect.fork(s.wait(job.job_id))
      yield* Effect.sleep(200)
      yield* s.delete(job.job_id)
      const ended = yield* Fiber.join(waiting).pipe(Effect.timeout("5 seconds"))
      expect(ended.status).toBe("cancelled")
    }).pipe(Effect.provide(stack())))
})

describe("Scriptorium with Promises", () => {
  it("submits, watches, waits and reads results without Effect; errors reject with the typed error", async () => {
    const scriptorium = Scriptorium.toPromise(stack())
    try {
      const job = await scriptorium.submit({ filename: "p.txt", content: text("promised"), options: { pages: 2 } })
      const seen: Array<string> = []
      for await (const state of scriptorium.watch(job.job_id)) seen.push(state.status)
      expect(seen[seen.length - 1]).toBe("completed")
      expect((await scriptorium.wait(job.job_id)).status).toBe("completed")
      expect(decode(await scriptorium.result(job.job_id, "copy.txt"))).toBe("promised")
      expect((await scriptorium.list()).jobs).toHaveLength(1)
      await expect(scriptorium.status("missing")).rejects.toBeInstanceOf(JobNotFound)
      await expect(scriptorium.status("missing")).rejects.toThrow(/No job has the id 'missing'/)
    } finally {
      await scriptorium.close()
    }
  })
})
