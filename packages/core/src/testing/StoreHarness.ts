/**
 * What an adapter hands the conformance suites: how to get a fresh database, how to open a store on it (several
 * times, as several processes would), and a worker script that child processes run against it.
 */
import type { Layer } from "effect"
import { Effect } from "effect"
import type { RetryPolicy } from "../JobLifecycle.js"
import type { JobStore } from "../JobStore.js"

/** An adapter's way in for the conformance suites. */
export interface StoreHarness {
  /** A fresh, empty database, named so that a child process can open it (a file path, a URL). */
  readonly freshDatabase: () => Promise<string>
  /** A store on that database; called several times it gives several independent clients of one database. */
  readonly layer: (database: string, options: { readonly retry?: RetryPolicy }) => Layer.Layer<JobStore, unknown>
  /** A built JavaScript file that calls `runTestWorkerProcess` with this adapter's layer. */
  readonly workerScript: string
}

/** A retry policy fast enough for tests: three attempts, 100 ms then 200 ms apart. */
export const fastRetry: RetryPolicy = { max_attempts: 3, base_delay_ms: 100, max_delay_ms: 1_000 }

/** Runs `body` against a store on a fresh database. */
export const withFreshStore = <A, E, R>(
  harness: StoreHarness,
  body: (database: string) => Effect.Effect<A, E, R>,
  options: { readonly retry?: RetryPolicy } = { retry: fastRetry }
): Effect.Effect<A, unknown, Exclude<R, JobStore>> =>
  Effect.gen(function*() {
    const database = yield* Effect.promise(() => harness.freshDatabase())
    return yield* Effect.provide(body(database), harness.layer(database, options))
  }) as Effect.Effect<A, unknown, Exclude<R, JobStore>>
