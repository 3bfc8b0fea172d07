/**
 * The change feed: one poller per store tails the event table and fans events out to every subscriber in this
 * process. A write in this process pokes the poller at once; writes in other processes are found by the next poll or
 * sooner through the dialect's wake-up hint (LISTEN on PostgreSQL). The table is the truth, so a lost hint costs at
 * most one poll interval, never an event.
 */
import type { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import type { StoreUnavailable } from "@scriptorium/api"
import type { ChangesQuery, JobEvent } from "@scriptorium/core"
import { Chunk, Effect, Option, PubSub, Queue, Ref, Schedule, type Scope, Stream } from "effect"
import { decodeEvent, type Row } from "./Rows.js"
import { tables } from "./Schema.js"

/** Live and replayed job events. */
export interface EventFeed {
  /** Tells the poller that this process just committed events. */
  readonly poke: () => void
  readonly changes: (query: ChangesQuery) => Stream.Stream<JobEvent, StoreUnavailable>
}

/** Events a slow subscriber may fall behind by before the oldest are dropped for it (it can replay with `after`). */
const subscriberBuffer = 16_384
/** Events read per poll. */
const batchSize = 1_000

/** Starts nothing until the first subscriber; then one poller for the life of the scope. */
export const makeEventFeed = (options: {
  readonly sql: SqlClient.SqlClient
  readonly pollIntervalMs: number
  readonly wakeups: Stream.Stream<void, SqlError>
  readonly unavailable: (error: SqlError) => StoreUnavailable
}): Effect.Effect<EventFeed, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { sql } = options
    const scope = yield* Effect.scope
    const hub = yield* PubSub.sliding<JobEvent>(subscriberBuffer)
    const signal = yield* Queue.sliding<void>(1)
    const poke = () => {
      Queue.unsafeOffer(signal, undefined)
    }

    const readAfter = (after: number, jobId?: string) =>
      Effect.map(
        sql<Row>`SELECT * FROM ${sql(tables.events)} WHERE seq > ${after}
                 ${jobId === undefined ? sql`` : sql`AND job_id = ${jobId}`} ORDER BY seq LIMIT ${batchSize}`,
        (rows) => rows.map(decodeEvent)
      )

    const poller = (cursor: Ref.Ref<number>) =>
      Effect.gen(function*() {
        for (;;) {
          const events = yield* readAfter(yield* Ref.get(cursor))
          if (events.length === 0) return
          yield* Ref.set(cursor, events[events.length - 1]!.seq)
          yield* PubSub.publishAll(hub, events)
          if (events.length < batchSize) return
        }
      }).pipe(
        Effect.catchAll((e) => Effect.logWarning("Job change feed could not read events; retrying", e)),
        Effect.zipRight(Effect.race(Queue.take(signal), Effect.sleep(options.pollIntervalMs))),
        Effect.forever
      )

    const start = Effect.gen(function*() {
      const [top] = yield* sql<{ seq: number | string | null }>`SELECT MAX(seq) AS seq FROM ${sql(tables.events)}`
      const cursor = yield* Ref.make(Number(top?.seq ?? 0))
      yield* Effect.forkIn(poller(cursor), scope)
      yield* options.wakeups.pipe(
        Stream.runForEach(() => Effect.sync(poke)),
        Effect.retry(Schedule.spaced("1 second")),
        Effect.ignore,
        Effect.forkIn(scope)
      )
    }).pipe(Effect.mapError(options.unavailable))
    // Started once, by the first subscriber; a failed start (database down) is tried again by the next one.
    const started = yield* Effect.cachedFunction((_: void) => start)
    const ensureStarted = Effect.suspend(() => started(undefined))

    const replay = (after: number, jobId: string | undefined) =>
      Stream.paginateChunkEffect(after, (from) =>
        Effect.map(readAfter(from, jobId), (events) => [
          Chunk.unsafeFromArray(events),
          events.length < batchSize ? Option.none() : Option.some(events[events.length - 1]!.seq)
        ] as const)).pipe(Stream.mapError(options.unavailable))

    /** The sequence number just before the job's latest event (or the end of the log when it has none). */
    const latestBefore = (jobId: string | undefined) =>
      Effect.map(
        sql<{ seq: number | string | null }>`SELECT MAX(seq) AS seq FROM ${sql(tables.events)}
          ${jobId === undefined ? sql`` : sql`WHERE job_id = ${jobId}`}`,
        ([row]) => row?.seq === null || row?.seq === undefined ? 0 : Number(row.seq) - (jobId === undefined ? 0 : 1)
      ).pipe(Effect.mapError(options.unavailable))

    const changes = (query: ChangesQuery): Stream.Stream<JobEvent, StoreUnavailable> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        yield* ensureStarted
        // subscribe before replaying, so an event committed during the replay is not missed
        const subscription = yield* PubSub.subscribe(hub)
        const matches = (e: JobEvent) => query.job_id === undefined || e.job.job_id === query.job_id
        const live = Stream.fromQueue(subscription).pipe(Stream.filter(matches))
        if (query.after === undefined) return live
        const after = query.after === "latest" ? yield* latestBefore(query.job_id) : query.after
        let last = after
        return Stream.concat(
          replay(after, query.job_id).pipe(Stream.tap((e) => Effect.sync(() => { last = e.seq }))),
          Stream.filter(live, (e) => e.seq > last)
        )
      }))

    return { poke, changes }
  })

