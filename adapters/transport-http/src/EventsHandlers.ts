/**
 * A job's status as Server-Sent Events (group `events` of `ScriptoriumApi`), for clients that cannot use WebSockets:
 * `event: status` with the job's status JSON (exactly what `GET /result/{id}/status` answers) for the current state
 * and then each change, `event: end` once the job is completed, failed or cancelled, then the stream closes. A comment
 * line every so often keeps proxies from closing an idle stream. An unknown id is answered 404 in the contract's JSON
 * shape before the stream starts. Built on the facade's `watch`, so it follows changes made in any process.
 */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { isTerminal, Job, ScriptoriumApi, sseEndEvent, sseStatusEvent } from "@scriptorium/api"
import { Scriptorium } from "@scriptorium/core"
import { Duration, Effect, Schedule, Schema, Stream } from "effect"

/** What the event stream needs to know. */
export interface EventsHandlersConfig {
  /** How often a `: keepalive` comment is sent while nothing else is. */
  readonly keepaliveMs: number
}

const encodeJob = Schema.encodeSync(Job)

/** One SSE message: an event name and its data on one line (JSON never holds a raw newline). */
export const sseMessage = (event: string, data: string): string => `event: ${event}\ndata: ${data}\n\n`

/** A comment line, ignored by clients; it keeps the connection from looking idle. */
export const sseKeepalive = ": keepalive\n\n"

/** The messages for one state of the job: its status, and `end` after a terminal one. */
const messagesOf = (job: Job): ReadonlyArray<string> => {
  const json = JSON.stringify(encodeJob(job))
  // `end` carries the same JSON: a browser's EventSource drops an event without data
  return isTerminal(job.status) ? [sseMessage(sseStatusEvent, json), sseMessage(sseEndEvent, json)] : [
    sseMessage(sseStatusEvent, json)
  ]
}

/** The handler of the `events` group. */
export const layer = (config: EventsHandlersConfig) =>
  HttpApiBuilder.group(ScriptoriumApi, "events", (handlers) =>
    Effect.gen(function*() {
      const scriptorium = yield* Scriptorium.Scriptorium
      return handlers.handle("events", ({ path }) =>
        Effect.gen(function*() {
          // before the stream, so an unknown id gets its 404 as JSON
          yield* scriptorium.status(path.job_id)
          const statuses = scriptorium.watch(path.job_id).pipe(
            Stream.mapConcat(messagesOf),
            // the job deleted meanwhile, or the store failing: the stream ends and the client can reconnect
            Stream.catchAll(() => Stream.empty)
          )
          const keepalives = Stream.fromSchedule(Schedule.spaced(Duration.millis(config.keepaliveMs))).pipe(
            Stream.as(sseKeepalive)
          )
          const body = Stream.merge(statuses, keepalives, { haltStrategy: "left" }).pipe(Stream.encodeText)
          return HttpServerResponse.stream(body, {
            contentType: "text/event-stream",
            headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
          })
        }))
    }))
