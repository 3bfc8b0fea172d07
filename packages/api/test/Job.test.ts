import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { canTransition, IllegalTransition, isTerminal, transition } from "@scriptorium/api"

describe("Job transitions", () => {
  it("allows the lifecycle a worker walks", () => {
    expect(canTransition("pending", "processing")).toBe(true)
    expect(canTransition("processing", "completed")).toBe(true)
    expect(canTransition("processing", "pending")).toBe(true)
    expect(canTransition("processing", "failed")).toBe(true)
    expect(canTransition("pending", "cancelled")).toBe(true)
    expect(canTransition("processing", "cancelled")).toBe(true)
  })

  it("refuses to leave a terminal status, with a typed error naming both ends", () => {
    for (const from of ["completed", "failed", "cancelled"] as const) {
      expect(isTerminal(from)).toBe(true)
      for (const to of ["pending", "processing", "completed", "failed", "cancelled"] as const) {
        const result = transition("j1", from, to)
        expect(Either.isLeft(result)).toBe(true)
        const error = Either.getLeft(result).pipe((o) => o._tag === "Some" ? o.value : undefined)
        expect(error).toBeInstanceOf(IllegalTransition)
        expect(error?.message).toContain(`is ${from} and cannot become ${to}`)
      }
    }
  })

  it("refuses to skip processing", () => {
    expect(canTransition("pending", "completed")).toBe(false)
    expect(canTransition("pending", "failed")).toBe(false)
  })
})
