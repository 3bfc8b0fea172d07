/**
 * The OCR engine in worker threads: the same text as the in-process engine on a real receipt, typed errors across
 * the thread boundary, three pages read at once on two threads (one of them reading two), and the event loop free
 * while pages are read.
 */
import { describe, expect, it } from "@effect/vitest"
import { ImageInput, OcrEngine, OcrThreads } from "@scriptorium/core"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const receipt = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../../../shared/corpus/sroie-dev/${name}`, import.meta.url)))

describe("OcrThreads", () => {
  it.scoped("reads a receipt as the in-process engine does, without holding the event loop", () =>
    Effect.gen(function*() {
      const image = yield* ImageInput.decodePage(receipt("sroie_000.jpg"), "sroie_000.jpg", 0)
      const inProcess = yield* OcrEngine.make()
      const expected = yield* inProcess.recognize(image)

      // each thread reads its pages' lines on a second thread of its own (lineThreads), up to two pages at once (as
      // the server's does): still the same text
      const threaded = yield* OcrThreads.make({ threads: 2, lineThreads: 2, maxConcurrentPages: 2 })
      // the longest pause of the event loop while two pages are read in the threads
      let last = performance.now()
      let longest = 0
      const timer = setInterval(() => {
        const now = performance.now()
        longest = Math.max(longest, now - last)
        last = now
      }, 10)
      const second = yield* ImageInput.decodePage(receipt("sroie_032.jpg"), "sroie_032.jpg", 0)
      const [page, other, again] = yield* Effect.all(
        [threaded.recognize(image), threaded.recognize(second), threaded.recognize(image)],
        { concurrency: 3 }
      )
      clearInterval(timer)
      for (const read of [page, again]) {
        expect(read.text).toBe(expected.text)
        expect(read.lines.map((l) => l.box)).toEqual(expected.lines.map((l) => l.box))
      }
      expect(other.lines.length).toBeGreaterThan(10)
      // the in-process engine holds the loop for a whole detection (hundreds of ms); the threads never do
      expect(longest).toBeLessThan(150)
      // the caller keeps its pixels: the image was copied, not moved
      expect(image.data.length).toBe(image.width * image.height * image.channels)
    }), 120_000)

  it.scoped("typed errors cross the thread: a bad image, and a model that cannot load", () =>
    Effect.gen(function*() {
      const threaded = yield* OcrThreads.make()
      const bad = yield* Effect.flip(threaded.recognize({ width: 10, height: 10, channels: 3, data: new Uint8Array(5) }))
      expect(bad._tag).toBe("InvalidImage")
      expect(bad.message).toContain("300")
      const broken = yield* OcrThreads.make({ detModelPath: "/nonexistent/det.onnx" })
      const error = yield* Effect.flip(broken.recognizeLine({ width: 4, height: 4, channels: 3, data: new Uint8Array(48) }))
      expect(error._tag).toBe("OcrRuntimeError")
      expect(error.message).toContain("loading the detection model")
    }), 60_000)
})
