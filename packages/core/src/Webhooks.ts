/**
 * Webhooks: a job submitted with a webhook URL (job option `webhook_url`) gets its status JSON POSTed there, signed,
 * when it completes, fails or is cancelled; failed deliveries are retried with exponential backoff, every attempt is
 * recorded, and nothing of it ever blocks a worker. Transports read a job's delivery record through this service.
 */
import type { JobId, StoreUnavailable, Webhook } from "@scriptorium/api"
import { Context, type Effect, type Option } from "effect"

/** The job option that names a job's webhook URL. */
export const webhookUrlOption = "webhook_url"

/** A job's webhook, read side. */
export interface Webhooks {
  /** The job's webhook and its delivery record; none when the job named no webhook. */
  readonly get: (id: JobId) => Effect.Effect<Option.Option<Webhook>, StoreUnavailable>
}

/** The Webhooks service. */
export const Webhooks = Context.GenericTag<Webhooks>("@scriptorium/core/Webhooks")
