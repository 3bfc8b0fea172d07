/**
 * Signing webhook deliveries, and checking a signature on the receiving side. The header is
 * `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`: the timestamp is inside the MAC, so a captured
 * delivery cannot be replayed later with a fresh `t`, and a receiver refuses deliveries whose `t` is too old.
 */
import { createHmac, timingSafeEqual } from "node:crypto"

/** The hex HMAC-SHA256 of `<t>.<body>` under `secret`. */
const mac = (secret: string, t: number, body: string | Uint8Array): string =>
  createHmac("sha256", secret).update(`${t}.`).update(body).digest("hex")

/** The signature header's value for `body` sent at `t` (unix seconds). */
export const sign = (secret: string, body: string | Uint8Array, t: number): string =>
  `t=${t},v1=${mac(secret, t, body)}`

/** How `verifySignature` judges time. */
export interface VerifyOptions {
  /** How old (or how far in the future) `t` may be; default 300 s. */
  readonly toleranceSeconds?: number | undefined
  /** The receiver's clock, in unix seconds; default now. */
  readonly nowSeconds?: number | undefined
}

/**
 * True when `header` (the `scriptorium-signature` value) signs exactly `body` (the raw request body, before any JSON
 * parsing) under `secret`, and its timestamp is within the tolerance. Several `v1=` entries are allowed (any may
 * match), so a sender can sign with an old and a new secret while rotating.
 */
export const verifySignature = (
  secret: string,
  header: string | null | undefined,
  body: string | Uint8Array,
  options: VerifyOptions = {}
): boolean => {
  if (header === null || header === undefined) return false
  const parts = header.split(",").map((part) => part.trim().split("="))
  const ts = parts.filter(([k]) => k === "t").map(([, v]) => v ?? "")
  const candidates = parts.filter(([k]) => k === "v1").map(([, v]) => v ?? "")
  if (ts.length !== 1 || !/^\d+$/.test(ts[0]!) || candidates.length === 0) return false
  const t = Number(ts[0])
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000)
  if (Math.abs(now - t) > (options.toleranceSeconds ?? 300)) return false
  const expected = Buffer.from(mac(secret, t, body), "hex")
  return candidates.some((candidate) => {
    const given = Buffer.from(candidate, "hex")
    // a wrong length would make timingSafeEqual throw; comparing lengths first leaks nothing the attacker lacks
    return given.length === expected.length && timingSafeEqual(given, expected)
  })
}
