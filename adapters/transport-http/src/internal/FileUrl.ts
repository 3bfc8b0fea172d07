/**
 * Fetches the file of a `file_url` submission, at submit time, so the caller hears at once when the URL is refused
 * (403), unreachable (502) or not a document (415 from the admission check), and the page count is known before the
 * sync-or-async decision.
 *
 * The server must never be turned against addresses its operator did not choose (SSRF): only http and https, only
 * hosts on the configured allow-list (an empty list refuses every URL), and redirects are followed by hand so each hop
 * is checked against the same list before it is requested. A timeout bounds the whole fetch, and the upload limit is
 * enforced while the body arrives (by its Content-Length first, when it has one), so a huge answer is never held.
 */
import { FileTooLarge, FileUrlFetchFailed, FileUrlNotAllowed } from "@scriptorium/api"
import { AllowedHosts } from "@scriptorium/core"
import { Duration, Effect, Stream } from "effect"
import { readBody } from "./Upload.js"

/** How `file_url` submissions are fetched. */
export interface FileUrlConfig {
  /** `host` (any port) or `host:port` entries; case-insensitive. Empty: every URL is refused. */
  readonly allowedHosts: ReadonlyArray<string>
  /** The whole fetch (every hop and the body) must end within this. */
  readonly timeoutMs: number
  readonly maxRedirects: number
  /** The upload limit, in bytes. */
  readonly maxBytes: number
}

/** A fetched file. */
export interface Fetched {
  readonly filename: string
  readonly content: Uint8Array
}

/** The name a file fetched from `url` gets: the last segment of its path, else `document.pdf`. */
export const filenameOf = (url: URL): string => {
  const last = url.pathname.split("/").pop() ?? ""
  try {
    return decodeURIComponent(last) || "document.pdf"
  } catch {
    return last || "document.pdf"
  }
}

/** Why this URL may not be fetched, or undefined when it may. */
const refusal = (url: URL, allowedHosts: ReadonlyArray<string>): string | undefined => {
  if (url.protocol !== "http:" && url.protocol !== "https:") return `only http and https URLs are fetched`
  if (url.username !== "" || url.password !== "") return `URLs with credentials are not fetched`
  if (allowedHosts.length === 0) return `this server fetches no URLs: its allow-list is empty`
  if (!AllowedHosts.isAllowedHost(url, allowedHosts)) return `the host '${url.host}' is not on the server's allow-list`
  return undefined
}

const isRedirect = (status: number) => status === 301 || status === 302 || status === 303 || status === 307 ||
  status === 308

/** Checks `raw` against the allow-list, then fetches it, following allowed redirects. */
export const fetchFileUrl = (
  raw: string,
  config: FileUrlConfig
): Effect.Effect<Fetched, FileUrlNotAllowed | FileUrlFetchFailed | FileTooLarge> =>
  Effect.gen(function*() {
    const original = URL.canParse(raw) ? new URL(raw) : undefined
    if (original === undefined) {
      return yield* new FileUrlNotAllowed({ file_url: raw, reason: "it is not an absolute URL" })
    }
    const failed = (reason: string) => new FileUrlFetchFailed({ file_url: raw, reason })
    let url = original
    for (let hop = 0;; hop++) {
      const refused = refusal(url, config.allowedHosts)
      if (refused !== undefined) {
        const reason = hop === 0 ? refused : `it redirects to '${url.href.slice(0, 200)}': ${refused}`
        return yield* new FileUrlNotAllowed({ file_url: raw, reason })
      }
      const target = url
      const response = yield* Effect.tryPromise({
        try: (signal) => fetch(target.href, { redirect: "manual", signal }),
        catch: (cause) => failed(describe(cause))
      })
      const location = response.headers.get("location")
      if (isRedirect(response.status) && location !== null) {
        yield* Effect.promise(() => response.body?.cancel() ?? Promise.resolve())
        if (hop >= config.maxRedirects) return yield* failed(`more than ${config.maxRedirects} redirects`)
        if (!URL.canParse(location, url.href)) return yield* failed(`a redirect to '${location.slice(0, 200)}'`)
        url = new URL(location, url)
        continue
      }
      if (!response.ok || response.body === null) {
        yield* Effect.promise(() => response.body?.cancel() ?? Promise.resolve())
        return yield* failed(`the server answered ${response.status}`)
      }
      const body = response.body
      if (Number(response.headers.get("content-length")) > config.maxBytes) {
        yield* Effect.promise(() => body.cancel())
        return yield* new FileTooLarge({ limit_bytes: config.maxBytes })
      }
      const content = yield* readBody(
        Stream.fromReadableStream({ evaluate: () => body, onError: (cause) => failed(describe(cause)) }),
        config.maxBytes,
        config.maxBytes
      )
      return { filename: filenameOf(original), content }
    }
  }).pipe(
    Effect.timeoutFail({
      duration: Duration.millis(config.timeoutMs),
      onTimeout: () =>
        new FileUrlFetchFailed({ file_url: raw, reason: `no complete answer within ${config.timeoutMs} ms` })
    })
  )

/** A fetch failure as a short reason: undici hides the network error (ECONNREFUSED...) in `cause`. */
const describe = (cause: unknown): string => {
  const inner = cause instanceof Error && cause.cause instanceof Error ? cause.cause : cause
  const code = (inner as { code?: unknown } | undefined)?.code
  if (typeof code === "string") return code
  return inner instanceof Error ? inner.message : String(inner)
}
