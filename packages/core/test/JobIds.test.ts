import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { JobIds } from "../src/index.js"

const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** The millisecond a version-7 UUID carries in its first 48 bits. */
const msOf = (id: string) => parseInt(id.replace(/-/g, "").slice(0, 12), 16)

const strictlyIncreasing = (ids: ReadonlyArray<string>) => ids.every((id, i) => i === 0 || ids[i - 1]! < id)

describe("JobIds", () => {
  it("makes version-7 UUIDs that carry their millisecond", () => {
    const now = Date.UTC(2026, 11, 6, 23, 40)
    const id = JobIds.at(now + 10_000)
    expect(id).toMatch(v7)
    expect(msOf(id)).toBe(now + 10_000)
  })

  it("keeps ids made in one millisecond in the order they were made, past the counter's 4096", () => {
    const now = Date.UTC(2027, 0, 1)
    const ids = Array.from({ length: 10_000 }, () => JobIds.at(now))
    expect(ids.every((id) => v7.test(id))).toBe(true)
    expect(strictlyIncreasing(ids)).toBe(true)
    // the counter starts in its lower half, so at least 2048 ids fit in the millisecond before it carries on
    expect(ids.slice(0, 2048).every((id) => msOf(id) === now)).toBe(true)
    expect(msOf(ids.at(-1)!)).toBeGreaterThan(now)
  })

  it("never goes back when the clock does", () => {
    const now = Date.UTC(2027, 1, 1)
    const ids = [JobIds.at(now), JobIds.at(now - 60_000), JobIds.at(now - 1), JobIds.at(now + 1)]
    expect(strictlyIncreasing(ids)).toBe(true)
    expect(msOf(ids[3]!)).toBe(now + 1)
  })

  it.effect("takes its time from the Clock in context", () =>
    Effect.gen(function*() {
      const at = Date.UTC(2030, 0, 1)
      yield* TestClock.setTime(at)
      expect(msOf(yield* JobIds.next)).toBe(at)
    }))
})
