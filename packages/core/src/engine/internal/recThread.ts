/**
 * A recogniser thread (see RecThreads): the recognition model alone, taking the strips of the pages it is offered,
 * oldest page first, one at a time by the page's shared counter, and reading each with the engine's own step
 * (ocr/recogniser.ts).
 */
import { readFileSync } from "node:fs"
import { parentPort, workerData } from "node:worker_threads"
import { messageOf } from "../../internal/ErrorText.js"
import { ctcClasses } from "./ocr/ctcDecode.js"
import { loadSession, sessionOptions } from "./ocr/modelSession.js"
import { readStrip } from "./ocr/recogniser.js"
import { type RecThreadConfig, type RecThreadReply, type RecThreadRequest, type SharedPage, take } from "./RecThreads.js"

const port = parentPort!
const config = workerData as RecThreadConfig
const reply = (message: RecThreadReply) => port.postMessage(message)

const model = Promise.all([
  loadSession(config.recModel, sessionOptions(1)),
  ctcClasses(readFileSync(config.dictionaryPath, "utf8"))
])

/** The pages offered, oldest first; a page leaves once its last strip has been taken. */
const pages: Array<SharedPage> = []
let reading = false

/** Reads strips while any page has one left; a model run blocks this thread, and offers arrive between strips. */
const work = async () => {
  const loaded = await model.catch(() => undefined)
  if (reading || loaded === undefined) return
  reading = true
  const [rec, classes] = loaded
  while (pages.length > 0) {
    const page = pages[0]!
    const index = take(page)
    if (index === undefined) {
      pages.shift()
      continue
    }
    try {
      const parts = await readStrip(rec, classes, page.strips[index]!, config.settings, page.request)
      reply({ type: "read", page: page.id, index, parts })
    } catch (e) {
      reply({ type: "failed", page: page.id, index, reason: messageOf(e) })
    }
  }
  reading = false
}

model.then(
  () => {
    reply({ type: "ready" })
    void work()
  },
  (e: unknown) => reply({ type: "loadFailed", reason: messageOf(e) })
)

port.on("message", ({ page }: RecThreadRequest) => {
  pages.push(page)
  void work()
})
