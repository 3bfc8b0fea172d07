/**
 * LocalBlobStore: the BlobStore on a local directory, the embedded default. The key `job/pages/0001.json` is the file
 * `{root}/job/pages/0001.json`.
 *
 * Atomic writes: a put streams into a temp file in the target's folder, fsyncs it, renames it over the target and
 * fsyncs the folder, so a reader (or a restart after a crash) sees the whole old blob or the whole new one, never part
 * of one. A put that fails or is interrupted removes its temp file and leaves the previous blob as it was.
 *
 * Durability at the cost of one file fsync per put: a folder's fsync makes every entry change made before it began
 * durable, so puts that need the same folder synced at the same time share one (`FolderSyncs`): 50 uploads at once
 * into new job folders sync the root a few times, not 50. A put of bytes in memory (an upload) runs its file system
 * calls as one plain async sequence: through Effect, step by step, they cost about a millisecond of CPU more per put.
 *
 * Prefixes: `list` and `delete` take a folder or an exact key, never a string prefix. `job` means the blob `job` or
 * everything under `job/` (and never `job2/...`); `job/` and `job/pages/` mean those folders only. `list` returns the
 * keys of all files under the prefix, recursively, sorted by their UTF-8 bytes (the order S3 lists in).
 *
 * Containment: every key goes through `BlobKey.check`; the resolved path must then stay under the root, and so must
 * the real path (symbolic links resolved) of what already exists on its way, so neither a crafted key nor a link
 * placed in the directory makes the store read, write or delete outside the root. The store never creates links; one
 * found under the root is not listed, and is refused when it leads outside the root.
 *
 * Reserved names: files named `.{anything}.tmp` are unfinished writes. They are never listed, and a key whose last
 * segment has that form is refused, since such a blob could not be told apart from a crash's leftovers.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { BlobNotFound, InvalidBlobKey, StoreUnavailable } from "@scriptorium/api"
import { BlobKey, BlobStore } from "@scriptorium/core"
import { Data, Effect, Either, Exit, Layer, Option, Stream } from "effect"

/** Where the local BlobStore keeps its files. */
export interface LocalBlobStoreOptions {
  /** The directory holding every blob; created (with its parents) when absent. */
  readonly root: string
}

/** Opens the directory `options.root` (creating it when absent) as a BlobStore. */
export const make = (options: LocalBlobStoreOptions): Effect.Effect<BlobStore, StoreUnavailable> =>
  Effect.map(openRoot(options.root), storeAt)

/** The BlobStore service on the directory `options.root`. */
export const layer = (options: LocalBlobStoreOptions): Layer.Layer<BlobStore, StoreUnavailable> =>
  Layer.effect(BlobStore, make(options))

// Reads are served in chunks of this size, so a large blob never sits whole in memory.
const CHUNK_SIZE = 64 * 1024

// ---------------------------------------------------------------------------------------------------------------------
// The root

// The root is kept as a real path: every containment check compares real paths, so a root reached through a link
// (such as /tmp on macOS) still contains its own files.
const openRoot = (root: string): Effect.Effect<string, StoreUnavailable> => {
  const absolute = path.resolve(root)
  return io(() => fs.mkdir(absolute, { recursive: true })).pipe(
    Effect.zipRight(io(() => fs.realpath(absolute))),
    Effect.tap((real) => io(() => fs.access(real, fs.constants.R_OK | fs.constants.W_OK))),
    Effect.mapError(unavailable("use the storage root", absolute))
  )
}

const storeAt = (root: string): BlobStore => {
  const syncs = folderSyncs()
  return {
    put: (key, body) => body instanceof Uint8Array ? putBytes(root, syncs, key, body) : put(root, syncs, key, body),
    get: (key) => get(root, key),
    has: (key) => has(root, key),
    list: (prefix) => list(root, prefix),
    delete: (prefix) => remove(root, prefix)
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Operations

/** `put` of a stream (bytes in memory take `putBytes`). */
const put = <E>(
  root: string,
  syncs: FolderSyncs,
  key: string,
  body: Stream.Stream<Uint8Array, E>
): Effect.Effect<void, InvalidBlobKey | StoreUnavailable | E> =>
  Effect.gen(function*() {
    const target = yield* blobPath(root, key)
    const folders = yield* prepareFolder(root, key, path.dirname(target))
    const temp = tempPathFor(target)
    const onError = writeError(key, target)
    yield* writeFile(temp, body, onError).pipe(
      // Uninterruptible: an interruption must not race the cleanup below against a rename already under way.
      Effect.zipRight(Effect.uninterruptible(Effect.mapError(io(() => fs.rename(temp, target)), onError))),
      // Whatever stopped the write (a failed body, a full disk, an interruption), the temp file must not stay behind.
      Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : removeQuietly(temp))
    )
    yield* syncFolders(syncs, folders).pipe(Effect.mapError(unavailable("write", target)))
  })

/**
 * `put` of bytes in memory: the same steps, checks and errors, run as one async sequence. The folder syncs of new
 * folders start as soon as the folders exist, beside the file's write. Interrupted, it stops before the rename (or
 * after it, if the rename had begun), removes its temp file, and the interruption waits for that.
 */
const putBytes = (
  root: string,
  syncs: FolderSyncs,
  key: string,
  bytes: Uint8Array
): Effect.Effect<void, InvalidBlobKey | StoreUnavailable> =>
  Effect.flatMap(blobPath(root, key), (target) =>
    Effect.async<void, InvalidBlobKey | StoreUnavailable>((resume) => {
      const control = { interrupted: false }
      const done = writeBytes(root, syncs, key, target, bytes, control).then(
        () => resume(Effect.void),
        (error: unknown) => resume(Effect.fail(error instanceof PutError ? error.error : unexpected(target, error)))
      )
      return Effect.promise(() => {
        control.interrupted = true
        return done
      })
    }))

/** A put's typed error, thrown out of the async sequence. */
class PutError extends Error {
  constructor(readonly error: InvalidBlobKey | StoreUnavailable) {
    super(error.message)
  }
}

/** The put was interrupted before its rename. */
class Interrupted extends Error {}

const unexpected = (target: string, error: unknown): StoreUnavailable =>
  unavailable("write", target)(new IoError({ code: errnoCode(error), error }))

const writeBytes = async (
  root: string,
  syncs: FolderSyncs,
  key: string,
  target: string,
  bytes: Uint8Array,
  control: { readonly interrupted: boolean }
): Promise<void> => {
  const folder = path.dirname(target)
  const created = await step(() => createFolder(root, key, folder), writeError(key, folder))
  // new folders' entries live in their parents: those syncs start now, beside the write
  const parents = created === undefined ? [] : foldersToSync(folder, created).slice(1)
  const parentsSynced = Promise.all(parents.map((f) => syncs.sync(f)))
  parentsSynced.catch(() => {}) // awaited below; a failure must not go unhandled meanwhile
  const temp = tempPathFor(target)
  const onError = writeError(key, target)
  try {
    const handle = await step(() => fs.open(temp, "wx"), onError)
    try {
      for (let at = 0; at < bytes.length;) {
        const { bytesWritten } = await step(() => handle.write(bytes, at, bytes.length - at, null), onError)
        at += bytesWritten
      }
      await step(() => handle.sync(), onError)
    } finally {
      // closing after an fsync cannot lose data, and a close error must not hide the error that ended the write
      await handle.close().catch(() => {})
    }
    if (control.interrupted) throw new Interrupted()
    await step(() => fs.rename(temp, target), onError)
  } catch (error) {
    await fs.rm(temp, { force: true }).catch(() => {})
    throw error
  }
  const synced = unavailable("write", target)
  await step(() => syncs.sync(folder), synced)
  await step(() => parentsSynced, synced)
}

/** Runs a file system call; its failure becomes the store's typed error. */
const step = async <A>(f: () => Promise<A>, onError: (e: IoError) => InvalidBlobKey | StoreUnavailable): Promise<A> => {
  try {
    return await f()
  } catch (error) {
    if (error instanceof PutError || error instanceof Interrupted) throw error
    throw new PutError(onError(new IoError({ code: errnoCode(error), error })))
  }
}

/**
 * Checks where `folder` really lands (mkdir would follow a link out of the root), then creates it; the first folder
 * created, if any.
 */
const createFolder = async (root: string, key: string, folder: string): Promise<string | undefined> => {
  let ancestor = folder
  for (;;) {
    try {
      ancestor = await fs.realpath(ancestor)
      break
    } catch (error) {
      if (errnoCode(error) !== "ENOENT" || ancestor === root) throw error
      ancestor = path.dirname(ancestor)
    }
  }
  if (!isInside(root, ancestor)) {
    throw new PutError(
      new InvalidBlobKey({ key, reason: "it leads through a symbolic link to outside the storage root" })
    )
  }
  return fs.mkdir(folder, { recursive: true })
}

const get = (root: string, key: string): Stream.Stream<Uint8Array, InvalidBlobKey | StoreUnavailable | BlobNotFound> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const target = yield* blobPath(root, key)
    const real = yield* findBlob(root, key, target)
    if (Option.isNone(real)) return yield* new BlobNotFound({ key })
    const handle = yield* Effect.acquireRelease(io(() => fs.open(real.value, "r")), closeQuietly).pipe(
      // Deleted between the lookup and the open: as absent as if the lookup had missed it.
      Effect.catchTag("IoError", (e) =>
        Effect.fail(isAbsent(e) ? new BlobNotFound({ key }) : unavailable("read", target)(e)))
    )
    return readChunks(handle, unavailable("read", target))
  }))

const has = (root: string, key: string): Effect.Effect<boolean, InvalidBlobKey | StoreUnavailable> =>
  blobPath(root, key).pipe(
    Effect.flatMap((target) => findBlob(root, key, target)),
    Effect.map(Option.isSome)
  )

const list = (root: string, prefix: string): Effect.Effect<ReadonlyArray<string>, InvalidBlobKey | StoreUnavailable> =>
  Effect.gen(function*() {
    const checked = yield* BlobKey.check(prefix)
    const target = yield* lexicalPath(root, checked)
    const real = yield* realEntry(root, checked, target)
    if (Option.isNone(real)) return []
    const base = withoutTrailingSlash(checked)
    const stat = yield* io(() => fs.lstat(real.value))
    // A link is never followed (it could lead outside, or into a loop); a file is a match only for an exact key.
    if (stat.isDirectory()) return sortByBytes(yield* walk(real.value, base))
    return stat.isFile() && !checked.endsWith("/") && !isTempName(path.basename(real.value)) ? [base] : []
  }).pipe(
    Effect.catchTag("IoError", (e) =>
      isAbsent(e) ? Effect.succeed([]) : Effect.fail(unavailable("list", path.join(root, prefix))(e)))
  )

const remove = (root: string, prefix: string): Effect.Effect<void, InvalidBlobKey | StoreUnavailable> =>
  Effect.gen(function*() {
    const checked = yield* BlobKey.check(prefix)
    const target = yield* lexicalPath(root, checked)
    const real = yield* realEntry(root, checked, target)
    if (Option.isNone(real)) return
    // `job/` names a folder: a blob stored under the key `job` is not under it.
    if (checked.endsWith("/") && !(yield* io(() => fs.lstat(real.value))).isDirectory()) return
    // rm does not follow links: a link under the root is removed, never what it points to.
    yield* io(() => fs.rm(real.value, { recursive: true, force: true }))
  }).pipe(
    Effect.catchTag("IoError", (e) =>
      isAbsent(e) ? Effect.void : Effect.fail(unavailable("delete", path.join(root, prefix))(e)))
  )

// ---------------------------------------------------------------------------------------------------------------------
// Paths and containment

// The second lock after BlobKey: whatever the key, the path it resolves to must be strictly under the root.
const lexicalPath = (root: string, key: string): Effect.Effect<string, InvalidBlobKey> => {
  const target = path.resolve(root, ...withoutTrailingSlash(key).split("/"))
  return isInside(root, target) && target !== root
    ? Effect.succeed(target)
    : Effect.fail(new InvalidBlobKey({ key, reason: "it resolves to a path outside the storage root" }))
}

// A blob key (not a prefix): it cannot name a folder, nor have the name of a temp file.
const blobPath = (root: string, key: string): Effect.Effect<string, InvalidBlobKey> =>
  Effect.flatMap(BlobKey.check(key), (checked) => {
    if (checked.endsWith("/")) {
      return Effect.fail(new InvalidBlobKey({ key, reason: "it ends with '/', which names a folder, not a blob" }))
    }
    if (isTempName(path.posix.basename(checked))) {
      const reason = "names of the form '.name.tmp' are kept for unfinished writes"
      return Effect.fail(new InvalidBlobKey({ key, reason }))
    }
    return lexicalPath(root, checked)
  })

// Fails when a real path (links resolved) lies outside the root: a link under the root leads elsewhere.
const insideRoot = (root: string, key: string) => (real: string): Effect.Effect<string, InvalidBlobKey> =>
  isInside(root, real)
    ? Effect.succeed(real)
    : Effect.fail(new InvalidBlobKey({ key, reason: "it leads through a symbolic link to outside the storage root" }))

const isInside = (root: string, candidate: string): boolean =>
  candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep)

// Where `target` really is, with its folder's links resolved (its own last segment is not followed), or None when its
// folder does not exist. Used by list and delete, which must see a link as a link.
const realEntry = (
  root: string,
  key: string,
  target: string
): Effect.Effect<Option.Option<string>, InvalidBlobKey | IoError> =>
  realpathIfExists(path.dirname(target)).pipe(
    Effect.flatMap(Option.match({
      onNone: () => Effect.succeedNone,
      onSome: (folder) =>
        insideRoot(root, key)(folder).pipe(Effect.map((real) => Option.some(path.join(real, path.basename(target)))))
    }))
  )

// The real path of the blob at `target` (links resolved, and checked to stay under the root), or None when no file is
// there. Used by get and has, which read through links that stay inside the root.
const findBlob = (
  root: string,
  key: string,
  target: string
): Effect.Effect<Option.Option<string>, InvalidBlobKey | StoreUnavailable> =>
  Effect.gen(function*() {
    const real = yield* realpathIfExists(target)
    if (Option.isNone(real)) return real
    yield* insideRoot(root, key)(real.value)
    const stat = yield* io(() => fs.stat(real.value))
    return stat.isFile() ? real : Option.none()
  }).pipe(
    Effect.catchTag("IoError", (e) => isAbsent(e) ? Effect.succeedNone : Effect.fail(unavailable("read", target)(e)))
  )

const realpathIfExists = (file: string): Effect.Effect<Option.Option<string>, IoError> =>
  io(() => fs.realpath(file)).pipe(
    Effect.map(Option.some),
    Effect.catchIf(isAbsent, () => Effect.succeedNone)
  )

const withoutTrailingSlash = (key: string): string => key.endsWith("/") ? key.slice(0, -1) : key

// ---------------------------------------------------------------------------------------------------------------------
// Writing

// Creates the folder as `createFolder` does (checked first for links out of the root), and returns the folders whose
// entries change with this put: they are fsynced once the blob is in place.
const prepareFolder = (
  root: string,
  key: string,
  folder: string
): Effect.Effect<ReadonlyArray<string>, InvalidBlobKey | StoreUnavailable> =>
  Effect.tryPromise({
    try: () => createFolder(root, key, folder),
    catch: (error) =>
      error instanceof PutError ? error.error : writeError(key, folder)(new IoError({ code: errnoCode(error), error }))
  }).pipe(Effect.map((firstCreated) => foldersToSync(folder, firstCreated)))

// The folder itself, plus, when mkdir created folders, every folder from the parent of the first one created down:
// a new folder's entry lives in its parent, and is lost in a crash unless the parent is synced too.
const foldersToSync = (folder: string, firstCreated: string | undefined): ReadonlyArray<string> => {
  const stop = firstCreated === undefined ? folder : path.dirname(firstCreated)
  const folders = [folder]
  for (let current = folder; current !== stop && path.dirname(current) !== current;) {
    current = path.dirname(current)
    folders.push(current)
  }
  return folders
}

// `.{name}.{random}.tmp` beside the target: the same folder, so the rename stays on one file system and is atomic. The
// name is shortened so the temp name fits the file system's name limit whenever the target's name does.
const tempPathFor = (target: string): string => {
  const name = Array.from(path.basename(target)).slice(0, 32).join("")
  return path.join(path.dirname(target), `.${name}.${randomBytes(6).toString("hex")}.tmp`)
}

const isTempName = (name: string): boolean => name.startsWith(".") && name.endsWith(".tmp")

// Writes `body` to a new file and fsyncs it; the file is closed whatever happens. Errors of the body's stream pass
// through unchanged: they are the caller's.
const writeFile = <E>(
  file: string,
  body: Stream.Stream<Uint8Array, E>,
  onError: (e: IoError) => InvalidBlobKey | StoreUnavailable
): Effect.Effect<void, InvalidBlobKey | StoreUnavailable | E> =>
  Effect.scoped(Effect.gen(function*() {
    // "wx": never share a temp file with another put, even on a name collision.
    const handle = yield* Effect.acquireRelease(io(() => fs.open(file, "wx")), closeQuietly).pipe(
      Effect.mapError(onError)
    )
    const write = (bytes: Uint8Array) => Effect.mapError(writeAll(handle, bytes), onError)
    yield* Stream.runForEach(body, write)
    yield* io(() => handle.sync()).pipe(Effect.mapError(onError))
  }))

// A write may take fewer bytes than offered: loop until all are written.
const writeAll = (handle: fs.FileHandle, bytes: Uint8Array): Effect.Effect<void, IoError> =>
  bytes.length === 0
    ? Effect.void
    : io(() => handle.write(bytes, 0, bytes.length, null)).pipe(
      Effect.flatMap(({ bytesWritten }) => writeAll(handle, bytes.subarray(bytesWritten)))
    )

// Makes renames and new folders durable.
const syncFolders = (syncs: FolderSyncs, folders: ReadonlyArray<string>): Effect.Effect<void, IoError> =>
  Effect.forEach(folders, (folder) => io(() => syncs.sync(folder)), { discard: true })

/** Folder fsyncs, shared by the puts that need the same folder synced at the same time. */
interface FolderSyncs {
  /** Resolves once an fsync of `folder` that began after this call has ended. */
  readonly sync: (folder: string) => Promise<void>
}

/**
 * One fsync of a folder at a time; the puts that ask while it runs wait for the next one, which begins once it ends
 * and serves them all (it began after each of their changes, so it covers them). Windows cannot open a folder to
 * sync it, and commits renames itself.
 */
const folderSyncs = (): FolderSyncs => {
  const lanes = new Map<string, Array<{ readonly resolve: () => void; readonly reject: (e: unknown) => void }>>()
  const run = (folder: string) => {
    const waiting = lanes.get(folder)!
    lanes.set(folder, [])
    syncFolder(folder).then(
      () => waiting.forEach((w) => w.resolve()),
      (error: unknown) => waiting.forEach((w) => w.reject(error))
    ).finally(() => {
      if (lanes.get(folder)!.length > 0) run(folder)
      else lanes.delete(folder)
    })
  }
  return {
    sync: (folder) =>
      process.platform === "win32" ? Promise.resolve() : new Promise<void>((resolve, reject) => {
        const lane = lanes.get(folder)
        if (lane !== undefined) return void lane.push({ resolve, reject })
        lanes.set(folder, [{ resolve, reject }])
        run(folder)
      })
  }
}

const syncFolder = async (folder: string): Promise<void> => {
  const handle = await fs.open(folder, "r")
  try {
    await handle.sync()
  } catch (error) {
    // Some file systems cannot sync a folder (EINVAL): there is nothing more to be done there.
    if (errnoCode(error) !== "EINVAL" && errnoCode(error) !== "ENOTSUP") throw error
  } finally {
    await handle.close().catch(() => {})
  }
}

// Closing after an fsync cannot lose data, and a close error must not hide the error that ended the scope.
const closeQuietly = (handle: fs.FileHandle): Effect.Effect<void> => Effect.ignore(io(() => handle.close()))

const removeQuietly = (file: string): Effect.Effect<void> => Effect.ignore(io(() => fs.rm(file, { force: true })))

// ---------------------------------------------------------------------------------------------------------------------
// Reading

const readChunks = (
  handle: fs.FileHandle,
  onError: (e: IoError) => StoreUnavailable
): Stream.Stream<Uint8Array, StoreUnavailable> =>
  Stream.repeatEffectOption(Effect.suspend(() => {
    const buffer = new Uint8Array(CHUNK_SIZE)
    return io(() => handle.read(buffer, 0, CHUNK_SIZE, null)).pipe(
      Effect.mapError((e) => Option.some(onError(e))),
      Effect.flatMap(({ bytesRead }) =>
        bytesRead === 0
          ? Effect.fail(Option.none())
          // A short last chunk is copied, so it does not keep a whole 64 KiB buffer alive.
          : Effect.succeed(bytesRead === CHUNK_SIZE ? buffer : buffer.slice(0, bytesRead))
      )
    )
  }))

// Every file under `folder`, as keys below `prefix`. Temp files, links and names that are not valid keys (put there
// by hand) are left out: list only returns keys that get can read.
const walk = (folder: string, prefix: string): Effect.Effect<Array<string>, IoError> =>
  io(() => fs.readdir(folder, { withFileTypes: true })).pipe(
    Effect.flatMap((entries) =>
      Effect.forEach(entries, (entry) => {
        const key = `${prefix}/${entry.name}`
        if (entry.isDirectory()) return walk(path.join(folder, entry.name), key)
        const listed = entry.isFile() && !isTempName(entry.name) && Either.isRight(BlobKey.validate(key))
        return Effect.succeed(listed ? [key] : [])
      })
    ),
    Effect.map((nested) => nested.flat()),
    // Removed while being listed (a concurrent delete): it holds nothing any more.
    Effect.catchIf(isAbsent, () => Effect.succeed([]))
  )

// UTF-8 byte order, the order S3 lists keys in, so every adapter agrees (it differs from `sort()` past U+FFFF).
const sortByBytes = (keys: ReadonlyArray<string>): Array<string> =>
  keys.map((key) => [Buffer.from(key), key] as const)
    .sort(([a], [b]) => Buffer.compare(a, b))
    .map(([, key]) => key)

// ---------------------------------------------------------------------------------------------------------------------
// Errors

// A failed file-system call, before it becomes one of the store's typed errors; it never leaves this module.
class IoError extends Data.TaggedError("IoError")<{ readonly code: string | undefined; readonly error: unknown }> {}

const io = <A>(f: () => Promise<A>): Effect.Effect<A, IoError> =>
  Effect.tryPromise({ try: f, catch: (error) => new IoError({ code: errnoCode(error), error }) })

const errnoCode = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined

// ENOTDIR: a folder on the way is a file, so nothing can be stored below it either.
const isAbsent = (e: IoError): boolean => e.code === "ENOENT" || e.code === "ENOTDIR"

// The caller's key conflicts with what is stored (a blob where a folder is needed, or the reverse): that is the key's
// fault, not the store's, so it is an InvalidBlobKey. Anything else is a StoreUnavailable.
const writeError = (key: string, file: string) => (e: IoError): InvalidBlobKey | StoreUnavailable => {
  switch (e.code) {
    case "ENOTDIR":
    case "EEXIST":
      return new InvalidBlobKey({ key, reason: "a folder on its path is already a blob" })
    case "EISDIR":
      return new InvalidBlobKey({ key, reason: "it names a folder that holds other blobs" })
    case "ENAMETOOLONG":
      return new InvalidBlobKey({ key, reason: "a segment of it is longer than this file system allows" })
    default:
      return unavailable("write", file)(e)
  }
}

// What each common failure means, and what the operator should do about it.
const ADVICE: Partial<Record<string, readonly [meaning: string, remedy: string]>> = {
  ENOSPC: ["disk full", "free space or point SCRIPTORIUM_DATA_DIR elsewhere"],
  EDQUOT: ["disk quota exceeded", "raise the quota, free space or point SCRIPTORIUM_DATA_DIR elsewhere"],
  EACCES: ["permission denied", "let this process read and write there or point SCRIPTORIUM_DATA_DIR elsewhere"],
  EPERM: ["operation not permitted", "let this process read and write there or point SCRIPTORIUM_DATA_DIR elsewhere"],
  EROFS: ["read-only file system", "mount it read-write or point SCRIPTORIUM_DATA_DIR elsewhere"],
  EEXIST: ["it exists and is not a directory", "move that file away or point SCRIPTORIUM_DATA_DIR elsewhere"],
  ENOTDIR: [
    "a part of the path is a file, not a directory",
    "move that file away or point SCRIPTORIUM_DATA_DIR elsewhere"
  ],
  ENOENT: [
    "it was removed while in use (by a concurrent delete, or with the whole storage root)",
    "retry, and if the storage root is gone restart so it is created again"
  ],
  EMFILE: ["too many open files", "raise the open-file limit (ulimit -n) or lower the concurrency"],
  ENFILE: ["too many open files in the system", "raise the system's open-file limit or lower the concurrency"],
  EIO: ["input/output error", "check the disk and the system log"],
  ELOOP: ["too many levels of symbolic links", "remove the link loop under the storage root"]
}

const unavailable = (action: string, file: string) => (e: IoError): StoreUnavailable => {
  const advice = ADVICE[e.code ?? ""]
  const reason = advice === undefined
    ? `Cannot ${action} ${file}: ${e.error instanceof Error ? e.error.message : String(e.error)}; check that the ` +
      `storage root is a usable local directory.`
    : `Cannot ${action} ${file}: ${advice[0]} (${e.code}); ${advice[1]}.`
  return new StoreUnavailable({ reason })
}
