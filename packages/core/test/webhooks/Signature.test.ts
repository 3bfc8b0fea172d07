/**
 * The pure parts of webhooks: the signature a receiver checks, the retry schedule, and which URLs are delivered to.
 */
import { describe, expect, it } from "@effect/vitest"
import { Webhooks } from "@scriptorium/core"
import { createHmac } from "node:crypto"
import { Either } from "effect"

const body = JSON.stringify({ job_id: "j1", status: "completed" })

describe("Webhooks.verifySignature", () => {
  const t = 1_800_000_000

  it("accepts the header sign makes, computed as documented: HMAC-SHA256 over '<t>.<body>' in hex", () => {
    const header = Webhooks.sign("s3cret", body, t)
    const expected = createHmac("sha256", "s3cret").update(`${t}.${body}`).digest("hex")
    expect(header).toBe(`t=${t},v1=${expected}`)
    expect(Webhooks.verifySignature("s3cret", header, body, { nowSeconds: t + 10 })).toBe(true)
    expect(Webhooks.verifySignature("s3cret", header, new TextEncoder().encode(body), { nowSeconds: t })).toBe(true)
  })

  it("refuses another secret, another body, an old or future timestamp, and a forged t", () => {
    const header = Webhooks.sign("s3cret", body, t)
    expect(Webhooks.verifySignature("other", header, body, { nowSeconds: t })).toBe(false)
    expect(Webhooks.verifySignature("s3cret", header, body + " ", { nowSeconds: t })).toBe(false)
    expect(Webhooks.verifySignature("s3cret", header, body, { nowSeconds: t + 301 })).toBe(false)
    expect(Webhooks.verifySignature("s3cret", header, body, { nowSeconds: t - 301 })).toBe(false)
    expect(Webhooks.verifySignature("s3cret", header, body, { nowSeconds: t + 3_000, toleranceSeconds: 3_600 })).toBe(true)
    // replaying the old MAC with a fresh timestamp does not verify: t is inside the MAC
    const replayed = header.replace(`t=${t}`, `t=${t + 1_000}`)
    expect(Webhooks.verifySignature("s3cret", replayed, body, { nowSeconds: t + 1_000 })).toBe(false)
  })

  it("refuses missing and malformed headers without throwing", () => {
    for (const header of [undefined, null, "", "v1=abc", `t=${t}`, `t=abc,v1=00`, `t=${t},v1=zz`, `t=${t},t=${t},v1=00`]) {
      expect(Webhooks.verifySignature("s3cret", header, body, { nowSeconds: t })).toBe(false)
    }
  })

  it("accepts any of several v1 entries, so a secret can be rotated", () => {
    const [, newMac] = Webhooks.sign("new", body, t).split(",")
    const [, oldMac] = Webhooks.sign("old", body, t).split(",")
    const header = `t=${t},${oldMac},${newMac}`
    expect(Webhooks.verifySignature("new", header, body, { nowSeconds: t })).toBe(true)
    expect(Webhooks.verifySignature("old", header, body, { nowSeconds: t })).toBe(true)
    expect(Webhooks.verifySignature("neither", header, body, { nowSeconds: t })).toBe(false)
  })
})

describe("Webhooks retry schedule", () => {
  const policy = { baseDelayMs: 1_000, maxDelayMs: 60 * 60_000, maxAttempts: 8 }

  it("doubles from the base delay and stops growing at the cap", () => {
    expect([1, 2, 3, 4].map((n) => Webhooks.delayAfter(policy, n))).toEqual([1_000, 2_000, 4_000, 8_000])
    expect(Webhooks.delayAfter(policy, 20)).toBe(60 * 60_000)
  })

  it("a 2xx is delivered; anything else is retried until the last attempt, then failed", () => {
    expect(Webhooks.nextAfter(policy, 1, 204, 0)).toEqual({ state: "delivered" })
    expect(Webhooks.nextAfter(policy, 1, 500, 10)).toEqual({ state: "delivering", next_attempt_at: 1_010 })
    expect(Webhooks.nextAfter(policy, 3, null, 0)).toEqual({ state: "delivering", next_attempt_at: 4_000 })
    expect(Webhooks.nextAfter(policy, 2, 301, 0)).toEqual({ state: "delivering", next_attempt_at: 2_000 })
    expect(Webhooks.nextAfter(policy, 8, 500, 0)).toEqual({ state: "failed" })
    expect(Webhooks.nextAfter(policy, 8, 200, 0)).toEqual({ state: "delivered" })
  })
})

describe("Webhooks.checkUrl", () => {
  it("accepts http(s) URLs, and refuses other schemes, credentials and garbage as InvalidParameter", () => {
    expect(Webhooks.checkUrl("https://hooks.example.com/x")).toEqual(Either.right("https://hooks.example.com/x"))
    for (const url of ["ftp://example.com/", "file:///etc/passwd", "https://user:pw@example.com/", "not a url"]) {
      const result = Webhooks.checkUrl(url)
      expect(Either.isLeft(result), url).toBe(true)
      if (Either.isLeft(result)) {
        expect(result.left._tag).toBe("InvalidParameter")
        expect(result.left.name).toBe("webhook_url")
      }
    }
  })

  it("with an allow-list, accepts only its hosts (a bare host allows any port; host:port only that port)", () => {
    const allowed = ["hooks.example.com", "127.0.0.1:8080"]
    expect(Either.isRight(Webhooks.checkUrl("https://hooks.example.com/a", allowed))).toBe(true)
    expect(Either.isRight(Webhooks.checkUrl("http://HOOKS.example.com:9000/a", allowed))).toBe(true)
    expect(Either.isRight(Webhooks.checkUrl("http://127.0.0.1:8080/a", allowed))).toBe(true)
    const refused = Webhooks.checkUrl("http://127.0.0.1:8081/a", allowed)
    expect(Either.isLeft(refused) && refused.left.message).toContain("not on the webhook allow-list")
    expect(Either.isLeft(Webhooks.checkUrl("http://169.254.169.254/latest", allowed))).toBe(true)
  })
})
