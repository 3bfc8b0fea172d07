/**
 * Webhooks: a job submitted with a webhook URL (job option `webhook_url`) gets its status JSON POSTed there, signed,
 * when it completes, fails or is cancelled; failed deliveries are retried with exponential backoff, every attempt is
 * recorded, and nothing of it ever blocks a worker. Transports read a job's delivery record through this service.
 *
 * Durability is a transactional outbox: the store writes the delivery row in the same transaction that ends the job,
 * so a crash can lose neither; the dispatcher (`layer`) claims due rows under a lease from the `WebhookStore`, so
 * several processes may run it on one database and each attempt is sent once (a process that dies mid-attempt has
 * its attempt redone when the lease runs out: receivers de-duplicate on the delivery id).
 *
 * A delivery is `POST <webhook_url>` with the job's status JSON (exactly what `GET /result/{job_id}/status` answers)
 * as the body and these headers:
 * - `content-type: application/json`
 * - `scriptorium-event: job.completed | job.failed | job.cancelled`
 * - `scriptorium-delivery: <delivery id>`: the same on every retry of one delivery
 * - `scriptorium-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, when the server has a
 *   webhook secret; a receiver checks it with `verifySignature(secret, header, rawBody, { toleranceSeconds })`.
 *
 * A 2xx answer is delivered; any other status, a refused connection or no answer within the timeout is retried after
 * base, 2 x base, 4 x base... (capped) until the attempts run out, and the delivery is then `failed`. Redirects are
 * not followed. With `allowedHosts` configured, URLs on other hosts are refused (at submit by `checkUrl`, and again
 * before each attempt, where the delivery fails at once saying why).
 */
import {
  InvalidParameter,
  Job,
  type JobId,
  type JobOptions,
  type JobStatus,
  type StoreUnavailable,
  type Webhook
} from "@scriptorium/api"
import { Context, Effect, Either, Layer, Option, Schema, type Scope } from "effect"
import { hostname } from "node:os"
import { run } from "./internal/webhook/Dispatcher.js"
import type { WebhookRetryPolicy } from "./internal/webhook/RetrySchedule.js"
import { checkWebhookUrl } from "./internal/webhook/WebhookUrl.js"
import { JobStore } from "./JobStore.js"

export { delayAfter, nextAfter, type WebhookRetryPolicy } from "./internal/webhook/RetrySchedule.js"
export { sign, verifySignature, type VerifyOptions } from "./internal/webhook/Signature.js"

/** The job option that names a job's webhook URL. */
export const webhookUrlOption = "webhook_url"

/** A job's webhook, read side. */
export interface Webhooks {
  /** The job's webhook and its delivery record; none when the job named no webhook. */
  readonly get: (id: JobId) => Effect.Effect<Option.Option<Webhook>, StoreUnavailable>
}

/** The Webhooks service. */
export const Webhooks = Context.GenericTag<Webhooks>("@scriptorium/core/Webhooks")

// ---------------------------------------------------------------------------------------------------------------------
// The outbox: what a store writes when a job ends

/** The event a delivery announces, sent in the `scriptorium-event` header. */
export type WebhookEvent = "job.completed" | "job.failed" | "job.cancelled"

/** The event of a job that reached `status`; none while the job is still pending or processing. */
export const eventFor = (status: JobStatus): Option.Option<WebhookEvent> =>
  status === "completed" || status === "failed" || status === "cancelled"
    ? Option.some(`job.${status}` as const)
    : Option.none()

/** The job's webhook URL; none when its options name none (or name something that is not a string). */
export const urlOf = (options: JobOptions): Option.Option<string> => {
  const url = options[webhookUrlOption]
  return typeof url === "string" && url !== "" ? Option.some(url) : Option.none()
}

/** The body of a delivery: the job's status JSON, as `GET /result/{job_id}/status` encodes it. */
export const payloadOf = (job: Job): string => JSON.stringify(Schema.encodeSync(Job)(job))

/** A delivery row to write, in the transaction that ends the job. */
export interface NewDelivery {
  readonly delivery_id: string
  readonly job_id: JobId
  readonly url: string
  readonly event: WebhookEvent
  /** The exact body sent on every attempt. */
  readonly payload: string
  /** Epoch ms: the first attempt is due at once. */
  readonly created_at: number
}

/** The delivery a job's ending calls for: some when the job just ended and named a webhook. */
export const deliveryFor = (job: Job, now: number): Option.Option<NewDelivery> =>
  Option.flatMap(urlOf(job.options), (url) =>
    Option.map(eventFor(job.status), (event) => ({
      delivery_id: crypto.randomUUID(),
      job_id: job.job_id,
      url,
      event,
      payload: payloadOf(job),
      created_at: now
    })))

// ---------------------------------------------------------------------------------------------------------------------
// The WebhookStore: durable deliveries, claimed under a lease

/** A due delivery handed to one dispatcher, with its lease. */
export interface ClaimedDelivery {
  readonly delivery_id: string
  readonly job_id: JobId
  readonly url: string
  readonly event: WebhookEvent
  readonly payload: string
  /** The number of the attempt about to be made, from 1. */
  readonly attempt: number
  /** Unique per claim: only its holder may record the attempt. */
  readonly lease_token: string
}

/** What one attempt got. Times are epoch ms. */
export interface DeliveryAttempt {
  /** When the attempt started. */
  readonly at: number
  /** The receiver's HTTP status; null when no response came. */
  readonly status_code: number | null
  /** Why it failed; null for a 2xx. */
  readonly error: string | null
}

/** What follows an attempt: done, another attempt at a time, or given up. */
export type DeliveryNext =
  | { readonly state: "delivered" }
  | { readonly state: "delivering"; readonly next_attempt_at: number }
  | { readonly state: "failed" }

/** A job's delivery as stored. Times are epoch ms. */
export interface DeliveryRecord {
  readonly delivery_id: string
  readonly job_id: JobId
  readonly url: string
  readonly event: WebhookEvent
  readonly payload: string
  readonly state: "delivering" | "delivered" | "failed"
  /** When the next attempt is due, while delivering; null otherwise. */
  readonly next_attempt_at: number | null
  readonly created_at: number
  /** Every recorded attempt, in order, numbered from 1. */
  readonly attempts: ReadonlyArray<DeliveryAttempt & { readonly attempt: number }>
}

/** Where deliveries are kept. A store's JobStore writes them (the outbox); the dispatcher drains them. */
export interface WebhookStore {
  /**
   * Takes up to `limit` deliveries that are due and not leased (or whose lease ran out), oldest due first, each under
   * a new lease of `lease_ms`. Concurrent claims, in any process, never return the same delivery.
   */
  readonly claim: (
    options: { readonly owner: string; readonly limit: number; readonly lease_ms: number }
  ) => Effect.Effect<ReadonlyArray<ClaimedDelivery>, StoreUnavailable>
  /**
   * Records the attempt `claimed` made and what follows it, and ends the lease; false (and nothing written) when
   * the lease was lost (it ran out and another dispatcher took the delivery, or the job was deleted).
   */
  readonly record: (
    claimed: ClaimedDelivery,
    attempt: DeliveryAttempt,
    next: DeliveryNext
  ) => Effect.Effect<boolean, StoreUnavailable>
  /** The job's delivery with its attempts; none before the job ended (or when it named no webhook). */
  readonly get: (id: JobId) => Effect.Effect<Option.Option<DeliveryRecord>, StoreUnavailable>
}

/** The WebhookStore service. */
export const WebhookStore = Context.GenericTag<WebhookStore>("@scriptorium/core/WebhookStore")

// ---------------------------------------------------------------------------------------------------------------------
// Submit-time check

/** Accepts a webhook URL a server will deliver to, or refuses it as an `InvalidParameter` on `webhook_url`. */
export const checkUrl = (
  url: string,
  allowedHosts?: ReadonlyArray<string> | undefined
): Either.Either<string, InvalidParameter> =>
  Either.mapBoth(checkWebhookUrl(url, allowedHosts), {
    onLeft: (reason) =>
      new InvalidParameter({
        name: webhookUrlOption,
        value: url,
        expected: `an http(s) URL a webhook can be delivered to (${reason})`
      }),
    onRight: () => url
  })

// ---------------------------------------------------------------------------------------------------------------------
// Layers

/** How the dispatcher delivers. Every field has a default. */
export interface WebhooksConfig {
  /** The HMAC-SHA256 key deliveries are signed with; unset: deliveries carry no signature header. */
  readonly secret?: string | undefined
  /** How long an attempt waits for the receiver's response; default 10 s. */
  readonly timeoutMs?: number | undefined
  /** The delay after the first failed attempt, doubling after each; default 1 s. */
  readonly baseDelayMs?: number | undefined
  /** The longest delay between attempts; default 1 hour. */
  readonly maxDelayMs?: number | undefined
  /** Attempts in all before the delivery fails; default 8. */
  readonly maxAttempts?: number | undefined
  /** Deliveries in flight at once in this process; default 8. */
  readonly concurrency?: number | undefined
  /** How often to look for due deliveries when nothing wakes the dispatcher; default 1 s. */
  readonly pollMs?: number | undefined
  /** How long a claimed delivery stays this process's; default the timeout plus 30 s (at least the timeout plus 5 s). */
  readonly leaseMs?: number | undefined
  /** When set, only URLs on these hosts (`host` or `host:port`) are delivered to; unset: any http(s) URL. */
  readonly allowedHosts?: ReadonlyArray<string> | undefined
}

const settingsOf = (config: WebhooksConfig) => {
  const timeoutMs = config.timeoutMs ?? 10_000
  return {
    secret: config.secret === "" ? undefined : config.secret,
    timeoutMs,
    baseDelayMs: config.baseDelayMs ?? 1_000,
    maxDelayMs: config.maxDelayMs ?? 60 * 60_000,
    maxAttempts: Math.max(1, Math.floor(config.maxAttempts ?? 8)),
    concurrency: Math.max(1, Math.floor(config.concurrency ?? 8)),
    pollMs: config.pollMs ?? 1_000,
    // a lease shorter than an attempt would let another dispatcher send the same attempt while it is in flight
    leaseMs: Math.max(config.leaseMs ?? timeoutMs + 30_000, timeoutMs + 5_000),
    allowedHosts: config.allowedHosts,
    owner: `${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`,
    userAgent: "Scriptorium-Webhooks/1"
  } satisfies WebhookRetryPolicy & Record<string, unknown>
}

/** The read side: a job's webhook as the wire shows it, from its options and its delivery record. */
export const make: Effect.Effect<Webhooks, never, JobStore | WebhookStore> = Effect.gen(function*() {
  const jobs = yield* JobStore
  const store = yield* WebhookStore
  const get = (id: JobId) =>
    Effect.gen(function*() {
      const job = yield* jobs.get(id).pipe(Effect.catchTag("JobNotFound", () => Effect.succeed(undefined)))
      const url = job === undefined ? Option.none() : urlOf(job.options)
      if (Option.isNone(url)) return Option.none<Webhook>()
      return Option.some(toWire(url.value, yield* store.get(id)))
    })
  return { get }
})

/** Starts the dispatcher for the life of the scope. */
export const dispatch = (
  config: WebhooksConfig = {}
): Effect.Effect<void, never, JobStore | WebhookStore | Scope.Scope> =>
  Effect.gen(function*() {
    yield* run(settingsOf(config), yield* JobStore, yield* WebhookStore)
  })

/** Reads webhooks without delivering them (a process where another one runs the dispatcher). */
export const readLayer: Layer.Layer<Webhooks, never, JobStore | WebhookStore> = Layer.effect(Webhooks, make)

/** Reads webhooks and runs the dispatcher while the layer is alive. */
export const layer = (config: WebhooksConfig = {}): Layer.Layer<Webhooks, never, JobStore | WebhookStore> =>
  Layer.merge(readLayer, Layer.scopedDiscard(dispatch(config)))

const toWire = (url: string, record: Option.Option<DeliveryRecord>): Webhook =>
  Option.match(record, {
    onNone: () => ({ url, state: "pending", next_attempt_at: null, attempts: [] }),
    onSome: (r) => ({
      url: r.url,
      state: r.state,
      next_attempt_at: r.state === "delivering" && r.next_attempt_at !== null ? new Date(r.next_attempt_at) : null,
      attempts: r.attempts.map((a) => ({
        attempt: a.attempt,
        at: new Date(a.at),
        status_code: a.status_code,
        error: a.error
      }))
    })
  })
