/**
 * What happens after a delivery attempt, as a pure function: a 2xx is delivered; anything else is retried after an
 * exponentially growing delay until the attempts run out, then the delivery has failed for good. Kept apart from the
 * dispatcher so the schedule is the same in every process and can be reasoned about without a clock or a network.
 */
import type { DeliveryNext } from "../../Webhooks.js"

/** How failed attempts are retried. */
export interface WebhookRetryPolicy {
  /** The delay after the first failed attempt. */
  readonly baseDelayMs: number
  /** No delay grows beyond this. */
  readonly maxDelayMs: number
  /** Attempts in all, the first included; the delivery fails after this many. */
  readonly maxAttempts: number
}

/** The delay before attempt `attempt + 1`, after `attempt` failed ones: base, 2 base, 4 base... capped. */
export const delayAfter = (policy: WebhookRetryPolicy, attempt: number): number =>
  Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1))

/** The state after attempt number `attempt` (from 1) ended at `now`, answered with `statusCode` (null: no answer). */
export const nextAfter = (
  policy: WebhookRetryPolicy,
  attempt: number,
  statusCode: number | null,
  now: number
): DeliveryNext => {
  if (statusCode !== null && statusCode >= 200 && statusCode < 300) return { state: "delivered" }
  if (attempt >= policy.maxAttempts) return { state: "failed" }
  return { state: "delivering", next_attempt_at: now + delayAfter(policy, attempt) }
}
