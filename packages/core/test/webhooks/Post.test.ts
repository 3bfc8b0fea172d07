/**
 * One webhook attempt against a real receiver that never answers: the timeout must end it even when garbage
 * collections run while it waits (Node 20's AbortSignal.any lost its timeout to a collection, and the attempt, with
 * its dispatcher slot, hung for good: the rare failure of the dispatcher's "never answers" test under a full run).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { createServer } from "node:http"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { post } from "../../src/internal/webhook/Post.js"

/** The engine's full collection, reachable without starting node with --expose-gc. */
const collectGarbage = (): (() => void) => {
  setFlagsFromString("--expose-gc")
  return runInNewContext("gc") as () => void
}

/** A receiver on a free port that reads requests and never answers them, closed with the scope. */
const silentReceiver = Effect.acquireRelease(
  Effect.async<ReturnType<typeof createServer>>((resume) => {
    const server = createServer(() => undefined)
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) =>
    Effect.promise(() =>
      new Promise<void>((done) => {
        server.closeAllConnections()
        server.close(() => done())
      })
    )
).pipe(Effect.map((server) => `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`))

describe("Webhook post", () => {
  it.live("gives up on a receiver that never answers after the timeout, even with garbage collections meanwhile", () =>
    Effect.gen(function*() {
      const url = yield* silentReceiver
      const gc = collectGarbage()
      yield* Effect.acquireRelease(Effect.sync(() => setInterval(gc, 20)), (timer) => Effect.sync(() => clearInterval(timer)))
      const started = Date.now()
      const attempts = yield* Effect.forEach([1, 2, 3, 4], () => Effect.fork(post(url, "{}", {}, 400)))
      const outcomes = yield* Effect.forEach(attempts, (fiber) =>
        Fiber.join(fiber).pipe(Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "still waiting" })))
      expect(outcomes).toEqual(Array(4).fill({ status_code: null, error: "no response within 400 ms" }))
      expect(Date.now() - started).toBeGreaterThanOrEqual(390)
    }).pipe(Effect.scoped), 15_000)

  it.live("an interrupted attempt stops at once", () =>
    Effect.gen(function*() {
      const url = yield* silentReceiver
      const fiber = yield* Effect.fork(post(url, "{}", {}, 60_000))
      yield* Effect.sleep(200)
      const started = Date.now()
      yield* Fiber.interrupt(fiber)
      expect(Date.now() - started).toBeLessThan(1_000)
    }).pipe(Effect.scoped))
})
