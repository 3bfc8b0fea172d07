/**
 * BlobStore: where a job's bytes live (its input file, page checkpoints, rendered outputs). Keys are
 * `{job_id}/{relative/name}`; `BlobKey` is the one place that checks them, so no adapter can be talked into writing
 * outside a job's folder.
 */
import { BlobNotFound, InvalidBlobKey, StoreUnavailable } from "@scriptorium/api"
import { Chunk, Context, Effect, Either, Stream } from "effect"

/** Errors any BlobStore operation may fail with. */
export type BlobError = InvalidBlobKey | StoreUnavailable

/** Streamed, prefix-addressed storage for job files. Writes are atomic: a reader sees all of a blob or none of it. */
export interface BlobStore {
  /** Stores `body` under `key`, replacing what was there, atomically. */
  readonly put: <E = never>(
    key: string,
    body: Uint8Array | Stream.Stream<Uint8Array, E>
  ) => Effect.Effect<void, BlobError | E>
  /** Streams the blob stored under `key`. */
  readonly get: (key: string) => Stream.Stream<Uint8Array, BlobError | BlobNotFound>
  /** Whether a blob is stored under `key`. */
  readonly has: (key: string) => Effect.Effect<boolean, BlobError>
  /**
   * The keys stored under `prefix`, sorted by their UTF-8 bytes. A prefix names a folder or an exact key, never a
   * string prefix: `job` lists `job` and `job/...` but not `job2/...`.
   */
  readonly list: (prefix: string) => Effect.Effect<ReadonlyArray<string>, BlobError>
  /** Deletes every blob under `prefix`; deleting nothing is not an error. */
  readonly delete: (prefix: string) => Effect.Effect<void, BlobError>
}

/** The BlobStore service. */
export const BlobStore = Context.GenericTag<BlobStore>("@scriptorium/core/BlobStore")

/** Reads a whole blob into memory: for small blobs (checkpoints, JSON) only. */
export const readBytes = (
  store: BlobStore,
  key: string
): Effect.Effect<Uint8Array, BlobError | BlobNotFound> => collectBytes(store.get(key))

/** Collects a byte stream into one buffer. */
export const collectBytes = <E, R>(stream: Stream.Stream<Uint8Array, E, R>): Effect.Effect<Uint8Array, E, R> =>
  Effect.map(Stream.runCollect(stream), concatChunks)

/** Reads a whole blob as UTF-8 text. */
export const readText = (store: BlobStore, key: string): Effect.Effect<string, BlobError | BlobNotFound> =>
  Effect.map(readBytes(store, key), (bytes) => new TextDecoder().decode(bytes))

const concatChunks = (chunks: Chunk.Chunk<Uint8Array>): Uint8Array => {
  const parts = Chunk.toReadonlyArray(chunks)
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** Validation and construction of blob keys. */
export const BlobKey = {
  /** The key of `name` inside the folder of job `jobId`; fails when either part could escape it. */
  make: (jobId: string, name: string): Either.Either<string, InvalidBlobKey> =>
    jobId.includes("/")
      ? Either.left(new InvalidBlobKey({ key: jobId, reason: "a job id cannot contain '/'" }))
      : Either.flatMap(BlobKey.validate(jobId), () => BlobKey.validate(`${jobId}/${name}`)),

  /**
   * Checks a key or prefix: relative, `/`-separated, no empty, `.` or `..` segment, no backslash or control
   * character, at most 1024 bytes. A trailing `/` is allowed (a folder prefix).
   */
  validate: (key: string): Either.Either<string, InvalidBlobKey> => {
    const reason = invalidReason(key)
    return reason === undefined ? Either.right(key) : Either.left(new InvalidBlobKey({ key, reason }))
  },

  /** The same as `validate`, as an Effect. */
  check: (key: string): Effect.Effect<string, InvalidBlobKey> => Either.match(BlobKey.validate(key), {
    onLeft: Effect.fail,
    onRight: Effect.succeed
  })
}

const invalidReason = (key: string): string | undefined => {
  if (key.length === 0) return "it is empty"
  if (Buffer.byteLength(key) > 1024) return "it is longer than 1024 bytes"
  if (key.startsWith("/")) return "it is an absolute path"
  if (/^[A-Za-z]:/.test(key)) return "it starts with a drive letter"
  if (key.includes("\\")) return "it contains a backslash"
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return "it contains a control character"
  const segments = key.endsWith("/") ? key.slice(0, -1).split("/") : key.split("/")
  if (segments.some((s) => s === "")) return "it has an empty path segment"
  if (segments.some((s) => s === "." || s === "..")) return "it contains a '.' or '..' segment"
  return undefined
}
