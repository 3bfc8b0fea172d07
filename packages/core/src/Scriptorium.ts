/**
 * The programmatic facade: submit a file, follow its job, fetch its results, cancel or delete it, with no HTTP
 * involved. Transports (HTTP, WebSocket) are built on this, so every way in sees the same jobs and the same errors.
 * `Scriptorium` is the Effect API; `toPromise` turns it into plain Promises for code that doesn't use Effect.
 */
import {
  type BlobNotFound,
  type IdempotencyConflict,
  type IllegalTransition,
  type InvalidBlobKey,
  type InvalidCursor,
  isTerminal,
  type Job,
  JobCancelled,
  JobFailed,
  type JobId,
  JobNotFinished,
  JobNotFound,
  type JobOptions,
  type JobStatus,
  type StoreUnavailable,
  WaitTimedOut
} from "@scriptorium/api"
import { Cause, Context, Duration, Effect, Exit, Layer, ManagedRuntime, Option, Stream } from "effect"
import { createHash } from "node:crypto"
import { type BlobError, BlobStore, collectBytes } from "./BlobStore.js"
import { Admission, type AdmissionError } from "./Admission.js"
import * as JobFiles from "./JobFiles.js"
import * as JobIds from "./JobIds.js"
import { type JobPage, JobStore, type ListQuery } from "./JobStore.js"

/** A file to process. */
export interface SubmitInput<E = never> {
  readonly filename: string
  /**
   * The file's bytes. `submit` is done with them when its effect ends (stored, checked, hashed): a caller may reuse
   * the array after (transport-http's upload path does), so nothing `submit` starts may keep a reference to it.
   */
  readonly content: Uint8Array | Stream.Stream<Uint8Array, E>
  readonly options?: JobOptions | undefined
  readonly priority?: number | undefined
  readonly max_attempts?: number | undefined
  /** The same key with the same file returns the first job; with another file it is an IdempotencyConflict. */
  readonly idempotency_key?: string | undefined
}

/** How long `wait` waits. */
export interface WaitOptions {
  /** Default: forever. */
  readonly timeoutMs?: number | undefined
}

/** Which changes `changes` reports. */
export interface ChangesFilter {
  readonly status?: JobStatus | undefined
}

/** The errors of reading a job's result. */
export type ResultError =
  | JobNotFound
  | JobNotFinished
  | JobFailed
  | JobCancelled
  | BlobNotFound
  | BlobError
  | StoreUnavailable

/** The programmatic API. */
export interface Scriptorium {
  /** Stores the file and queues a job for it; returns at once with the pending job. */
  readonly submit: <E>(
    input: SubmitInput<E>
  ) => Effect.Effect<Job, AdmissionError | IdempotencyConflict | InvalidBlobKey | StoreUnavailable | E>
  readonly status: (id: string) => Effect.Effect<Job, JobNotFound | StoreUnavailable>
  readonly list: (query?: ListQuery) => Effect.Effect<JobPage, InvalidCursor | StoreUnavailable>
  /** The job's current state, then every change, ending after a terminal status (or when the job is deleted). */
  readonly watch: (id: string) => Stream.Stream<Job, JobNotFound | StoreUnavailable>
  /**
   * Every job's changes from now on, as the job stood after each change (deletions are not reported); with `status`,
   * only the changes that left a job in that status. Never ends on its own.
   */
  readonly changes: (query?: ChangesFilter) => Stream.Stream<Job, StoreUnavailable>
  /** Waits until the job is completed, failed or cancelled, and returns it. */
  readonly wait: (
    id: string,
    options?: WaitOptions
  ) => Effect.Effect<Job, JobNotFound | WaitTimedOut | StoreUnavailable>
  /** The names of the job's result files (e.g. `markdown.md`, `images/0_0.jpg`). */
  readonly outputs: (id: string) => Effect.Effect<ReadonlyArray<string>, ResultError>
  /** Streams one result file of a completed job. */
  readonly result: (id: string, name: string) => Stream.Stream<Uint8Array, ResultError>
  /** Cancels a pending or running job; its worker stops within a second. */
  readonly cancel: (id: string) => Effect.Effect<Job, JobNotFound | IllegalTransition | StoreUnavailable>
  /** Cancels the job if it is running, then deletes its files and its record. */
  readonly delete: (id: string) => Effect.Effect<void, JobNotFound | BlobError | StoreUnavailable>
}

/** The Scriptorium service. */
export const Scriptorium = Context.GenericTag<Scriptorium>("@scriptorium/core/Scriptorium")

/** How long after deleting a running job its folder is swept again. */
const lateWriteSweepMs = 2_000

/** Builds the facade over the store and the blob storage in context, with the Admission check when one is there. */
export const make: Effect.Effect<Scriptorium, never, JobStore | BlobStore> = Effect.gen(function*() {
  const store = yield* JobStore
  const blobs = yield* BlobStore
  const admission = yield* Effect.serviceOption(Admission)

  const submit = <E>(input: SubmitInput<E>) =>
    Effect.gen(function*() {
      const job_id = yield* JobIds.next
      const key = yield* JobFiles.inputKey(job_id)
      // with an admission check the content is read whole first: checking a PDF needs its end (the trailer)
      const content = Option.isSome(admission) && !(input.content instanceof Uint8Array)
        ? yield* collectBytes(input.content)
        : input.content
      const admitted = Option.isSome(admission) && content instanceof Uint8Array
        ? yield* admission.value.check({ filename: input.filename, bytes: content })
        : {}
      // with an idempotency key, hash while storing, so a repeat can be told apart from a reuse with another file
      const hash = input.idempotency_key === undefined
        ? undefined
        : createHash("sha256").update(input.filename).update("\0")
      const stream = content instanceof Uint8Array ? Stream.succeed(content) : content
      yield* blobs.put(key, hash === undefined ? content : Stream.tap(stream, (chunk) => Effect.sync(() => hash.update(chunk))))
      const inserted = yield* store.insert({
        job_id,
        filename: input.filename,
        total_pages: admitted.total_pages,
        options: input.options,
        priority: input.priority,
        max_attempts: input.max_attempts,
        idempotency_key: input.idempotency_key,
        fingerprint: hash?.digest("hex")
      }).pipe(Effect.tapError(() => deleteFiles(job_id)))
      if (!inserted.created) yield* deleteFiles(job_id)
      return inserted.job
    })

  const deleteFiles = (jobId: string) =>
    Effect.flatMap(JobFiles.jobPrefix(jobId), (prefix) => blobs.delete(prefix)).pipe(Effect.ignore)

  const status = (id: string) => store.get(id as JobId)

  const watch = (id: string): Stream.Stream<Job, JobNotFound | StoreUnavailable> =>
    Stream.unwrap(Effect.map(status(id), (current) =>
      isTerminal(current.status)
        ? Stream.succeed(current)
        : Stream.concat(
          Stream.succeed(current),
          store.changes({ job_id: id as JobId, after: "latest" }).pipe(
            Stream.takeWhile((event) => event.type !== "deleted"),
            Stream.map((event) => event.job)
          )
        ).pipe(
          Stream.changesWith((a, b) =>
            a.status === b.status && a.processed_pages === b.processed_pages && a.total_pages === b.total_pages &&
            a.attempts === b.attempts
          ),
          Stream.takeUntil((job) => isTerminal(job.status))
        )))

  const changes = (query: ChangesFilter = {}): Stream.Stream<Job, StoreUnavailable> =>
    store.changes().pipe(
      Stream.filter((event) =>
        event.type !== "deleted" && (query.status === undefined || event.job.status === query.status)
      ),
      Stream.map((event) => event.job)
    )

  const wait = (id: string, options: WaitOptions = {}) => {
    const finished = watch(id).pipe(
      Stream.filter((job) => isTerminal(job.status)),
      Stream.runHead,
      Effect.flatMap(Option.match({
        // the watch ended without a terminal status: the job was deleted meanwhile
        onNone: () => Effect.fail(new JobNotFound({ job_id: id })),
        onSome: Effect.succeed
      }))
    )
    return options.timeoutMs === undefined ? finished : finished.pipe(
      Effect.timeoutFail({
        duration: Duration.millis(options.timeoutMs),
        onTimeout: () => new WaitTimedOut({ job_id: id, timeout_ms: options.timeoutMs! })
      })
    )
  }

  /** The job, if its results can be read. */
  const finished = (
    id: string
  ): Effect.Effect<Job, JobNotFound | JobNotFinished | JobFailed | JobCancelled | StoreUnavailable> =>
    Effect.flatMap(status(id), (job): Effect.Effect<Job, JobNotFinished | JobFailed | JobCancelled> => {
      switch (job.status) {
        case "completed":
          return Effect.succeed(job)
        case "failed":
          return Effect.fail(new JobFailed({ job_id: id, error_message: job.error_message ?? "unknown error" }))
        case "cancelled":
          return Effect.fail(new JobCancelled({ job_id: id }))
        default:
          return Effect.fail(new JobNotFinished({ job_id: id, status: job.status }))
      }
    })

  const outputs = (id: string) =>
    Effect.gen(function*() {
      yield* finished(id)
      const prefix = JobFiles.outputPrefix(id)
      const keys = yield* blobs.list(prefix)
      return keys.map((key) => key.slice(prefix.length))
    })

  const result = (id: string, name: string) =>
    Stream.unwrap(Effect.gen(function*() {
      yield* finished(id)
      return blobs.get(yield* JobFiles.outputKey(id, name))
    }))

  const cancel = (id: string) => store.cancel(id as JobId)

  const remove = (id: string) =>
    Effect.gen(function*() {
      const job = yield* status(id)
      const prefix = yield* JobFiles.jobPrefix(id)
      // cancel first, so a running worker stops writing before the files go
      const wasRunning = !isTerminal(job.status)
      if (wasRunning) yield* Effect.ignore(store.cancel(id as JobId))
      yield* blobs.delete(prefix)
      yield* store.delete(id as JobId)
      // a handler hears of the cancel within a second (in another process too); a second sweep after that removes
      // whatever it was still writing when the first one ran
      if (wasRunning) {
        yield* blobs.delete(prefix).pipe(Effect.delay(lateWriteSweepMs), Effect.ignore, Effect.forkDaemon)
      }
    })

  return {
    submit,
    status,
    list: (query = {}) => store.list(query),
    watch,
    changes,
    wait,
    outputs,
    result,
    cancel,
    delete: remove
  } satisfies Scriptorium
})

/** The facade as a layer over a JobStore and a BlobStore. */
export const layer: Layer.Layer<Scriptorium, never, JobStore | BlobStore> = Layer.effect(Scriptorium, make)

/** The facade with Promises: every method resolves with its value or rejects with the same typed error. */
export interface ScriptoriumPromise {
  readonly submit: (input: SubmitInput) => Promise<Job>
  readonly status: (id: string) => Promise<Job>
  readonly list: (query?: ListQuery) => Promise<JobPage>
  readonly watch: (id: string) => AsyncIterable<Job>
  readonly changes: (query?: ChangesFilter) => AsyncIterable<Job>
  readonly wait: (id: string, options?: WaitOptions) => Promise<Job>
  readonly outputs: (id: string) => Promise<ReadonlyArray<string>>
  /** A whole result file, in memory. */
  readonly result: (id: string, name: string) => Promise<Uint8Array>
  readonly cancel: (id: string) => Promise<Job>
  readonly delete: (id: string) => Promise<void>
  /** Stops the workers in the layer (gracefully) and closes the store. */
  readonly close: () => Promise<void>
}

/**
 * Runs a layer that provides Scriptorium (and whatever else it starts, such as a Worker) and exposes it with
 * Promises. Nothing starts until the first call.
 */
export const toPromise = <E>(layer: Layer.Layer<Scriptorium, E>): ScriptoriumPromise => {
  const runtime = ManagedRuntime.make(layer)
  // reject with the typed error itself (not Effect's FiberFailure wrapper), so `instanceof JobNotFound` works
  const run = <A, E2>(f: (s: Scriptorium) => Effect.Effect<A, E2>): Promise<A> =>
    runtime.runPromiseExit(Effect.flatMap(Scriptorium, f)).then((exit) =>
      Exit.isSuccess(exit) ? exit.value : Promise.reject(Cause.squash(exit.cause))
    )
  return {
    submit: (input) => run((s) => s.submit(input)),
    status: (id) => run((s) => s.status(id)),
    list: (query) => run((s) => s.list(query)),
    watch: (id) => ({
      async *[Symbol.asyncIterator]() {
        const stream = Stream.unwrap(Effect.map(Scriptorium, (s) => s.watch(id)))
        yield* Stream.toAsyncIterableRuntime(stream, await runtime.runtime())
      }
    }),
    changes: (query) => ({
      async *[Symbol.asyncIterator]() {
        const stream = Stream.unwrap(Effect.map(Scriptorium, (s) => s.changes(query)))
        yield* Stream.toAsyncIterableRuntime(stream, await runtime.runtime())
      }
    }),
    wait: (id, options) => run((s) => s.wait(id, options)),
    outputs: (id) => run((s) => s.outputs(id)),
    result: (id, name) => run((s) => collectBytes(s.result(id, name))),
    cancel: (id) => run((s) => s.cancel(id)),
    delete: (id) => run((s) => s.delete(id)),
    close: () => runtime.dispose()
  }
}
