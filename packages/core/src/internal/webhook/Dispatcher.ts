/**
 * The webhook dispatcher: a background fiber that claims due deliveries from the WebhookStore (each under a lease,
 * so dispatchers in several processes never send the same attempt twice), POSTs them, and records every attempt
 * with what comes next. It wakes when the change feed reports a job ending (its delivery row was written in the same
 * transaction), when a retry it scheduled falls due, and on a poll, which also finds other processes' retries and
 * deliveries whose dispatcher died. At most `concurrency` POSTs run at once, each bounded by the timeout, so a slow
 * or dead receiver holds a slot for at most that long and never touches a worker.
 */
import { isTerminal, webhookDeliveryHeader, webhookEventHeader, webhookSignatureHeader } from "@scriptorium/api"
import { Clock, Effect, Either, Queue, Schedule, type Scope, Stream } from "effect"
import type { JobStore } from "../../JobStore.js"
import type { ClaimedDelivery, DeliveryNext, WebhookStore } from "../../Webhooks.js"
import { post, type PostOutcome } from "./Post.js"
import { nextAfter, type WebhookRetryPolicy } from "./RetrySchedule.js"
import { sign } from "./Signature.js"
import { checkWebhookUrl } from "./WebhookUrl.js"

/** The dispatcher's settings, every default applied. */
export interface DispatcherSettings extends WebhookRetryPolicy {
  readonly secret: string | undefined
  readonly timeoutMs: number
  readonly concurrency: number
  readonly pollMs: number
  readonly leaseMs: number
  readonly allowedHosts: ReadonlyArray<string> | undefined
  readonly owner: string
  readonly userAgent: string
}

/** Runs the dispatcher until the scope closes; in-flight attempts are interrupted and redone after their lease. */
export const run = (
  settings: DispatcherSettings,
  jobs: JobStore,
  store: WebhookStore
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const wake = yield* Queue.sliding<void>(1)
    const signal = Effect.sync(() => Queue.unsafeOffer(wake, undefined))
    let inFlight = 0

    // a job that just ended has its delivery row committed with the event: look at once
    yield* jobs.changes().pipe(
      Stream.filter((event) => isTerminal(event.job.status)),
      Stream.runForEach(() => signal),
      Effect.retry(Schedule.spaced("1 second")),
      Effect.forkScoped
    )

    const attempt = (delivery: ClaimedDelivery) =>
      Effect.gen(function*() {
        const next = yield* deliver(settings, store, delivery)
        if (next.state === "delivering") {
          const now = yield* Clock.currentTimeMillis
          yield* Effect.sleep(Math.max(0, next.next_attempt_at - now)).pipe(Effect.zipRight(signal), Effect.forkScoped)
        }
      }).pipe(Effect.ensuring(Effect.zipRight(Effect.sync(() => inFlight--), signal)))

    const claimSome = Effect.gen(function*() {
      const free = settings.concurrency - inFlight
      if (free <= 0) return
      const claimed = yield* store.claim({ owner: settings.owner, limit: free, lease_ms: settings.leaseMs })
      inFlight += claimed.length
      yield* Effect.forEach(claimed, (delivery) => Effect.forkScoped(attempt(delivery)), { discard: true })
      // a full batch may have left more due deliveries behind
      if (claimed.length === free) yield* signal
    }).pipe(Effect.catchAll((error) => Effect.logWarning("Webhook dispatcher could not claim deliveries", error)))

    yield* claimSome.pipe(
      Effect.zipRight(Effect.race(Queue.take(wake), Effect.sleep(settings.pollMs))),
      Effect.forever,
      Effect.forkScoped
    )
  })

/** Makes one attempt and records it; returns what comes next. */
const deliver = (
  settings: DispatcherSettings,
  store: WebhookStore,
  delivery: ClaimedDelivery
): Effect.Effect<DeliveryNext> =>
  Effect.gen(function*() {
    const at = yield* Clock.currentTimeMillis
    const allowed = checkWebhookUrl(delivery.url, settings.allowedHosts)
    const outcome: PostOutcome = Either.isLeft(allowed)
      ? { status_code: null, error: `the URL was refused: ${allowed.left}` }
      : yield* post(delivery.url, delivery.payload, headers(settings, delivery, at), settings.timeoutMs)
    const end = yield* Clock.currentTimeMillis
    const next: DeliveryNext = Either.isLeft(allowed)
      ? { state: "failed" }
      : nextAfter(settings, delivery.attempt, outcome.status_code, end)
    const recorded = yield* store.record(delivery, { at, ...outcome }, next).pipe(
      // the attempt happened; losing its record would redo it after the lease, so try hard to write it
      Effect.retry(Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(5)))),
      Effect.catchAll((error) =>
        Effect.as(
          Effect.logWarning(`Webhook attempt ${delivery.attempt} of ${delivery.delivery_id} not recorded`, error),
          false
        ))
    )
    if (!recorded) {
      yield* Effect.logInfo(`Webhook delivery ${delivery.delivery_id}: lease lost before the attempt was recorded`)
    }
    return next
  })

/** The delivery's headers; signed when the server has a secret. */
const headers = (settings: DispatcherSettings, delivery: ClaimedDelivery, at: number): Record<string, string> => ({
  "content-type": "application/json",
  "user-agent": settings.userAgent,
  [webhookEventHeader]: delivery.event,
  [webhookDeliveryHeader]: delivery.delivery_id,
  ...(settings.secret === undefined
    ? {}
    : { [webhookSignatureHeader]: sign(settings.secret, delivery.payload, Math.floor(at / 1000)) })
})
