/**
 * The job handler the transport and client test servers run: the real document pipeline, except for files whose
 * name asks for another course, so a test can put a job in any state on demand through the public API alone:
 * - `hold-*` reports 5 pages, checkpoints the first `heldAfter` of them, then stays processing until interrupted
 *   (cancel, delete, shutdown), ticking its counter in `holds` every `holdTickMs`, so a test can see when its work
 *   stopped;
 * - `fail-*` fails for good (no retry) with `scenarioFailure`;
 * - `slow-*` does what the `slow` option says (a late start of the pipeline, or paced pages without it); without
 *   that option it runs the pipeline like any other file.
 * The names are read in this one place so that a state means the same in every suite. `scenarioEngine` builds the
 * rest of a test server's engine around a handler: the facade and a Worker over the stores the suite chooses (an
 * adapter's, which core cannot name), with the real PDF admission check, PdfEngine and OcrEngine.
 */
import { Effect, Layer } from "effect"
import type { BlobStore } from "../BlobStore.js"
import * as DocumentHandler from "../DocumentHandler.js"
import * as OcrEngine from "../engine/OcrEngine.js"
import * as PdfAdmission from "../engine/PdfAdmission.js"
import * as PdfEngine from "../engine/PdfEngine.js"
import { type JobContext, JobFailure, type JobHandler } from "../JobHandler.js"
import type { JobStore } from "../JobStore.js"
import * as Scriptorium from "../Scriptorium.js"
import * as Worker from "../Worker.js"

/** The services the document pipeline, and so a scenario handler, needs. */
export type ScenarioServices = BlobStore | PdfEngine.PdfEngine | OcrEngine.OcrEngine

/** The error message of a `fail-*` job. */
export const scenarioFailure = "The page 1 could not be rendered."

/** The page count a `hold-*` job reports. */
export const holdPages = 5

/** How a `hold-*` job's work goes: ticks while it runs, and when it was interrupted (epoch ms). */
export interface HoldProgress {
  ticks: number
  stoppedAt: number | undefined
}

/** What a `slow-*` job does. */
export type SlowScenario =
  /** Waits `ms`, then runs the pipeline: processing with no page done for a while, then real outputs. */
  | { readonly _tag: "LateStart"; readonly ms: number }
  /** Reports `pages` pages, checkpointing one every `pageMs`, without the pipeline: steady progress, no outputs. */
  | { readonly _tag: "PacedPages"; readonly pages: number; readonly pageMs: number }

/** A suite's choices for the scenarios. */
export interface ScenarioOptions {
  /** Pages a `hold-*` job checkpoints before it holds; default 1. */
  readonly heldAfter?: number
  /** How often a `hold-*` job ticks; default 20 ms. */
  readonly holdTickMs?: number
  /** What a `slow-*` job does; without it, `slow-*` is an ordinary file. */
  readonly slow?: SlowScenario
}

/** A scenario handler, and the progress of its `hold-*` jobs by job id. */
export interface ScenarioHandler {
  readonly handler: JobHandler<ScenarioServices>
  readonly holds: ReadonlyMap<string, HoldProgress>
}

/** A scenario handler with the suite's options (see the module comment for the file names). */
export const makeScenarioHandler = (options: ScenarioOptions = {}): ScenarioHandler => {
  const holds = new Map<string, HoldProgress>()
  const handler: JobHandler<ScenarioServices> = (context) => {
    const name = context.job.filename
    if (name.startsWith("hold-")) return hold(context, options, holds)
    if (name.startsWith("fail-")) return Effect.fail(new JobFailure({ message: scenarioFailure, retryable: false }))
    if (name.startsWith("slow-") && options.slow !== undefined) return slow(context, options.slow)
    return DocumentHandler.handler(context)
  }
  return { handler, holds }
}

const hold = (context: JobContext, options: ScenarioOptions, holds: Map<string, HoldProgress>) =>
  Effect.gen(function*() {
    yield* context.setTotalPages(holdPages)
    for (let page = 0; page < (options.heldAfter ?? 1); page++) yield* context.checkpoint(page)
    const progress: HoldProgress = { ticks: 0, stoppedAt: undefined }
    holds.set(context.job.job_id, progress)
    return yield* Effect.sync(() => progress.ticks++).pipe(
      Effect.zipRight(Effect.sleep(options.holdTickMs ?? 20)),
      Effect.forever,
      Effect.onInterrupt(() => Effect.sync(() => progress.stoppedAt = Date.now()))
    )
  })

const slow = (context: JobContext, scenario: SlowScenario) =>
  scenario._tag === "LateStart"
    ? Effect.zipRight(Effect.sleep(scenario.ms), DocumentHandler.handler(context))
    : Effect.gen(function*() {
      yield* context.setTotalPages(scenario.pages)
      for (let page = 0; page < scenario.pages; page++) {
        yield* Effect.sleep(scenario.pageMs)
        yield* context.checkpoint(page)
      }
    })

/** The Worker settings of the test servers: two jobs at once, quick to notice work and to shut down. */
export const scenarioWorker: Worker.WorkerConfig = { concurrency: 2, pollMs: 50, leaseMs: 5_000, shutdownGraceMs: 200 }

/**
 * The facade and a Worker running `handler` (settings: `scenarioWorker` overridden by `worker`) over `stores`, with
 * the real PDF admission check, PdfEngine and OcrEngine; every service stays available to the suite.
 */
export const scenarioEngine = <E, R>(
  stores: Layer.Layer<JobStore | BlobStore, E, R>,
  handler: JobHandler<ScenarioServices>,
  worker: Worker.WorkerConfig = {}
) =>
  Layer.provideMerge(
    Layer.merge(Scriptorium.layer, Worker.layer(handler, { ...scenarioWorker, ...worker })),
    Layer.mergeAll(stores, PdfAdmission.layer(), OcrEngine.layer()).pipe(Layer.provideMerge(PdfEngine.layer()))
  )
