/**
 * One delivery attempt over HTTP: POST the body with node's fetch, give up after a timeout, and report what the
 * receiver said (or why nothing came back) as data, never as a failure, so the dispatcher records every attempt the
 * same way. Redirects are not followed: a receiver that moved answers 3xx, which is recorded and retried, and a
 * redirect cannot lead the server somewhere the allow-list did not approve.
 */
import { Effect } from "effect"
import { asClause } from "../ErrorText.js"

/** What one attempt got: the receiver's status (null when no response came) and, unless 2xx, why it failed. */
export interface PostOutcome {
  readonly status_code: number | null
  readonly error: string | null
}

/** POSTs `body` to `url`; the response body is not read (only its status matters), so a huge one costs nothing. */
export const post = (
  url: string,
  body: string,
  headers: Readonly<Record<string, string>>,
  timeoutMs: number
): Effect.Effect<PostOutcome> =>
  Effect.tryPromise({
    try: async (interrupted) => {
      const { signal, release } = abortAfter(timeoutMs, interrupted)
      try {
        const response = await fetch(url, { method: "POST", body, headers, redirect: "manual", signal })
        await response.body?.cancel().catch(() => undefined)
        return response.status
      } finally {
        release()
      }
    },
    catch: (cause) => describe(cause, timeoutMs)
  }).pipe(
    Effect.map((status): PostOutcome => ({
      status_code: status,
      error: status >= 200 && status < 300 ? null : `the receiver answered HTTP ${status}`
    })),
    Effect.catchAll((error) => Effect.succeed<PostOutcome>({ status_code: null, error }))
  )

/**
 * A signal that aborts after `timeoutMs` or when `interrupted` does, and `release` to stop both. Not
 * `AbortSignal.any([interrupted, AbortSignal.timeout(ms)])`: on Node 20 that composite holds its sources weakly and the
 * timeout's timer holds its signal weakly, so a garbage collection during the request can drop the timeout and fetch
 * then waits forever on a receiver that never answers, holding a dispatcher slot for good (the Post test shows it).
 * Here the timer's closure holds the controller, so the abort always comes.
 */
const abortAfter = (timeoutMs: number, interrupted: AbortSignal) => {
  const controller = new AbortController()
  const timer = setTimeout(
    () => controller.abort(new DOMException(`no response within ${timeoutMs} ms`, "TimeoutError")),
    timeoutMs
  )
  const onInterrupt = () => controller.abort(interrupted.reason)
  interrupted.addEventListener("abort", onInterrupt, { once: true })
  return {
    signal: controller.signal,
    release: () => {
      clearTimeout(timer)
      interrupted.removeEventListener("abort", onInterrupt)
    }
  }
}

/** Why no response came, as a clause: timed out, refused, unknown host... */
const describe = (cause: unknown, timeoutMs: number): string => {
  const name = (cause as { name?: unknown } | null)?.name
  if (name === "TimeoutError") return `no response within ${timeoutMs} ms`
  const inner = (cause as { cause?: { code?: unknown; message?: unknown } } | null)?.cause
  const code = typeof inner?.code === "string" ? inner.code : undefined
  if (code === "ECONNREFUSED") return "the connection was refused (ECONNREFUSED)"
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `the host could not be resolved (${code})`
  if (code !== undefined) return `the request failed (${code}: ${asClause(inner)})`
  return `the request failed (${asClause(inner ?? cause)})`
}
