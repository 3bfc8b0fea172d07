/**
 * A recogniser thread (see RecThreads): the recognition model alone, reading the line strips it is sent with the
 * engine's own step (ocr/recogniser.ts), one request at a time.
 */
import { readFileSync } from "node:fs"
import { parentPort, workerData } from "node:worker_threads"
import { messageOf } from "../../internal/ErrorText.js"
import { ctcClasses } from "./ocr/ctcDecode.js"
import { loadSession, sessionOptions } from "./ocr/modelSession.js"
import { readStrip } from "./ocr/recogniser.js"
import type { RecThreadConfig, RecThreadReply, RecThreadRequest } from "./RecThreads.js"

const port = parentPort!
const config = workerData as RecThreadConfig
const reply = (message: RecThreadReply) => port.postMessage(message)

const model = Promise.all([
  loadSession(config.recModel, sessionOptions(1)),
  ctcClasses(readFileSync(config.dictionaryPath, "utf8"))
])
model.then(
  () => reply({ type: "ready" }),
  (e: unknown) => reply({ type: "loadFailed", reason: messageOf(e) })
)

// requests are read in turn: onnxruntime-node runs a model synchronously on this thread anyway
let queue: Promise<void> = Promise.resolve()
port.on("message", ({ id, strips, request }: RecThreadRequest) => {
  queue = queue.then(async () => {
    try {
      const [rec, classes] = await model
      const parts = []
      for (const strip of strips) parts.push(await readStrip(rec, classes, strip, config.settings, request))
      reply({ id, type: "done", parts })
    } catch (e) {
      reply({ id, type: "failed", reason: messageOf(e) })
    }
  })
})
