/**
 * The OCR thread: one OcrEngine (its own onnxruntime sessions) in a worker thread, answering `recognize` and
 * `recognizeLine` requests one at a time. onnxruntime-node runs a model synchronously on the thread that calls it
 * (0.1 to 0.7 s for a page's detection, 10 to 80 ms per line), so in the main thread OCR would stall every request
 * and heartbeat for that long; here it stalls only this thread. See OcrThreads for the main side.
 */
import { Cause, Effect, Exit, Option, Scope } from "effect"
import { parentPort, workerData } from "node:worker_threads"
import * as OcrEngine from "../OcrEngine.js"
import type { OcrThreadError, OcrThreadReply, OcrThreadRequest } from "./OcrThreadProtocol.js"

const port = parentPort!
const scope = Effect.runSync(Scope.make())
const engine = Effect.runPromiseExit(Scope.extend(OcrEngine.make(workerData as OcrEngine.OcrEngineConfig), scope))
// the main side stops this thread only once its models are loaded: onnxruntime aborts the whole process when a thread
// is torn down while it creates a session
void engine.then(() => port.postMessage({ type: "ready" }))

const reply = (message: OcrThreadReply, transfer: Array<ArrayBuffer> = []) => port.postMessage(message, transfer)

port.on("message", (request: OcrThreadRequest) => {
  void engine.then(async (built) => {
    if (Exit.isFailure(built)) {
      return reply({ id: request.id, type: "failed", error: errorOf(built.cause) })
    }
    const run = request.type === "page"
      ? built.value.recognize(request.image, request.options)
      : built.value.recognizeLine(request.image, request.options)
    const exit = await Effect.runPromiseExit(
      run as Effect.Effect<OcrEngine.OcrPage | OcrEngine.OcrLineText, OcrEngine.OcrError>
    )
    reply(
      Exit.isSuccess(exit)
        ? { id: request.id, type: "done", value: exit.value }
        : { id: request.id, type: "failed", error: errorOf(exit.cause) }
    )
  })
})

/** The typed error of a failure, as its fields (they cross the thread boundary; the main side rebuilds the class). */
const errorOf = (cause: Cause.Cause<unknown>): OcrThreadError => {
  const failure = Option.getOrUndefined(Cause.failureOption(cause))
  if (failure instanceof OcrEngine.InvalidImage) return { _tag: "InvalidImage", reason: failure.reason }
  if (failure instanceof OcrEngine.OcrRuntimeError) {
    return { _tag: "OcrRuntimeError", stage: failure.stage, reason: failure.reason }
  }
  return { _tag: "OcrRuntimeError", stage: "running OCR in its thread", reason: Cause.pretty(cause).split("\n")[0]! }
}
