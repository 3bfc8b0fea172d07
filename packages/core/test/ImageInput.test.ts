/**
 * Page images as input: a receipt photo (JPEG) decodes to RGB pixels; a multi-page TIFF made here gives one page per
 * frame; CMYK and 16-bit images come out 8-bit sRGB with alpha flattened on white; an empty file, a truncated JPEG,
 * a header-only PNG and a 20000 x 20000 PNG (small compressed) are refused with their own error, the last without
 * decoding a pixel. End to end, an uploaded image becomes a job whose pages are its frames, routed to OCR and read
 * (a receipt's text comes out; a blank frame stays empty), and admission counts its pages.
 */
import { describe, expect, it } from "@effect/vitest"
import { collectBytes, DocumentHandler, OcrEngine, PdfAdmission, PdfEngine, Scriptorium, Worker } from "@scriptorium/core"
import { LocalBlobStore } from "@scriptorium/storage-local"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { Effect, Layer } from "effect"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import sharp from "sharp"
import * as ImageInput from "../src/engine/ImageInput.js"

const corpus = new URL("../../../../shared/corpus/", import.meta.url)
const haveCorpus = existsSync(corpus)
const file = (path: string) => new Uint8Array(readFileSync(new URL(path, corpus)))

const solid = (width: number, height: number, grey: number) =>
  sharp({
    create: { width, height, channels: 3, background: { r: grey, g: grey, b: grey } },
    limitInputPixels: false
  })

/** A TIFF of `count` frames of different sizes and shades, one per page. */
const multiPageTiff = async (count: number): Promise<Uint8Array> => {
  const frames = await Promise.all(
    Array.from({ length: count }, (_, i) => solid(60, 40, 20 + i * 50).png().toBuffer())
  )
  return new Uint8Array(await sharp(frames, { join: { animated: true } }).tiff().toBuffer())
}

/** A white 20000 x 20000 PNG: a megabyte or so, 1.2 GB of pixels decoded. Made once (it takes seconds). */
let bombBytes: Promise<Uint8Array> | undefined
const pngBomb = (): Promise<Uint8Array> =>
  bombBytes ??= solid(20_000, 20_000, 255).png({ compressionLevel: 9 }).toBuffer().then((b) => new Uint8Array(b))

/** The image inspected and page `page` decoded, or the error's tag and sentence. */
const decode = (bytes: Uint8Array, name: string, page = 0) =>
  Effect.gen(function*() {
    const info = yield* ImageInput.inspect(bytes, name)
    return { info, page: yield* ImageInput.decodePage(bytes, name, page) }
  })

const failure = (bytes: Uint8Array, name: string) =>
  Effect.map(Effect.flip(decode(bytes, name)), (e) => ({ tag: e._tag, message: e.message }))

describe("ImageInput", () => {
  it("sniffs PNG, JPEG, TIFF and WebP by their first bytes, and nothing else", () => {
    const bytes = (...b: Array<number>) => new Uint8Array([...b, ...Array(16).fill(0)])
    expect(ImageInput.sniff(bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a))).toBe("png")
    expect(ImageInput.sniff(bytes(0xff, 0xd8, 0xff, 0xe0))).toBe("jpeg")
    expect(ImageInput.sniff(bytes(0x49, 0x49, 0x2a, 0x00))).toBe("tiff")
    expect(ImageInput.sniff(bytes(0x4d, 0x4d, 0x00, 0x2a))).toBe("tiff")
    expect(ImageInput.sniff(new TextEncoder().encode("RIFF\0\0\0\0WEBPVP8 "))).toBe("webp")
    expect(ImageInput.sniff(new TextEncoder().encode("%PDF-1.7\n"))).toBeUndefined()
    expect(ImageInput.sniff(new TextEncoder().encode("GIF89a......"))).toBeUndefined()
    expect(ImageInput.sniff(new Uint8Array(0))).toBeUndefined()
  })

  it.live.skipIf(!haveCorpus)("a receipt photo decodes to 8-bit RGB pixels of its size", () =>
    Effect.gen(function*() {
      const bytes = file("sroie-dev/sroie_000.jpg")
      const meta = yield* Effect.promise(() => sharp(bytes).metadata())
      const { info, page } = yield* decode(bytes, "receipt.jpg")
      expect(info).toEqual({ format: "jpeg", pages: 1, width: meta.width, height: meta.height })
      expect([page.width, page.height, page.channels]).toEqual([meta.width, meta.height, 3])
      expect(page.data.byteLength).toBe(meta.width * meta.height * 3)
      // a receipt: mostly light paper, some dark print
      let dark = 0
      for (let i = 0; i < page.data.length; i += 3) if (page.data[i]! < 100) dark++
      expect(dark / (page.width * page.height)).toBeGreaterThan(0.005)
      expect(dark / (page.width * page.height)).toBeLessThan(0.5)
    }))

  it.live("a multi-page TIFF gives one page per frame", () =>
    Effect.gen(function*() {
      const tiff = yield* Effect.promise(() => multiPageTiff(3))
      const info = yield* ImageInput.inspect(tiff, "scan.tif")
      expect(info).toEqual({ format: "tiff", pages: 3, width: 60, height: 40 })
      for (let i = 0; i < 3; i++) {
        const page = yield* ImageInput.decodePage(tiff, "scan.tif", i)
        expect([page.page, page.width, page.height]).toEqual([i, 60, 40])
        expect([...page.data.subarray(0, 3)]).toEqual(Array(3).fill(20 + i * 50))
      }
      const beyond = yield* Effect.flip(ImageInput.decodePage(tiff, "scan.tif", 3))
      expect(beyond._tag).toBe("ImageUnreadable")
      // a WebP and a PNG are one page each
      const webp = new Uint8Array(yield* Effect.promise(() => solid(30, 20, 99).webp({ lossless: true }).toBuffer()))
      expect(yield* ImageInput.inspect(webp, "page.webp")).toEqual({ format: "webp", pages: 1, width: 30, height: 20 })
      expect([...(yield* ImageInput.decodePage(webp, "page.webp", 0)).data.subarray(0, 3)]).toEqual([99, 99, 99])
    }))

  it.live("CMYK, 16-bit, greyscale and transparent images come out 8-bit sRGB, alpha flattened on white", () =>
    Effect.gen(function*() {
      const cmyk = new Uint8Array(yield* Effect.promise(() =>
        sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 0, g: 0, b: 0 } } })
          .toColourspace("cmyk").jpeg().toBuffer()
      ))
      expect((yield* Effect.promise(() => sharp(cmyk).metadata())).space).toBe("cmyk")
      const fromCmyk = yield* ImageInput.decodePage(cmyk, "cmyk.jpg", 0)
      expect([fromCmyk.channels, fromCmyk.data.byteLength]).toEqual([3, 64 * 48 * 3])
      // black stays dark
      expect(Math.max(...fromCmyk.data.subarray(0, 3))).toBeLessThan(60)

      const deep = new Uint8Array(yield* Effect.promise(() =>
        sharp({ create: { width: 64, height: 48, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0.5 } } })
          .toColourspace("rgb16").png().toBuffer()
      ))
      const deepMeta = yield* Effect.promise(() => sharp(deep).metadata())
      expect([deepMeta.depth, deepMeta.channels]).toEqual(["ushort", 4])
      const fromDeep = yield* ImageInput.decodePage(deep, "deep.png", 0)
      expect([fromDeep.channels, fromDeep.data.byteLength]).toEqual([3, 64 * 48 * 3])
      // half-transparent black on white: mid grey, in 8 bits
      for (const v of fromDeep.data.subarray(0, 3)) expect(Math.abs(v - 128)).toBeLessThanOrEqual(2)

      const grey = new Uint8Array(yield* Effect.promise(() => solid(10, 10, 77).toColourspace("b-w").png().toBuffer()))
      expect([...(yield* ImageInput.decodePage(grey, "grey.png", 0)).data.subarray(0, 3)]).toEqual([77, 77, 77])
    }))

  it.live.skipIf(!haveCorpus)("empty, truncated and header-only files are refused with their own sentence", () =>
    Effect.gen(function*() {
      const empty = yield* failure(new Uint8Array(0), "blank.png")
      expect(empty).toEqual({ tag: "EmptyFile", message: expect.stringContaining("'blank.png' is empty") })
      const jpeg = file("sroie-dev/sroie_000.jpg")
      const truncated = yield* failure(jpeg.subarray(0, Math.floor(jpeg.length / 2)), "half.jpg")
      expect(truncated.tag).toBe("ImageUnreadable")
      expect(truncated.message).toMatch(/^The JPEG image 'half.jpg' cannot be decoded \(.*premature end.*\); /)
      const headerOnly = yield* failure(jpeg.subarray(0, 200), "head.jpg")
      expect(headerOnly.tag).toBe("ImageUnreadable")
      const png = yield* failure(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), "sig.png")
      expect(png.message).toBe(
        "The PNG image 'sig.png' cannot be decoded (input buffer has corrupt header); check that the file is " +
          "complete, or re-save it from an image editor."
      )
    }))

  it.live("a 20000 x 20000 PNG is refused from its header, without decoding it", () =>
    Effect.gen(function*() {
      const bomb = yield* Effect.promise(pngBomb)
      // a few megabytes that would decode to 1.2 GB of RGB
      expect(bomb.byteLength).toBeLessThan(5 * 1024 * 1024)
      const before = process.memoryUsage.rss()
      const refused = yield* failure(bomb, "bomb.png")
      const direct = yield* Effect.flip(ImageInput.decodePage(bomb, "bomb.png", 0))
      expect(process.memoryUsage.rss() - before).toBeLessThan(100 * 1024 * 1024)
      expect(refused).toEqual({
        tag: "ImageTooLarge",
        message: "The image 'bomb.png' is 20000 x 20000 pixels, more than the limit of 100 megapixels; scale it " +
          "down (300 DPI is plenty for OCR) and upload it again."
      })
      expect(direct._tag).toBe("ImageTooLarge")
      // under a lower limit of decoded pixels, a large page is scaled down rather than refused
      const large = new Uint8Array(yield* Effect.promise(() => solid(4000, 3000, 200).png().toBuffer()))
      const scaled = yield* ImageInput.decodePage(large, "large.png", 0, { maxPixels: 3_000_000 })
      expect(scaled.width * scaled.height).toBeLessThanOrEqual(3_000_000)
      expect([scaled.originalWidth, scaled.originalHeight]).toEqual([4000, 3000])
      expect(scaled.width / scaled.height).toBeCloseTo(4 / 3, 2)
    }))
})

/**
 * SQLite + local storage in a temp folder, the PdfEngine with admission, the OcrEngine, a Worker running the
 * DocumentHandler.
 */
const stack = () => {
  const dir = mkdtempSync(join(tmpdir(), "scriptorium-images-"))
  const storage = Layer.merge(
    SqliteJobStore.layer({ filename: join(dir, "jobs.db") }),
    LocalBlobStore.layer({ root: join(dir, "blobs") })
  )
  const services = Layer.mergeAll(
    storage,
    Layer.provideMerge(PdfAdmission.layer(), PdfEngine.layer()),
    OcrEngine.layer()
  )
  const worker = Worker.layer(DocumentHandler.handler, { concurrency: 2, pollMs: 100, shutdownGraceMs: 300 })
  return Layer.provideMerge(Layer.merge(Scriptorium.layer, worker), services)
}

describe.skipIf(!haveCorpus)("Image uploads as jobs", () => {
  it.live("an image is admitted with its page count and becomes a job of its pages, read by OCR; a pixel bomb is refused", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      const receipt = yield* s.submit({ filename: "receipt.jpg", content: file("sroie-dev/sroie_032.jpg") })
      const tiff = yield* s.submit({ filename: "scan.tif", content: yield* Effect.promise(() => multiPageTiff(4)) })
      expect([receipt.total_pages, tiff.total_pages]).toEqual([1, 4])
      for (const [job, pages, source] of [[receipt, 1, "ocr"], [tiff, 4, "none"]] as const) {
        const done = yield* s.wait(job.job_id, { timeoutMs: 30_000 })
        expect([done.status, done.processed_pages]).toEqual(["completed", pages])
        const document = JSON.parse(
          new TextDecoder().decode(yield* collectBytes(s.result(job.job_id, "document.json")))
        ) as { pages: Array<{ source: string; route: { decision: string; reason: string }; width: number }> }
        // the receipt is read; the TIFF's frames are blank, so OCR finds nothing on them
        expect(document.pages.map((p) => [p.source, p.route.decision])).toEqual(Array(pages).fill([source, "ocr"]))
      }
      const markdown = new TextDecoder().decode(yield* collectBytes(s.result(receipt.job_id, "markdown.md")))
      expect(markdown.length).toBeGreaterThan(100)
      // a 20000 x 20000 image is refused at submit, from its header, with the sentence and no job
      const bomb = yield* Effect.promise(pngBomb)
      const big = yield* Effect.flip(s.submit({ filename: "bomb.png", content: bomb }))
      expect(big._tag).toBe("ImageTooLarge")
      expect(big.message).toContain("is 20000 x 20000 pixels, more than the limit")
      // a GIF is still not accepted
      const gif = yield* Effect.flip(s.submit({ filename: "a.gif", content: new TextEncoder().encode("GIF89a....") }))
      expect(gif._tag).toBe("NotAPdf")
    }).pipe(Effect.provide(stack())), 60_000)
})
