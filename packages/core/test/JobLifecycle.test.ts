/**
 * The state machine without a database: the rules every store inherits.
 */
import { describe, expect, it } from "@effect/vitest"
import type { JobId } from "@scriptorium/api"
import { JobLifecycle, type Lease, retryDelay } from "@scriptorium/core"
import { Either } from "effect"

const policy = { max_attempts: 3, base_delay_ms: 1_000, max_delay_ms: 5_000 }
const lease: Lease = { job_id: "j" as JobId, token: "t1", worker_id: "w" }

const running = (attempts = 1): JobLifecycle.JobRecord => ({
  ...JobLifecycle.created({
    job_id: "j" as JobId,
    filename: "a.pdf",
    total_pages: 0,
    options: {},
    priority: 0,
    max_attempts: 3,
    idempotency_key: null,
    fingerprint: null,
    now: 0
  }),
  status: "processing",
  attempts,
  lease_token: "t1",
  lease_worker: "w",
  lease_expires_at: 30_000
})

const right = <A, E>(e: Either.Either<A, E>): A => {
  if (Either.isLeft(e)) throw new Error(`expected Right, got ${String(e.left)}`)
  return e.right
}

describe("JobLifecycle", () => {
  it("backs off exponentially and caps the delay", () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelay(policy, n))).toEqual([1_000, 2_000, 4_000, 5_000, 5_000])
  })

  it("a retryable failure goes back to pending after the backoff, keeping the error; the last attempt fails", () => {
    const retried = right(JobLifecycle.fail(running(2), lease, "boom", true, policy, 10_000))
    expect(retried.event).toBe("retrying")
    expect(retried.record.status).toBe("pending")
    expect(retried.record.run_at).toBe(12_000)
    expect(retried.record.error_message).toBe("boom")
    expect(retried.record.lease_token).toBeNull()
    const final = right(JobLifecycle.fail(running(3), lease, "boom", true, policy, 10_000))
    expect(final.event).toBe("failed")
    expect(final.record.status).toBe("failed")
    expect(final.record.completed_at).toBe(10_000)
  })

  it("every write bumps the version, so a store's compare-and-set sees it", () => {
    const r = running()
    expect(right(JobLifecycle.checkpointed(r, lease, 1, 5)).record.version).toBe(r.version + 1)
    expect(JobLifecycle.heartbeat(r, lease, 5, 1_000).record?.version).toBe(r.version + 1)
  })

  it("a stale lease is refused by every lease-guarded change", () => {
    const stale = { ...lease, token: "old" }
    for (const attempt of [
      JobLifecycle.complete(running(), stale, 1),
      JobLifecycle.fail(running(), stale, "x", true, policy, 1),
      JobLifecycle.release(running(), stale, 1),
      JobLifecycle.checkpointed(running(), stale, 1, 1),
      JobLifecycle.setTotalPages(running(), stale, 1, 1)
    ]) {
      expect(Either.isLeft(attempt) && attempt.left._tag).toBe("LeaseLost")
    }
    expect(JobLifecycle.heartbeat(running(), stale, 1, 1_000).result).toBe("lost")
  })

  it("lease expiry counts the attempt, and fails the job on its last one", () => {
    expect(JobLifecycle.leaseExpired(running(), 29_999)).toBe(false)
    expect(JobLifecycle.leaseExpired(running(), 30_001)).toBe(true)
    const again = right(JobLifecycle.expire(running(1), policy, 30_001))
    expect(again.event).toBe("expired")
    expect(again.record.status).toBe("pending")
    expect(again.record.run_at).toBe(30_001)
    const dead = right(JobLifecycle.expire(running(3), policy, 30_001))
    expect(dead.event).toBe("failed")
    expect(dead.record.error_message).toContain("stopped responding (attempt 3 of 3)")
  })

  it("release gives the attempt back; cancel ends a running job and clears its lease", () => {
    expect(right(JobLifecycle.release(running(2), lease, 1)).record.attempts).toBe(1)
    const cancelled = right(JobLifecycle.cancel(running(), 7))
    expect(cancelled.record.status).toBe("cancelled")
    expect(cancelled.record.lease_token).toBeNull()
    expect(Either.isLeft(JobLifecycle.cancel(cancelled.record, 8))).toBe(true)
  })
})
