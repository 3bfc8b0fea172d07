/**
 * Job ids: UUID version 7 (RFC 9562), the time of submission in the first 48 bits, then a counter, then random bits.
 * Stores order a queue by `created_at` (milliseconds) and then by job id, so time-ordered ids make jobs submitted in
 * the same millisecond by one process run, and list, in the order they were submitted (random version-4 ids put
 * them in any order); new rows also land at the end of the key's index instead of anywhere in it.
 *
 * The counter is RFC 9562's "fixed bit-length dedicated counter" (method 1) in the 12 `rand_a` bits: it starts at a
 * random value in its lower half on each new millisecond and goes up by one for each id in that millisecond. When it
 * runs out (4096 ids in one millisecond) or the clock goes back, the last id's millisecond is carried on, so ids of
 * one process always increase.
 */
import type { JobId } from "@scriptorium/api"
import { Clock, Effect } from "effect"

const COUNTER_MAX = 0xfff

let lastMs = -1
let counter = 0

const hex = (bytes: Uint8Array, from: number, to: number) => Buffer.from(bytes.subarray(from, to)).toString("hex")

/** A version-7 UUID for the time `nowMs`, greater than every id this process made before. */
export const at = (nowMs: number): JobId => {
  if (nowMs > lastMs) {
    lastMs = nowMs
    counter = crypto.getRandomValues(new Uint16Array(1))[0]! & (COUNTER_MAX >> 1)
  } else if (counter < COUNTER_MAX) {
    counter++
  } else {
    lastMs++
    counter = 0
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  let ms = lastMs
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256
    ms = Math.floor(ms / 256)
  }
  bytes[6] = 0x70 | (counter >> 8)
  bytes[7] = counter & 0xff
  bytes[8] = 0x80 | (bytes[8]! & 0x3f)
  return `${hex(bytes, 0, 4)}-${hex(bytes, 4, 6)}-${hex(bytes, 6, 8)}-${hex(bytes, 8, 10)}-${hex(bytes, 10, 16)}` as JobId
}

/** A new job id, at the time of the Clock in context. */
export const next: Effect.Effect<JobId> = Effect.map(Clock.currentTimeMillis, at)
