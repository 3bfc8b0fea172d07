/**
 * OcrEngine with the real PP-OCRv4 models: recognition accuracy on real scanned lines (uw3-lines), detection and
 * recognition on real receipts (sroie-dev), word-space recovery measured with and without, and bad inputs (empty,
 * huge, corrupt, CMYK, 16-bit, blank pages) each giving a typed error or a sensible result.
 *
 * Bounds are set a little above what was measured on this machine (uw3 CER 1.05%, sroie CER 4.5%), so a regression
 * in preprocessing, post-processing or decoding fails the test while run-to-run noise does not.
 */
import { describe, expect, it } from "@effect/vitest"
import { ImageInput, OcrEngine } from "@scriptorium/core"
import { Effect, Either } from "effect"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { crc32 } from "node:zlib"
import sharp from "sharp"
import { distance } from "./ocr/cer.js"

const corpus = fileURLToPath(new URL("../../../../shared/corpus/", import.meta.url))
const uw3 = `${corpus}uw3-lines/`
const sroie = `${corpus}sroie-dev/`
const haveUw3 = existsSync(uw3)
const haveSroie = existsSync(sroie)
if (!haveUw3) console.warn(`OcrEngine tests: ${uw3} is absent; the uw3-lines tests are skipped`)
if (!haveSroie) console.warn(`OcrEngine tests: ${sroie} is absent; the sroie-dev tests are skipped`)

/** How many of the reference's spaces are aligned to spaces of the hypothesis (edit-distance alignment). */
const spacesMatched = (hyp: string, ref: string): number => {
  const m = hyp.length
  const n = ref.length
  const d = Array.from({ length: m + 1 }, (_, i) => {
    const row = new Int32Array(n + 1)
    row[0] = i
    return row
  })
  for (let j = 0; j <= n; j++) d[0]![j] = j
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (hyp[i - 1] === ref[j - 1] ? 0 : 1))
    }
  }
  let i = m
  let j = n
  let hits = 0
  while (i > 0 && j > 0) {
    if (d[i]![j] === d[i - 1]![j - 1]! + (hyp[i - 1] === ref[j - 1] ? 0 : 1)) {
      if (hyp[i - 1] === " " && ref[j - 1] === " ") hits++
      i--
      j--
    } else if (d[i]![j] === d[i - 1]![j]! + 1) i--
    else j--
  }
  return hits
}

const norm = (s: string) => s.replace(/\s+/g, " ").trim()
const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const spaces = (s: string) => (s.match(/ /g) ?? []).length

const engine = OcrEngine.layer()
const decode = (bytes: Uint8Array) => ImageInput.decodePage(bytes, "image", 0)
const file = (path: string) => new Uint8Array(readFileSync(path))
const uw3Lines = haveUw3 ? readdirSync(uw3).filter((f) => f.endsWith(".bin.png")).sort() : []
const gtOf = (line: string) => norm(readFileSync(`${uw3}${line.replace(".bin.png", ".gt.txt")}`, "utf8"))

/** A solid page. */
const solid = (width: number, height: number, value: number): OcrEngine.RawImage => ({
  data: new Uint8Array(width * height * 3).fill(value),
  width,
  height,
  channels: 3
})

describe("OcrEngine", () => {
  it.layer(engine, { timeout: 180_000 })((it) => {
    it.effect.skipIf(!haveUw3)("reads the 50 uw3 lines with CER below 2%, spaces included", () =>
      Effect.gen(function*() {
        const ocr = yield* OcrEngine.OcrEngine
        let errors = 0
        let errorsPlain = 0
        let length = 0
        let refSpaces = 0
        let found = 0
        let foundPlain = 0
        const ms: Array<number> = []
        for (const line of uw3Lines) {
          const image = yield* decode(file(`${uw3}${line}`))
          const gt = gtOf(line)
          const t0 = performance.now()
          const read = yield* ocr.recognizeLine(image)
          ms.push(performance.now() - t0)
          const plain = yield* ocr.recognizeLine(image, { wordSpaces: false })
          errors += distance(norm(read.text), gt)
          errorsPlain += distance(norm(plain.text), gt)
          length += gt.length
          refSpaces += spaces(gt)
          found += spacesMatched(norm(read.text), gt)
          foundPlain += spacesMatched(norm(plain.text), gt)
          expect(read.confidence).toBeGreaterThan(0.5)
        }
        const cer = errors / length
        console.log(
          `uw3-lines: ${uw3Lines.length} lines, CER ${(cer * 100).toFixed(2)}% (without space recovery ` +
            `${((errorsPlain / length) * 100).toFixed(2)}%); spaces recovered ${found}/${refSpaces} (without ` +
            `${foundPlain}/${refSpaces}); median ${median(ms).toFixed(0)} ms per line`
        )
        expect(uw3Lines.length).toBe(50)
        // measured 1.05% (13 of 1,241 characters, mostly l/1 and punctuation); the recogniser reads these spaces
        // itself, so recovery must not add errors
        expect(cer).toBeLessThan(0.02)
        expect(errors).toBeLessThanOrEqual(errorsPlain + 2)
      }))

    it.effect.skipIf(!haveSroie)("reads the 20 sroie receipts with CER below 6%, recovering dropped spaces", () =>
      Effect.gen(function*() {
        const ocr = yield* OcrEngine.OcrEngine
        const receipts = readdirSync(sroie).filter((f) => f.endsWith(".jpg")).sort()
        let errors = 0
        let errorsPlain = 0
        let length = 0
        let refSpaces = 0
        let found = 0
        let foundPlain = 0
        let predicted = 0
        const ms: Array<number> = []
        for (const name of receipts) {
          const image = yield* decode(file(`${sroie}${name}`))
          const truth = readFileSync(`${sroie}${name.replace(".jpg", ".txt")}`, "utf8")
          const gt = norm(truth).toLowerCase()
          const t0 = performance.now()
          const page = yield* ocr.recognize(image)
          ms.push(performance.now() - t0)
          const plain = yield* ocr.recognize(image, { wordSpaces: false })
          const text = norm(page.text).toLowerCase()
          const textPlain = norm(plain.text).toLowerCase()
          errors += distance(text, gt)
          errorsPlain += distance(textPlain, gt)
          length += gt.length
          // spaces inside lines only: row breaks are newlines on both sides
          const inside = (s: string) => s.split("\n").map(norm).join("\n").toLowerCase()
          refSpaces += spaces(inside(truth))
          predicted += spaces(inside(page.text))
          found += spacesMatched(inside(page.text), inside(truth))
          foundPlain += spacesMatched(inside(plain.text), inside(truth))
          expect(page.lines.length).toBeGreaterThan(10)
          for (const line of page.lines) {
            expect(line.box[0]).toBeGreaterThanOrEqual(0)
            expect(line.box[2]).toBeLessThanOrEqual(image.width)
            expect(line.box[3]).toBeLessThanOrEqual(image.height)
            expect(line.polygon).toHaveLength(4)
          }
        }
        const cer = errors / length
        console.log(
          `sroie-dev: ${receipts.length} receipts, CER ${(cer * 100).toFixed(2)}% (without space recovery ` +
            `${((errorsPlain / length) * 100).toFixed(2)}%); spaces recovered ${found}/${refSpaces} with ` +
            `${predicted} predicted (without recovery ${foundPlain}/${refSpaces}); median ` +
            `${median(ms).toFixed(0)} ms per receipt`
        )
        expect(receipts.length).toBe(20)
        // measured 4.5% (case-insensitive, whitespace-normalised, page text in reading order against the
        // ground truth's lines); the rest is mostly row order on skewed receipts and O/0, l/1 confusions
        expect(cer).toBeLessThan(0.06)
        expect(cer).toBeLessThan(errorsPlain / length)
        expect(found).toBeGreaterThan(foundPlain * 1.15)
      }))

    it.effect.skipIf(!haveSroie)("gives lines in reading order with boxes around their text", () =>
      Effect.gen(function*() {
        const ocr = yield* OcrEngine.OcrEngine
        const page = yield* ocr.recognize(yield* decode(file(`${sroie}sroie_224.jpg`)))
        const rows = page.lines.map((l) => l.row)
        expect(rows).toEqual([...rows].sort((a, b) => a - b))
        for (let i = 1; i < page.lines.length; i++) {
          const [a, b] = [page.lines[i - 1]!, page.lines[i]!]
          if (a.row === b.row) expect(a.box[0]).toBeLessThan(b.box[0])
          else expect((a.box[1] + a.box[3]) / 2).toBeLessThan((b.box[1] + b.box[3]) / 2)
        }
        expect(page.text.split("\n")).toHaveLength(new Set(rows).size)
      }))

    it.effect("refuses a zero-size image: an empty file, and a raw image with no pixels", () =>
      Effect.gen(function*() {
        const ocr = yield* OcrEngine.OcrEngine
        const raw = yield* Effect.flip(ocr.recognize({ data: new Uint8Array(0), width: 0, height: 10, channels: 3 }))
        expect(raw._tag).toBe("InvalidImage")
        expect(raw.message).toContain("0 x 10")
        const file = yield* Effect.flip(decode(new Uint8Array(0)))
        expect(file._tag).toBe("EmptyFile")
      }))

    it.effect("refuses a 20000 x 20000 image before allocating its pixels", () =>
      Effect.gen(function*() {
        const ocr = yield* OcrEngine.OcrEngine
        const raw = yield* Effect.flip(
          ocr.recognize({ data: new Uint8Array(3), width: 20_000, height: 20_000, channels: 3 })
        )
        expect(raw._tag).toBe("InvalidImage")
        // a real PNG whose header says 20000 x 20000 (the pixel data would need 1.2 GB)
        const png = new Uint8Array(yield* Effect.promise(() =>
          sharp({ create: { width: 16, height: 16, channels: 3, background: "#fff" } }).png().toBuffer()
        ))
        const view = new DataView(png.buffer, png.byteOffset)
        view.setUint32(16, 20_000)
        view.setUint32(20, 20_000)
        view.setUint32(29, crc32(png.subarray(12, 29)))
        const error = yield* Effect.flip(decode(png))
        expect(error._tag).toBe("ImageTooLarge")
        expect(error.message).toContain("20000 x 20000")
      }))

    it.effect("refuses a corrupt or truncated JPEG and a raw buffer of the wrong size with typed errors", () =>
      Effect.gen(function*() {
        const ocr = yield* OcrEngine.OcrEngine
        const jpeg = new Uint8Array(yield* Effect.promise(() =>
          sharp({ create: { width: 400, height: 300, channels: 3, background: "#888" } })
            .jpeg()
            .toBuffer()
        ))
        const truncated = yield* Effect.flip(decode(jpeg.subarray(0, Math.floor(jpeg.length / 2))))
        expect(truncated._tag).toBe("ImageUnreadable")
        const garbage = jpeg.slice()
        garbage.fill(7, 20)
        const corrupt = yield* Effect.flip(decode(garbage))
        expect(corrupt._tag).toBe("ImageUnreadable")
        const noise = yield* Effect.flip(decode(new TextEncoder().encode("this is not an image at all")))
        expect(noise._tag).toBe("ImageUnreadable")
        const short = yield* Effect.flip(ocr.recognize({ data: new Uint8Array(10), width: 10, height: 10, channels: 3 }))
        expect(short._tag).toBe("InvalidImage")
      }))

    it.effect.skipIf(!haveUw3)("reads CMYK JPEG, 16-bit PNG and RGBA inputs like the RGB original", () =>
      Effect.gen(function*() {
        const ocr = yield* OcrEngine.OcrEngine
        const line = uw3Lines[0]!
        const original = file(`${uw3}${line}`)
        const gt = gtOf(line)
        const cmyk = yield* Effect.promise(() => sharp(original).toColourspace("cmyk").jpeg({ quality: 95 }).toBuffer())
        const deep = yield* Effect.promise(() => sharp(original).toColourspace("rgb16").png().toBuffer())
        const rgba = yield* Effect.promise(() => sharp(original).ensureAlpha().raw().toBuffer({ resolveWithObject: true }))
        expect((yield* Effect.promise(() => sharp(cmyk).metadata())).space).toBe("cmyk")
        expect((yield* Effect.promise(() => sharp(deep).metadata())).depth).toBe("ushort")
        for (const bytes of [cmyk, deep]) {
          const image = yield* decode(new Uint8Array(bytes))
          expect(image.channels).toBe(3)
          const read = yield* ocr.recognizeLine(image)
          expect(distance(norm(read.text), gt) / gt.length).toBeLessThan(0.05)
        }
        const read = yield* ocr.recognizeLine({
          data: new Uint8Array(rgba.data),
          width: rgba.info.width,
          height: rgba.info.height,
          channels: 4
        })
        expect(distance(norm(read.text), gt) / gt.length).toBeLessThan(0.05)
      }))

    it.effect("finds no lines on an all-white or all-black page", () =>
      Effect.gen(function*() {
        const ocr = yield* OcrEngine.OcrEngine
        for (const value of [255, 0]) {
          const page = yield* ocr.recognize(solid(1240, 1754, value))
          expect(page.lines).toEqual([])
          expect(page.text).toBe("")
          expect([page.width, page.height]).toEqual([1240, 1754])
        }
        const line = yield* ocr.recognizeLine(solid(300, 40, 255))
        expect(line.text).toBe("")
        const tiny = yield* Effect.either(ocr.recognize(solid(1, 1, 0)))
        expect(Either.isRight(tiny) && tiny.right.lines.length === 0).toBe(true)
      }))
  })
})
