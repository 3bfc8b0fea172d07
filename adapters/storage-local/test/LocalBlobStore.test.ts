/**
 * LocalBlobStore: the BlobStore conformance suite on fresh temp directories, then what only a local directory can get
 * wrong: symbolic links, a crash's temp files, a root that cannot be created, interrupted and failed writes.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { readBytes, readText } from "@scriptorium/core"
import { blobStoreConformance } from "@scriptorium/core/testing"
import { Deferred, Effect, Fiber, Schedule, Stream } from "effect"
import { LocalBlobStore } from "../src/index.js"

// Every root lives at `{base}/store` in a base of its own, so a write that escaped its root would show in the base.
const bases: Array<string> = []
const conformanceBases: Array<string> = []

const freshBase = (): string => {
  const base = mkdtempSync(path.join(os.tmpdir(), "scriptorium-local-"))
  bases.push(base)
  return base
}

afterAll(() => {
  for (const base of bases) rmSync(base, { recursive: true, force: true })
})

blobStoreConformance("LocalBlobStore conformance", () => {
  const base = freshBase()
  conformanceBases.push(base)
  return LocalBlobStore.layer({ root: path.join(base, "store") })
})

describe("LocalBlobStore", () => {
  it("no conformance test wrote outside its root", () => {
    expect(conformanceBases.length).toBeGreaterThan(0)
    for (const base of conformanceBases) expect(readdirSync(base)).toEqual(["store"])
  })

  it.effect("a link inside the root that points outside is never written, read or deleted through", () =>
    Effect.gen(function*() {
      const base = freshBase()
      const root = path.join(base, "store")
      const outside = path.join(base, "outside")
      yield* promise(() => fs.mkdir(outside))
      yield* promise(() => fs.writeFile(path.join(outside, "secret.txt"), "secret"))
      const store = yield* LocalBlobStore.make({ root })
      yield* promise(() => fs.symlink(outside, path.join(root, "job"), "dir"))
      yield* promise(() => fs.mkdir(path.join(root, "job2")))
      yield* promise(() => fs.symlink(path.join(outside, "secret.txt"), path.join(root, "job2", "link")))

      // A folder link: refused for anything below it; the link itself is neither listed nor followed.
      expect(yield* failureTag(store.put("job/x", text("x")))).toBe("InvalidBlobKey")
      expect(yield* failureTag(store.put("job/sub/x", text("x")))).toBe("InvalidBlobKey")
      expect(yield* failureTag(store.put("job/secret.txt", text("overwritten")))).toBe("InvalidBlobKey")
      expect(yield* failureTag(Stream.runDrain(store.get("job/secret.txt")))).toBe("InvalidBlobKey")
      expect(yield* failureTag(store.has("job/secret.txt"))).toBe("InvalidBlobKey")
      expect(yield* failureTag(store.list("job/sub"))).toBe("InvalidBlobKey")
      expect(yield* failureTag(store.delete("job/secret.txt"))).toBe("InvalidBlobKey")
      expect(yield* store.list("job")).toEqual([])

      // A file link: get refuses it, list skips it, and put replaces the link itself rather than its target.
      expect(yield* failureTag(Stream.runDrain(store.get("job2/link")))).toBe("InvalidBlobKey")
      expect(yield* store.list("job2")).toEqual([])
      yield* store.put("job2/link", text("mine"))
      expect(yield* readText(store, "job2/link")).toBe("mine")
      expect((yield* promise(() => fs.lstat(path.join(root, "job2", "link")))).isFile()).toBe(true)

      // Deleting the folder link removes the link, not the folder it points to.
      yield* store.delete("job")
      expect(yield* promise(() => fs.readdir(root))).toEqual(["job2"])
      expect(yield* promise(() => fs.readdir(outside))).toEqual(["secret.txt"])
      expect(yield* promise(() => fs.readFile(path.join(outside, "secret.txt"), "utf8"))).toBe("secret")
    }))

  it.effect("temp files left by a crash are neither listed nor returned, and delete removes them", () =>
    Effect.gen(function*() {
      const root = path.join(freshBase(), "store")
      const store = yield* LocalBlobStore.make({ root })
      yield* store.put("job/x", text("whole"))
      yield* store.put("job/pages/0001.json", text("{}"))
      yield* promise(() => fs.writeFile(path.join(root, "job", ".x.123.tmp"), "half"))
      yield* promise(() => fs.writeFile(path.join(root, "job", "pages", ".0002.json.abc.tmp"), "half"))

      expect(yield* store.list("job")).toEqual(["job/pages/0001.json", "job/x"])
      expect(yield* store.list("job/.x.123.tmp")).toEqual([])
      expect(yield* failureTag(Stream.runDrain(store.get("job/.x.123.tmp")))).toBe("InvalidBlobKey")
      expect(yield* failureTag(store.has("job/.x.123.tmp"))).toBe("InvalidBlobKey")
      expect(yield* failureTag(store.put("job/.y.tmp", text("y")))).toBe("InvalidBlobKey")
      expect(yield* readText(store, "job/x")).toBe("whole")

      yield* store.delete("job")
      expect(yield* promise(() => fs.readdir(root))).toEqual([])
    }))

  it.effect("a root that cannot be created fails make with StoreUnavailable and says what to do", () =>
    Effect.gen(function*() {
      const base = freshBase()
      const file = path.join(base, "file")
      yield* promise(() => fs.writeFile(file, "not a directory"))

      const under = yield* Effect.flip(LocalBlobStore.make({ root: path.join(file, "store") }))
      expect(under._tag).toBe("StoreUnavailable")
      expect(under.message).toBe(
        `Cannot use the storage root ${path.join(file, "store")}: a part of the path is a file, not a directory ` +
          `(ENOTDIR); move that file away or point SCRIPTORIUM_DATA_DIR elsewhere.`
      )

      const itself = yield* Effect.flip(LocalBlobStore.make({ root: file }))
      expect(itself._tag).toBe("StoreUnavailable")
      expect(itself.message).toContain(`Cannot use the storage root ${file}: it exists and is not a directory (EEXIST)`)

      // The positive case: missing parents are created.
      yield* LocalBlobStore.make({ root: path.join(base, "a", "b", "c") })
      expect((yield* promise(() => fs.stat(path.join(base, "a", "b", "c")))).isDirectory()).toBe(true)
    }))

  it.effect("an interrupted put leaves no temp file behind and the previous blob intact", () =>
    Effect.gen(function*() {
      const root = path.join(freshBase(), "store")
      const store = yield* LocalBlobStore.make({ root })
      yield* store.put("job/x", text("previous"))
      const written = yield* Deferred.make<void>()
      // Two chunks, then a signal (both are written by then: the body is consumed in order), then it hangs.
      const slow = Stream.make(new Uint8Array(64 * 1024).fill(1), new Uint8Array(64 * 1024).fill(2)).pipe(
        Stream.concat(Stream.execute(Deferred.succeed(written, undefined))),
        Stream.concat(Stream.never)
      )
      const fiber = yield* Effect.fork(store.put("job/x", slow))
      // A put that ends before its body does (it failed) must fail the test, not leave it waiting.
      yield* Deferred.await(written).pipe(
        Effect.raceFirst(Fiber.join(fiber).pipe(Effect.zipRight(Effect.dieMessage("the put ended before its body"))))
      )
      const during = yield* promise(() => fs.readdir(path.join(root, "job")))
      expect(during.filter((name) => name.endsWith(".tmp"))).toHaveLength(1)

      yield* Fiber.interrupt(fiber)
      expect(yield* promise(() => fs.readdir(path.join(root, "job")))).toEqual(["x"])
      expect(yield* readText(store, "job/x")).toBe("previous")
    }))

  it.live("an interrupted put of bytes leaves no temp file behind and the previous blob intact", () =>
    Effect.gen(function*() {
      const root = path.join(freshBase(), "store")
      const store = yield* LocalBlobStore.make({ root })
      yield* store.put("job/x", text("previous"))
      // large enough that the write (and its fsync) is still under way when its temp file is seen
      const fiber = yield* Effect.fork(store.put("job/x", new Uint8Array(256 * 1024 * 1024).fill(1)))
      yield* Effect.sync(() => readdirSync(path.join(root, "job")).some((n) => n.endsWith(".tmp"))).pipe(
        Effect.filterOrFail((seen) => seen),
        Effect.retry(Schedule.spaced("1 millis")),
        Effect.timeout("10 seconds")
      )
      expect(yield* Effect.sync(() => fiber.unsafePoll())).toBeNull()
      yield* Fiber.interrupt(fiber)
      expect(yield* promise(() => fs.readdir(path.join(root, "job")))).toEqual(["x"])
      expect(yield* readText(store, "job/x")).toBe("previous")
    }), 30_000)

  it.effect("40 puts into new folders at once (sharing their folder syncs) all land whole", () =>
    Effect.gen(function*() {
      const root = path.join(freshBase(), "store")
      const store = yield* LocalBlobStore.make({ root })
      const keys = Array.from({ length: 40 }, (_, i) => `job-${i}/pages/00001/input`)
      yield* Effect.forEach(keys, (key, i) => store.put(key, new Uint8Array(10_000 + i).fill(i)), {
        concurrency: "unbounded",
        discard: true
      })
      for (const [i, key] of keys.entries()) {
        const bytes = yield* readBytes(store, key)
        expect(bytes.length).toBe(10_000 + i)
        expect(bytes.every((b) => b === i)).toBe(true)
      }
      expect(yield* promise(() => fs.readdir(root))).toHaveLength(40)
    }))

  it.effect("a put whose stream fails leaves no temp file behind", () =>
    Effect.gen(function*() {
      const root = path.join(freshBase(), "store")
      const store = yield* LocalBlobStore.make({ root })
      yield* store.put("job/x", text("previous"))
      const failing = Stream.concat(Stream.make(new Uint8Array(1000)), Stream.fail("broken" as const))
      expect(yield* Effect.flip(store.put("job/x", failing))).toBe("broken")
      expect(yield* Effect.flip(store.put("job/y", failing))).toBe("broken")
      expect(yield* promise(() => fs.readdir(path.join(root, "job")))).toEqual(["x"])
    }))

  it.effect("get streams a large file in chunks of at most 64 KiB", () =>
    Effect.gen(function*() {
      const store = yield* LocalBlobStore.make({ root: path.join(freshBase(), "store") })
      yield* store.put("job/big", new Uint8Array(200 * 1024).fill(7))
      const chunks = yield* Stream.runCollect(store.get("job/big"))
      expect(Array.from(chunks, (c) => c.length)).toEqual([65536, 65536, 65536, 8192])
    }))

  it.effect("a key cannot turn a blob into a folder, nor a folder into a blob", () =>
    Effect.gen(function*() {
      const store = yield* LocalBlobStore.make({ root: path.join(freshBase(), "store") })
      yield* store.put("job/a", text("blob"))
      yield* store.put("job/b/c", text("blob"))
      expect(yield* failureTag(store.put("job/a/x", text("x")))).toBe("InvalidBlobKey")
      expect(yield* failureTag(store.put("job/a/x/y", text("x")))).toBe("InvalidBlobKey")
      expect(yield* failureTag(store.put("job/b", text("x")))).toBe("InvalidBlobKey")
      expect(yield* store.list("job")).toEqual(["job/a", "job/b/c"])
      expect(yield* store.has("job/a/x")).toBe(false)
      expect(yield* failureTag(Stream.runDrain(store.get("job/a/x")))).toBe("BlobNotFound")
    }))

  it.effect("an I/O failure becomes StoreUnavailable with what to do", () =>
    Effect.gen(function*() {
      const base = freshBase()
      const root = path.join(base, "store")
      const store = yield* LocalBlobStore.make({ root })
      // The root disappears under a running store.
      yield* promise(() => fs.rm(root, { recursive: true }))
      // `put<never>`: with a byte body there is no stream error to infer (E would be unknown).
      const error = yield* Effect.flip(store.put<never>("job/x", text("x")))
      expect(error._tag).toBe("StoreUnavailable")
      expect(error.message).toMatch(/^Cannot write .*\(ENOENT\); retry, and if the storage root is gone restart/)
      expect(readdirSync(base)).toEqual([])
    }))
})

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

const promise = <A>(f: () => Promise<A>): Effect.Effect<A> => Effect.promise(f)

// The `_tag` of the error an effect fails with; a success is a test failure.
const failureTag = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<unknown> =>
  effect.pipe(
    Effect.flip,
    Effect.map((e) => (typeof e === "object" && e !== null && "_tag" in e ? e._tag : e)),
    Effect.orElse(() => Effect.succeed("succeeded, but should have failed"))
  )
