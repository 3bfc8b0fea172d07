/**
 * A worker thread of the OCR benchmark's "worker threads" row: an OcrEngine of its own (its own onnxruntime
 * sessions) in a `node:worker_threads` thread, reading the pages its parent thread sends, one at a time. Not
 * something core offers: it measures what moving inference off the main thread would give, since
 * onnxruntime-node's `InferenceSession.run` runs the model synchronously on the calling thread (see ocr.ts).
 * Not meant to be run by hand.
 */
import { OcrEngine } from "@scriptorium/core"
import { Effect, Exit, Scope } from "effect"
import { parentPort, workerData } from "node:worker_threads"
import type { BoxedLine } from "./OcrMetrics.js"
import { loadRaw, type PageSpec } from "./OcrPages.js"
import { nowMs } from "./Stats.js"

/** What the parent thread sends. */
export type ToOcrWorker = { readonly type: "recognize"; readonly id: number; readonly spec: PageSpec }

/** What the worker thread answers. */
export type FromOcrWorker =
  | { readonly type: "ready"; readonly startupMs: number }
  | {
    readonly type: "done"
    readonly id: number
    /** The recognize call alone (the page read from disk before it). */
    readonly ms: number
    readonly text: string
    readonly lines: ReadonlyArray<BoxedLine>
  }
  | { readonly type: "failed"; readonly id: number; readonly message: string }

const port = parentPort
if (port === null) throw new Error("OcrWorker.js runs as a worker thread")
const config = workerData as OcrEngine.OcrEngineConfig

const started = nowMs()
const scope = Effect.runSync(Scope.make())
const engine = await Effect.runPromise(Scope.extend(OcrEngine.make(config), scope))
port.postMessage({ type: "ready", startupMs: nowMs() - started } satisfies FromOcrWorker)

port.on("message", (message: ToOcrWorker) => {
  if (message.type !== "recognize") return
  const image = loadRaw(message.spec)
  const t0 = nowMs()
  Effect.runPromise(engine.recognize(image)).then(
    (page) =>
      port.postMessage({
        type: "done",
        id: message.id,
        ms: nowMs() - t0,
        text: page.text,
        lines: page.lines.map((l) => ({ text: l.text, box: l.box, polygon: l.polygon }))
      } satisfies FromOcrWorker),
    (error: unknown) =>
      port.postMessage({ type: "failed", id: message.id, message: String(error) } satisfies FromOcrWorker)
  )
})

port.on("close", () => void Effect.runPromise(Scope.close(scope, Exit.void)))
