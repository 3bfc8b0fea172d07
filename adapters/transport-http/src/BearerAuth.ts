/**
 * Bearer authentication for the HTTP API: the implementation of the contract's `Authorization` middleware.
 *
 * With a token configured (the server's AUTH_TOKEN), a request to any job or result route must carry
 * `Authorization: Bearer <token>`; without one it gets 401 `Unauthorized` saying whether the header was missing or the
 * token wrong. Without a configured token every request passes, as in seed 001.
 *
 * `/health`, `/openapi.json` and `/docs` never ask for the token: health checkers (load balancers, orchestrators) carry
 * none, seed 001's own health example sends none, and the API's description is not a secret. Everything that reads or
 * changes a job does.
 *
 * The comparison takes the same time whatever the token sent: both sides are hashed to a fixed length and compared
 * with `timingSafeEqual`, so response times say nothing about how much of a guess was right.
 */
import { Authorization, Unauthorized } from "@scriptorium/api"
import { Effect, Layer, Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest()

/** True when `presented` is `expected`, in time independent of where they differ. */
export const tokensMatch = (presented: string, expected: string): boolean =>
  timingSafeEqual(digest(presented), digest(expected))

/**
 * True when a request with this `Authorization` header may pass: no token configured, or `Bearer <the token>`. For
 * the fast paths in front of the router, which answer only requests the router would let through.
 */
export const headerAllows = (authorization: string | undefined, token: string | undefined): boolean => {
  if (token === undefined) return true
  if (authorization === undefined || !authorization.startsWith("Bearer ")) return false
  return tokensMatch(authorization.slice(7).trim(), token)
}

/** The Authorization middleware: checks the bearer token when `token` is set, lets everything through when not. */
export const layer = (token: string | undefined): Layer.Layer<Authorization> =>
  Layer.succeed(
    Authorization,
    Authorization.of({
      bearer: (presented) => {
        if (token === undefined) return Effect.void
        const value = Redacted.value(presented).trim()
        if (value === "") return Effect.fail(new Unauthorized({ reason: "missing" }))
        return tokensMatch(value, token) ? Effect.void : Effect.fail(new Unauthorized({ reason: "wrong" }))
      }
    })
  )
