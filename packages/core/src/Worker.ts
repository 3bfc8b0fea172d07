/**
 * The Worker: claims jobs from the JobStore and runs a JobHandler on each, up to `concurrency` at a time. Each job
 * has a heartbeat fiber that keeps its lease; a cancel (heard through the change feed or the heartbeat) interrupts
 * the handler; a handler that runs past the per-job time limit is stopped. On shutdown the worker stops claiming,
 * lets running jobs finish for a grace period, then hands the rest back to the queue. A worker that dies without
 * shutting down loses its leases, and another worker resumes its jobs after their last checkpoint.
 */
import { type Job, LeaseLost, type StoreUnavailable } from "@scriptorium/api"
import { Cause, Data, Duration, Effect, Exit, Fiber, Layer, Queue, Schedule, Scope, Stream } from "effect"
import { hostname } from "node:os"
import { messageOf } from "./internal/ErrorText.js"
import { JobFailure, type JobHandler } from "./JobHandler.js"
import { type Claimed, type JobEvent, JobStore, type Lease } from "./JobStore.js"

/** How a worker runs. Every field has a default. */
export interface WorkerConfig {
  /** Jobs run at once in this process; default 1. */
  readonly concurrency?: number | undefined
  /** How long a claim lasts without a heartbeat; default 30 s. A crashed worker's jobs restart after this. */
  readonly leaseMs?: number | undefined
  /** How often a running job's lease is extended; default a third of the lease. */
  readonly heartbeatMs?: number | undefined
  /** How often to look for work when no event says there is some; default 1 s. */
  readonly pollMs?: number | undefined
  /** The per-job time limit; default 30 minutes. */
  readonly jobTimeoutMs?: number | undefined
  /** How often expired leases are returned to the queue; default half the lease. */
  readonly reapIntervalMs?: number | undefined
  /** How long shutdown waits for running jobs before handing them back; default 10 s. */
  readonly shutdownGraceMs?: number | undefined
  /** Names this worker in leases and logs; default host:pid:random. */
  readonly workerId?: string | undefined
}

/** A running worker. */
export interface WorkerHandle {
  readonly workerId: string
  /** The ids of the jobs running now. */
  readonly running: Effect.Effect<ReadonlyArray<string>>
}

/** Why a job's handler was stopped from outside. */
class Stopped extends Data.TaggedError("Stopped")<{ readonly reason: "cancelled" | "lost" }> {}

/** The handler ran past the per-job time limit. */
class TimedOut extends Data.TaggedError("TimedOut")<{ readonly ms: number }> {}

interface Running {
  readonly lease: Lease
  readonly fiber: Fiber.RuntimeFiber<void, never>
}

const defaults = (config: WorkerConfig) => {
  const leaseMs = config.leaseMs ?? 30_000
  return {
    concurrency: Math.max(1, Math.floor(config.concurrency ?? 1)),
    leaseMs,
    heartbeatMs: config.heartbeatMs ?? Math.max(50, Math.floor(leaseMs / 3)),
    pollMs: config.pollMs ?? 1_000,
    jobTimeoutMs: config.jobTimeoutMs ?? 30 * 60_000,
    reapIntervalMs: config.reapIntervalMs ?? Math.max(50, Math.floor(leaseMs / 2)),
    shutdownGraceMs: config.shutdownGraceMs ?? 10_000,
    workerId: config.workerId ?? `${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`
  }
}

/** Events after which there may be work to claim. */
const runnable = new Set<JobEvent["type"]>(["created", "retrying", "released", "expired"])

/** Starts a worker for the life of the scope; closing the scope shuts it down gracefully. */
export const start = <R>(
  handler: JobHandler<R>,
  config: WorkerConfig = {}
): Effect.Effect<WorkerHandle, never, JobStore | R | Scope.Scope> =>
  Effect.gen(function*() {
    const c = defaults(config)
    const store = yield* JobStore
    const context = yield* Effect.context<R>()
    const running = new Map<string, Running>()
    const stopping = new Map<string, Stopped["reason"]>()
    const wake = yield* Queue.sliding<void>(1)
    const poke = () => void Queue.unsafeOffer(wake, undefined)
    // Jobs run in their own scope, so shutdown can give them a grace period after the claim loop has stopped.
    const jobsScope = yield* Scope.make()

    const log = Effect.annotateLogs({ worker: c.workerId })

    /** One attempt at one job, from its claim to the store write that ends it. Never fails. */
    const runJob = (claimed: Claimed): Effect.Effect<void> => {
      const { job, lease } = claimed
      const attempt = Effect.gen(function*() {
        const done = new Set(yield* store.checkpoints(job.job_id))
        const work = handler({
          job,
          lease,
          attempt: job.attempts,
          done,
          setTotalPages: (total) => Effect.asVoid(store.setTotalPages(lease, total)),
          checkpoint: (page) => Effect.asVoid(store.checkpoint(lease, page))
        }).pipe(
          Effect.provide(context),
          Effect.timeoutFail({ duration: Duration.millis(c.jobTimeoutMs), onTimeout: () => new TimedOut({ ms: c.jobTimeoutMs }) })
        )
        return yield* Effect.raceFirst(work, heartbeat(lease))
      })
      // onExit runs even when the job fiber is interrupted (cancel, shutdown), so every attempt is settled
      return attempt.pipe(
        Effect.onExit((exit) =>
          settle(job, lease, exit).pipe(
            Effect.catchAll((e) => Effect.logWarning(`Could not record the outcome of job ${job.job_id}`, e))
          )
        ),
        Effect.ignore,
        log,
        Effect.annotateLogs({ job_id: job.job_id })
      )
    }

    /** Keeps the lease alive; fails with Stopped when the job was cancelled or the lease lost. */
    const heartbeat = (lease: Lease): Effect.Effect<never, Stopped> =>
      Effect.sleep(c.heartbeatMs).pipe(
        Effect.zipRight(store.heartbeat(lease, c.leaseMs).pipe(
          // a store hiccup is not a reason to stop: the lease has slack for a few missed beats
          Effect.catchAll((e) => Effect.as(Effect.logWarning("Heartbeat failed; will retry", e), "extended" as const))
        )),
        Effect.flatMap((result) => result === "extended" ? Effect.void : Effect.fail(new Stopped({ reason: result }))),
        Effect.forever
      )

    /** Writes the attempt's outcome to the store. */
    const settle = (job: Job, lease: Lease, exit: Exit.Exit<void, unknown>) => {
      if (Exit.isSuccess(exit)) return ignoreLost(store.complete(lease))
      const failure = Cause.failureOption(exit.cause)
      if (failure._tag === "Some") {
        const error = failure.value
        if (error instanceof Stopped) return Effect.logInfo(`Job stopped: ${error.reason}`)
        if (error instanceof TimedOut) {
          return ignoreLost(store.fail(lease, `The job ran longer than the per-job time limit of ` +
            `${error.ms >= 10_000 ? `${Math.round(error.ms / 1000)} s` : `${error.ms} ms`} and was stopped; split the ` +
            `document or raise the time limit.`, {
            retryable: false
          }))
        }
        if (error instanceof JobFailure) {
          return ignoreLost(store.fail(lease, error.message, { retryable: error.retryable }))
        }
        if (error instanceof LeaseLost) return Effect.logInfo("Lease lost; the new owner carries on")
        return ignoreLost(store.fail(lease, messageOf(error), { retryable: true }))
      }
      if (Cause.isInterruptedOnly(exit.cause)) {
        const reason = stopping.get(job.job_id)
        return reason === undefined ? ignoreLost(store.release(lease)) : Effect.logInfo(`Job stopped: ${reason}`)
      }
      return ignoreLost(store.fail(lease, `The job's handler crashed: ${Cause.pretty(exit.cause).split("\n")[0]}`, {
        retryable: true
      }))
    }

    const launch = (claimed: Claimed) =>
      Effect.gen(function*() {
        const id = claimed.job.job_id
        const fiber = yield* runJob(claimed).pipe(
          Effect.ensuring(Effect.sync(() => {
            running.delete(id)
            stopping.delete(id)
            poke()
          })),
          Effect.forkIn(jobsScope)
        )
        running.set(id, { lease: claimed.lease, fiber })
      })

    /** Claims while there is room and work, then waits for an event, a finished job, or the poll interval. */
    const claimLoop = Effect.gen(function*() {
      const free = c.concurrency - running.size
      if (free > 0) {
        const claimed = yield* store.claim({ worker_id: c.workerId, limit: free, lease_ms: c.leaseMs }).pipe(
          Effect.catchAll((e) => Effect.as(Effect.logWarning("Could not claim jobs; will retry", e), []))
        )
        yield* Effect.forEach(claimed, launch, { discard: true })
        if (claimed.length > 0 && claimed.length === free) return
      }
      yield* Effect.race(Queue.take(wake), Effect.sleep(c.pollMs))
    }).pipe(Effect.forever)

    /** Interrupts a running job that was cancelled or deleted; wakes the loop when new work appears. */
    const listen = store.changes().pipe(
      Stream.runForEach((event) => {
        if (runnable.has(event.type)) poke()
        const job = running.get(event.job.job_id)
        if (job === undefined || (event.type !== "cancelled" && event.type !== "deleted")) return Effect.void
        stopping.set(event.job.job_id, "cancelled")
        return Fiber.interruptFork(job.fiber)
      }),
      Effect.catchAll((e: StoreUnavailable) => Effect.logWarning("Change feed failed; reconnecting", e)),
      Effect.repeat(Schedule.spaced("1 second"))
    )

    const reaper = store.reap.pipe(
      Effect.catchAll((e) => Effect.as(Effect.logWarning("Could not reap expired leases", e), 0)),
      Effect.repeat(Schedule.spaced(Duration.millis(c.reapIntervalMs)))
    )

    const loops = yield* Effect.all([claimLoop, listen, reaper], { concurrency: "unbounded", discard: true }).pipe(
      log,
      Effect.forkDaemon
    )

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        yield* Fiber.interrupt(loops)
        const fibers = [...running.values()].map((r) => r.fiber)
        if (fibers.length > 0) {
          yield* Effect.logInfo(`Shutting down: waiting up to ${c.shutdownGraceMs} ms for ${fibers.length} job(s)`)
        }
        // finalizers run uninterruptibly: the wait must opt back in for the grace-period timeout to cut it short
        yield* Effect.interruptible(Fiber.awaitAll(fibers)).pipe(
          Effect.timeout(Duration.millis(c.shutdownGraceMs)),
          Effect.ignore
        )
        // what is still running is interrupted, and its settle() hands it back to the queue
        yield* Scope.close(jobsScope, Exit.void)
      }).pipe(log)
    )

    return { workerId: c.workerId, running: Effect.sync(() => [...running.keys()]) }
  })

/** A worker as a layer: it runs while the layer is alive. */
export const layer = <R>(handler: JobHandler<R>, config: WorkerConfig = {}): Layer.Layer<never, never, JobStore | R> =>
  Layer.scopedDiscard(start(handler, config))

const ignoreLost = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.asVoid(Effect.catchIf(effect, (e) => e instanceof LeaseLost, () =>
    Effect.logInfo("Lease lost before the outcome was written; the new owner carries on")))
