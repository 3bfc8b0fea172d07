/**
 * The BlobStore conformance suite: the behaviour every BlobStore adapter (local directory, S3, ...) must show, as
 * vitest tests. An adapter's test file calls `blobStoreConformance("Name", () => layer(...))`; each test builds its own
 * store from that factory. Each test also writes under its own random job id, so a store whose layers share one
 * backend (a bucket) does not see other tests' blobs.
 */
import { createHash, randomUUID } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { Data, Effect, type Layer, Stream } from "effect"
import { BlobStore, readBytes, readText } from "../BlobStore.js"

/** Registers `describe(name)` with the tests every BlobStore adapter must pass; `makeLayer` gives a fresh store. */
export const blobStoreConformance = (name: string, makeLayer: () => Layer.Layer<BlobStore, unknown>): void => {
  // Each test runs against a store built for it alone.
  const test = (title: string, body: (store: BlobStore) => Effect.Effect<void, unknown>) =>
    it.effect(title, () => Effect.flatMap(BlobStore, body).pipe(Effect.provide(makeLayer())))

  describe(name, () => {
    describe("put and get", () => {
      test("round-trips bytes", (store) =>
        Effect.gen(function*() {
          const key = `${jobId()}/input.bin`
          const bytes = Uint8Array.from([0, 1, 2, 253, 254, 255, 10, 13])
          yield* store.put(key, bytes)
          expect(Array.from(yield* readBytes(store, key))).toEqual(Array.from(bytes))
        }))

      test("round-trips an empty blob", (store) =>
        Effect.gen(function*() {
          const key = `${jobId()}/empty`
          yield* store.put(key, new Uint8Array(0))
          expect(yield* store.has(key)).toBe(true)
          expect((yield* readBytes(store, key)).length).toBe(0)
        }))

      test("round-trips a 5 MB stream of 64 KiB chunks byte for byte", (store) =>
        Effect.gen(function*() {
          const key = `${jobId()}/big.pdf`
          const data = pseudoRandomBytes(5 * 1024 * 1024, 42)
          yield* store.put(key, chunked(data, 64 * 1024))
          const read = yield* digestOf(store.get(key))
          expect(read.size).toBe(data.length)
          expect(read.sha256).toBe(sha256(data))
        }))

      test("an overwrite replaces the content, also with a shorter one", (store) =>
        Effect.gen(function*() {
          const key = `${jobId()}/result.md`
          yield* store.put(key, text("the first, longer version"))
          yield* store.put(key, Stream.make(text("sec"), text("ond")))
          expect(yield* readText(store, key)).toBe("second")
        }))

      test("has is true for a stored key, false for a missing key or a folder", (store) =>
        Effect.gen(function*() {
          const job = jobId()
          yield* store.put(`${job}/pages/0001.json`, text("{}"))
          expect(yield* store.has(`${job}/pages/0001.json`)).toBe(true)
          expect(yield* store.has(`${job}/pages/0002.json`)).toBe(false)
          expect(yield* store.has(`${job}/pages`)).toBe(false)
          expect(yield* store.has(`${jobId()}/input.pdf`)).toBe(false)
        }))

      test("get of a missing key fails with BlobNotFound", (store) =>
        Effect.gen(function*() {
          const key = `${jobId()}/missing.json`
          const error = yield* Effect.flip(Stream.runDrain(store.get(key)))
          expect(error._tag).toBe("BlobNotFound")
          expect(error).toMatchObject({ key })
        }))

      test("a key ending with '/' names a folder: put, get and has fail with InvalidBlobKey", (store) =>
        Effect.gen(function*() {
          const key = `${jobId()}/pages/`
          expect(yield* failureTag(store.put(key, text("x")))).toBe("InvalidBlobKey")
          expect(yield* failureTag(Stream.runDrain(store.get(key)))).toBe("InvalidBlobKey")
          expect(yield* failureTag(store.has(key))).toBe("InvalidBlobKey")
        }))
    })

    describe("list", () => {
      test("lists the keys under a job, a job folder or an exact key, sorted", (store) =>
        Effect.gen(function*() {
          const job = jobId()
          const keys = [`${job}/pages/0002.json`, `${job}/input.pdf`, `${job}/pages/0001.json`, `${job}/out/a.md`]
          yield* Effect.forEach(keys, (key) => store.put(key, text(key)), { discard: true })
          const all = [`${job}/input.pdf`, `${job}/out/a.md`, `${job}/pages/0001.json`, `${job}/pages/0002.json`]
          expect(yield* store.list(job)).toEqual(all)
          expect(yield* store.list(`${job}/`)).toEqual(all)
          expect(yield* store.list(`${job}/pages/`)).toEqual([`${job}/pages/0001.json`, `${job}/pages/0002.json`])
          expect(yield* store.list(`${job}/pages`)).toEqual([`${job}/pages/0001.json`, `${job}/pages/0002.json`])
          expect(yield* store.list(`${job}/input.pdf`)).toEqual([`${job}/input.pdf`])
        }))

      test("a prefix is a folder or an exact key, not a string prefix: 'a' does not list 'ab/x'", (store) =>
        Effect.gen(function*() {
          const job = jobId()
          yield* store.put(`${job}/a/x`, text("1"))
          yield* store.put(`${job}/ab/x`, text("2"))
          yield* store.put(`${job}/a.txt`, text("3"))
          expect(yield* store.list(`${job}/a`)).toEqual([`${job}/a/x`])
          expect(yield* store.list(`${job}/a/`)).toEqual([`${job}/a/x`])
          yield* store.put(`${job}2/x`, text("4"))
          expect(yield* store.list(job)).toEqual([`${job}/a.txt`, `${job}/a/x`, `${job}/ab/x`])
        }))

      test("the list of a missing prefix is empty", (store) =>
        Effect.gen(function*() {
          const job = jobId()
          expect(yield* store.list(job)).toEqual([])
          expect(yield* store.list(`${job}/pages/`)).toEqual([])
          yield* store.put(`${job}/input.pdf`, text("x"))
          expect(yield* store.list(`${job}/pages/`)).toEqual([])
          expect(yield* store.list(`${job}/input.pdf/`)).toEqual([])
        }))
    })

    describe("delete", () => {
      test("removes everything under a job and leaves other jobs' blobs", (store) =>
        Effect.gen(function*() {
          const job = jobId()
          const other = `${job}2`
          yield* store.put(`${job}/input.pdf`, text("mine"))
          yield* store.put(`${job}/pages/0001.json`, text("mine"))
          yield* store.put(`${other}/input.pdf`, text("other"))
          yield* store.delete(job)
          expect(yield* store.list(job)).toEqual([])
          expect(yield* store.has(`${job}/input.pdf`)).toBe(false)
          expect(yield* failureTag(Stream.runDrain(store.get(`${job}/pages/0001.json`)))).toBe("BlobNotFound")
          expect(yield* store.list(other)).toEqual([`${other}/input.pdf`])
          expect(yield* readText(store, `${other}/input.pdf`)).toBe("other")
        }))

      test("removes a folder or a single key, and nothing beside it", (store) =>
        Effect.gen(function*() {
          const job = jobId()
          yield* store.put(`${job}/input.pdf`, text("in"))
          yield* store.put(`${job}/pages/0001.json`, text("p1"))
          yield* store.put(`${job}/pages/0002.json`, text("p2"))
          yield* store.put(`${job}/pagesx`, text("px"))
          yield* store.delete(`${job}/pages/`)
          expect(yield* store.list(job)).toEqual([`${job}/input.pdf`, `${job}/pagesx`])
          yield* store.delete(`${job}/input.pdf`)
          expect(yield* store.list(job)).toEqual([`${job}/pagesx`])
        }))

      test("deleting nothing succeeds", (store) =>
        Effect.gen(function*() {
          const job = jobId()
          yield* store.delete(job)
          yield* store.delete(`${job}/pages/`)
          yield* store.put(`${job}/input.pdf`, text("in"))
          yield* store.delete(`${job}/missing.json`)
          yield* store.delete(`${job}/input.pdf/`)
          expect(yield* store.list(job)).toEqual([`${job}/input.pdf`])
        }))
    })

    describe("keys that could escape are refused", () => {
      for (const key of escapingKeys) {
        test(`${JSON.stringify(key)}: put, get, has, list and delete fail with InvalidBlobKey`, (store) =>
          Effect.gen(function*() {
            expect(yield* failureTag(store.put(key, text("x")))).toBe("InvalidBlobKey")
            expect(yield* failureTag(store.put(key, Stream.make(text("x"))))).toBe("InvalidBlobKey")
            expect(yield* failureTag(Stream.runDrain(store.get(key)))).toBe("InvalidBlobKey")
            expect(yield* failureTag(store.has(key))).toBe("InvalidBlobKey")
            expect(yield* failureTag(store.list(key))).toBe("InvalidBlobKey")
            expect(yield* failureTag(store.delete(key))).toBe("InvalidBlobKey")
            // Nothing landed where a lenient normalization of the key would have put it.
            for (const landing of ["x", "a/b", "a/x", "etc/passwd"]) expect(yield* store.has(landing)).toBe(false)
          }))
      }

      test("the same keys inside a job folder are refused, and nothing is written in the job", (store) =>
        Effect.gen(function*() {
          const job = jobId()
          // "" and "C:/x" are fine below a job ("job/C:/x" is a valid key); the others must still be refused.
          for (const key of escapingKeys.filter((k) => k !== "" && k !== "C:/x")) {
            expect(yield* failureTag(store.put(`${job}/${key}`, text("x")))).toBe("InvalidBlobKey")
          }
          expect(yield* store.list(job)).toEqual([])
        }))
    })

    describe("atomicity", () => {
      test("a put whose stream fails midway fails with that error and keeps the previous content", (store) =>
        Effect.gen(function*() {
          const job = jobId()
          const key = `${job}/result.json`
          yield* store.put(key, text("previous"))
          const failing = Stream.concat(chunked(pseudoRandomBytes(256 * 1024, 7), 64 * 1024), Stream.fail(new Boom()))
          const error = yield* Effect.flip(store.put(key, failing))
          expect(error).toBeInstanceOf(Boom)
          expect(yield* readText(store, key)).toBe("previous")
          const fresh = `${job}/fresh.json`
          expect(yield* Effect.flip(store.put(fresh, failing))).toBeInstanceOf(Boom)
          expect(yield* store.has(fresh)).toBe(false)
          expect(yield* store.list(job)).toEqual([key])
        }))

      test("concurrent puts to one key leave exactly one of the inputs, never a mix", (store) =>
        Effect.gen(function*() {
          const job = jobId()
          const key = `${job}/page.bin`
          const size = 256 * 1024
          yield* Effect.forEach(
            Array.from({ length: 10 }, (_, i) => i),
            (i) => store.put(key, chunked(new Uint8Array(size).fill(i + 1), 16 * 1024)),
            { concurrency: "unbounded", discard: true }
          )
          const bytes = yield* readBytes(store, key)
          expect(bytes.length).toBe(size)
          const first = bytes[0]!
          expect(first).toBeGreaterThanOrEqual(1)
          expect(first).toBeLessThanOrEqual(10)
          expect(bytes.every((b) => b === first)).toBe(true)
          expect(yield* store.list(job)).toEqual([key])
        }))
    })
  })
}

/** Keys that are absolute, climb out, or are otherwise malformed: every adapter must refuse them. */
const escapingKeys: ReadonlyArray<string> = [
  "../x",
  "a/../../x",
  "/etc/passwd",
  "a//b",
  "a\\b",
  "",
  "a/./b",
  "C:/x",
  "a/\u0000b"
]

/** The error a put's body fails with in the atomicity tests. */
class Boom extends Data.TaggedError("Boom") {}

// A fresh job id per test: stores whose layers share a backend (one bucket) then never see each other's blobs.
const jobId = (): string => randomUUID()

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

// `data` as a stream of `size`-byte chunks (views, not copies).
const chunked = (data: Uint8Array, size: number): Stream.Stream<Uint8Array> =>
  Stream.fromIterable(
    Array.from({ length: Math.ceil(data.length / size) }, (_, i) => data.subarray(i * size, (i + 1) * size))
  )

// Deterministic bytes without a pattern a chunking bug could hide behind (xorshift32).
const pseudoRandomBytes = (length: number, seed: number): Uint8Array => {
  const out = new Uint8Array(length)
  let x = seed
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

const sha256 = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex")

// Hashes a stream as it comes, so a large blob is compared without being held whole.
const digestOf = <E>(stream: Stream.Stream<Uint8Array, E>): Effect.Effect<{ size: number; sha256: string }, E> =>
  Effect.suspend(() => {
    const hash = createHash("sha256")
    return Stream.runFold(stream, 0, (size, chunk) => {
      hash.update(chunk)
      return size + chunk.length
    }).pipe(Effect.map((size) => ({ size, sha256: hash.digest("hex") })))
  })

// The `_tag` of the error an effect fails with; a success is a test failure.
const failureTag = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<unknown> =>
  effect.pipe(
    Effect.flip,
    Effect.map((e) => (typeof e === "object" && e !== null && "_tag" in e ? e._tag : e)),
    Effect.orElse(() => Effect.succeed("succeeded, but should have failed"))
  )
