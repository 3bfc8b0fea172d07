/**
 * The live-status conventions that servers and clients share: what a WebSocket or Server-Sent Events stream sends,
 * how it closes, and how a webhook delivery is signed. Every message is a job's status JSON, exactly what
 * `GET /result/{job_id}/status` answers (the encoded `Job`).
 */

/** WebSocket close codes. 1000 after a job's terminal status; 4xxx codes mirror the HTTP status they stand for. */
export const WsCloseCode = {
  /** The job reached completed, failed or cancelled (its last message said which). */
  normal: 1000,
  /** The server is going away (shutdown); reconnect later and you get the current state first. */
  goingAway: 1001,
  /** No job has this id. */
  jobNotFound: 4404,
  /** The job was deleted while being watched. */
  jobDeleted: 4410,
  /** The client did not read its messages and fell too far behind; reconnect to get the current state. */
  tooSlow: 4408,
  /** A query parameter (such as `status`) has a value that cannot be used. */
  invalidParameter: 4400,
  /** The job store could not be read. */
  storeUnavailable: 4503
} as const

/** The SSE event name of a status message (`event: status`); its `data:` line is the status JSON. */
export const sseStatusEvent = "status"
/** The SSE event name sent once before the stream ends because the job ended (`event: end`). */
export const sseEndEvent = "end"

/**
 * The header of a webhook delivery's signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>`, the HMAC keyed with the
 * server's webhook secret over `<t>.<raw body>`. A receiver recomputes it and refuses deliveries whose `t` is old.
 */
export const webhookSignatureHeader = "scriptorium-signature"
/** The header naming the delivery's event: `job.completed`, `job.failed` or `job.cancelled`. */
export const webhookEventHeader = "scriptorium-event"
/** The header with a delivery's unique id (the same on every retry of it), for receivers that de-duplicate. */
export const webhookDeliveryHeader = "scriptorium-delivery"
