/**
 * `GET /result/{job_id}/status` answered before the HttpApi router, because it is the route clients poll: seed 000's
 * loop asks it every few seconds per job, so it carries most of a busy server's requests. Through the router, its
 * middleware, the security check and the schema-driven encoder a request cost ~240 µs of CPU where a bare node
 * server spends ~30; this path reads the job through the facade and writes the same bytes directly.
 *
 * It answers only what it can answer exactly as the API would: a well-formed path, the right token when one is
 * configured, a job that exists. The body is the `Job` schema's encoding, as the route's, with the same headers (a
 * test compares the two answers byte for byte). Everything else (another route, no or a wrong token, an unknown id,
 * a store error) goes on to the API, which answers it in its one error shape.
 */
import { Job } from "@scriptorium/api"
import type { Scriptorium } from "@scriptorium/core"
import { Effect, Exit, Runtime, Schema } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import { headerAllows } from "../BearerAuth.js"

/** The path, as the router matches it: one non-empty segment for the id, then an optional query. */
const statusPath = /^\/result\/([^/?#]+)\/status(?:\?|$)/

const encodeJob = Schema.encodeSync(Job)

/** The job id of a status request, or undefined when the request is anything else. */
const jobIdOf = (req: IncomingMessage): string | undefined => {
  if (req.method !== "GET") return undefined
  const match = statusPath.exec(req.url ?? "")
  if (match === null) return undefined
  try {
    return decodeURIComponent(match[1]!)
  } catch {
    return undefined // a malformed escape: the router's answer, not ours
  }
}

/**
 * A request handler in front of `next`: it answers a status request it can answer exactly, and hands every other
 * request (and every status request it cannot) to `next`.
 */
export const make = (
  scriptorium: Scriptorium.Scriptorium,
  token: string | undefined,
  runtime: Runtime.Runtime<never>,
  next: (req: IncomingMessage, res: ServerResponse) => void
) => {
  const run = Runtime.runCallback(runtime)
  return (req: IncomingMessage, res: ServerResponse): void => {
    const jobId = jobIdOf(req)
    if (jobId === undefined || !headerAllows(req.headers.authorization, token)) return next(req, res)
    // untraced: with tracing off (the only case this path serves) the store's SQL spans are pure cost
    run(Effect.withTracerEnabled(scriptorium.status(jobId), false), {
      onExit: (exit) => {
        if (Exit.isFailure(exit)) return next(req, res)
        const body = JSON.stringify(encodeJob(exit.value))
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
        res.end(body)
      }
    })
  }
}
