/**
 * Following a job by polling its status with exponential backoff: the first state at once, then one read per delay,
 * the delay doubling up to a ceiling while nothing changes and starting over after each change (so a job that is
 * making progress is followed closely and an idle one costs little). Ends after a terminal status.
 */
import { isTerminal, type Job } from "@scriptorium/api"
import { Chunk, Effect, Option, Stream } from "effect"

/** How often to poll: the first delay, and the ceiling it doubles up to. */
export interface Backoff {
  readonly initialDelayMs: number
  readonly maxDelayMs: number
}

/** The default backoff: 250 ms doubling up to 5 s. */
export const defaultBackoff: Backoff = { initialDelayMs: 250, maxDelayMs: 5_000 }

/** True when `next` says something `previous` did not: another status, page count or page total. */
export const isChange = (previous: Job | undefined, next: Job): boolean =>
  previous === undefined || previous.status !== next.status || previous.processed_pages !== next.processed_pages ||
  previous.total_pages !== next.total_pages

interface State {
  readonly last: Job | undefined
  readonly delayMs: number
  readonly first: boolean
}

/**
 * Each change of the job read by `read`, ending with its terminal status. `since` is the last state the caller has
 * already seen (when it takes over from another stream); it is not repeated.
 */
export const changes = <E, R>(
  read: Effect.Effect<Job, E, R>,
  backoff: Backoff = defaultBackoff,
  since?: Job
): Stream.Stream<Job, E, R> =>
  Stream.unfoldChunkEffect<State | undefined, Job, E, R>(
    { last: since, delayMs: backoff.initialDelayMs, first: true },
    (state) => {
      if (state === undefined) return Effect.succeedNone
      const wait = state.first ? Effect.void : Effect.sleep(state.delayMs)
      return Effect.map(Effect.zipRight(wait, read), (job) => {
        const changed = isChange(state.last, job)
        const next: State | undefined = isTerminal(job.status) ? undefined : {
          last: job,
          delayMs: changed ? backoff.initialDelayMs : Math.min(state.delayMs * 2, backoff.maxDelayMs),
          first: false
        }
        return Option.some([changed ? Chunk.of(job) : Chunk.empty<Job>(), next] as const)
      })
    }
  )
