/**
 * Extracted images, from pdf.js's operator list to the job's `images/{page}_{index}.jpg` outputs and the markdown
 * links to them. On real files: docling's picture files give their pictures (counted against docling's reference),
 * each a valid JPEG with its box's proportions, named as seed 001 names them and linked exactly once from the
 * markdown; a born-digital paper's decorations give none; a decompression bomb does not crash. On built PDFs: an
 * image comes out as painted (turned, mirrored: the same pixels the page's render shows), a huge image comes out
 * downscaled within the bound, and a page that is one huge image gives no figure. The thread script is the built
 * one: run `npx tsc -b` first (`npm test` does).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { collectBytes, DocumentHandler, OcrEngine, PdfEngine, Scriptorium, Worker } from "@scriptorium/core"
import { LocalBlobStore } from "@scriptorium/storage-local"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { Effect, Exit, Fiber, Layer, Schedule, Scope } from "effect"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { deflateSync } from "node:zlib"
import sharp from "sharp"
import * as PageImages from "../src/engine/PageImages.js"
import { pdfFile } from "./pdfFile.js"

const corpus = new URL("../../../../shared/corpus/", import.meta.url)
const haveCorpus = existsSync(corpus)
const file = (path: string) => new Uint8Array(readFileSync(new URL(path, corpus)))

/** docling's reference pictures per page (1-based `page_no`) for one of its files. */
const doclingPictures = (name: string): ReadonlyArray<number> =>
  (JSON.parse(readFileSync(new URL(`pdfs-digital/docling-groundtruth/${name}.json`, corpus), "utf8")) as {
    pictures: Array<{ prov: Array<{ page_no: number }> }>
  }).pictures.map((p) => p.prov[0]!.page_no)

// ---------------------------------------------------------------------------------------------------------------
// Built PDFs: one page of 612 x 792 points with a line of text (so it is read from its text layer) and images.

interface BuiltImage {
  readonly width: number
  readonly height: number
  /** "gray1": 1 bit a pixel (DeviceGray), "rgb": 8 bits a channel (DeviceRGB). */
  readonly kind: "gray1" | "rgb"
  /** The image's bytes as the PDF stores them, before compression. */
  readonly samples: Uint8Array
  /** The `cm` matrix that paints its unit square. */
  readonly matrix: readonly [number, number, number, number, number, number]
}

const imagePdf = (images: ReadonlyArray<BuiltImage>): Uint8Array => {
  const names = images.map((_, i) => `/Im${i} ${5 + i} 0 R`).join(" ")
  const content = Buffer.from(
    "BT /F1 12 Tf 50 750 Td (A page with images on it) Tj ET\n" +
      images.map((image, i) => `q ${image.matrix.join(" ")} cm /Im${i} Do Q\n`).join("")
  )
  const objects = [
    Buffer.from("<< /Type /Catalog /Pages 2 0 R >>"),
    Buffer.from("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
    Buffer.from(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${5 + images.length} 0 R ` +
      `/Resources << /Font << /F1 4 0 R >> /XObject << ${names} >> >> >>`),
    Buffer.from("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
    ...images.map((image) => {
      const data = deflateSync(image.samples, { level: 9 })
      const [space, bits] = image.kind === "gray1" ? ["/DeviceGray", 1] : ["/DeviceRGB", 8]
      return Buffer.concat([
        Buffer.from(`<< /Type /XObject /Subtype /Image /Width ${image.width} /Height ${image.height} ` +
          `/ColorSpace ${space} /BitsPerComponent ${bits} /Filter /FlateDecode /Length ${data.length} >>\nstream\n`),
        data,
        Buffer.from("\nendstream")
      ])
    }),
    Buffer.concat([Buffer.from(`<< /Length ${content.length} >>\nstream\n`), content, Buffer.from("\nendstream")])
  ]
  return pdfFile(objects)
}

/** The four colours of `quadrants`, top left, top right, bottom left, bottom right, as stored (first row on top). */
const QUADRANT_COLOURS = [[255, 0, 0], [0, 160, 0], [0, 0, 255], [255, 255, 255]] as const

/** An RGB image in four quadrants of QUADRANT_COLOURS. */
const quadrants = (width: number, height: number): Uint8Array => {
  const samples = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const colour = QUADRANT_COLOURS[(y < height / 2 ? 0 : 2) + (x < width / 2 ? 0 : 1)]!
      samples.set(colour, (y * width + x) * 3)
    }
  }
  return samples
}

/** Which of QUADRANT_COLOURS a pixel is closest to. */
const nearestColour = (pixel: ArrayLike<number>): number => {
  let best = 0
  let bestDistance = Infinity
  QUADRANT_COLOURS.forEach((colour, i) => {
    const distance = colour.reduce<number>((sum, c, k) => sum + (c - pixel[k]!) ** 2, 0)
    if (distance < bestDistance) [best, bestDistance] = [i, distance]
  })
  return best
}

/** A pixel of raw pixels at fractions (fx, fy) of the width and height. */
const pixelAt = (
  image: { data: Uint8Array; width: number; height: number; channels: number },
  fx: number,
  fy: number
): Uint8Array => {
  const x = Math.floor(fx * image.width)
  const y = Math.floor(fy * image.height)
  const at = (y * image.width + x) * image.channels
  return image.data.subarray(at, at + image.channels)
}

/** Proportions, as a log ratio: 0 when the same. */
const aspectError = (w1: number, h1: number, w2: number, h2: number) => Math.abs(Math.log((w1 / h1) / (w2 / h2)))

const engineLayer = PdfEngine.layer({ memoryLimitMb: 512, maxThreads: 2 })

describe("PageImages placement and names", () => {
  it("names images {page}_{index}.jpg from 0, linked relative to the markdown as the seed's route finds them", () => {
    expect(PageImages.imageName(0, 0)).toBe("0_0.jpg")
    expect(PageImages.imageName(12, 3)).toBe("12_3.jpg")
    expect(PageImages.imageOutput("0_1.jpg")).toBe("images/0_1.jpg")
    expect(PageImages.imageLink("0_1.jpg")).toBe("![](images/0_1.jpg)")
    // from GET /result/{id}/markdown the link resolves to GET /result/{id}/images/{name}
    expect(new URL("images/0_1.jpg", "http://host/result/abc/markdown").pathname).toBe("/result/abc/images/0_1.jpg")
    const block = PageImages.pictureBlock([10, 20, 110, 220], "2_0.jpg")
    expect(block).toEqual({
      type: "picture",
      level: 0,
      bbox: [10, 20, 110, 220],
      text: "![](images/2_0.jpg)",
      image: "2_0.jpg"
    })
  })

  it("places a picture after the last block of its column above it, else before its column's first block", () => {
    const b = (name: string, bbox: readonly [number, number, number, number]) => ({ name, bbox })
    // a title across the page, then a left column (a1, a2) and a right column (b1, b2), read column by column
    const blocks = [
      b("title", [50, 50, 550, 80]),
      b("a1", [50, 100, 290, 300]),
      b("a2", [50, 500, 290, 700]),
      b("b1", [310, 100, 550, 400]),
      b("b2", [310, 600, 550, 700])
    ]
    const order = (pictures: Array<{ name: string; bbox: readonly [number, number, number, number] }>) =>
      PageImages.placePictures(blocks, pictures).map((x) => x.name)
    // in the left column between a1 and a2
    expect(order([b("fig", [60, 320, 280, 480])])).toEqual(["title", "a1", "fig", "a2", "b1", "b2"])
    // in the right column between b1 and b2
    expect(order([b("fig", [320, 420, 540, 580])])).toEqual(["title", "a1", "a2", "b1", "fig", "b2"])
    // above everything
    expect(order([b("fig", [100, 5, 500, 45])])).toEqual(["fig", "title", "a1", "a2", "b1", "b2"])
    // across both columns at the foot: after everything above it
    expect(order([b("fig", [50, 720, 550, 780])])).toEqual(["title", "a1", "a2", "b1", "b2", "fig"])
    // two in one place keep the order of their tops
    expect(order([b("low", [60, 400, 280, 480]), b("high", [60, 310, 280, 390])]))
      .toEqual(["title", "a1", "high", "low", "a2", "b1", "b2"])
    // no text at all
    expect(PageImages.placePictures([], [b("fig", [0, 0, 10, 10])]).map((x) => x.name)).toEqual(["fig"])
  })

  it("names a page's pictures in reading order, whatever order they were painted in", () => {
    const paragraph = (text: string, bbox: readonly [number, number, number, number]) =>
      ({ type: "paragraph" as const, level: 0, bbox, text })
    const [low, high] = [new Uint8Array([1]), new Uint8Array([2])]
    const text = [paragraph("a", [50, 100, 550, 200]), paragraph("b", [50, 400, 550, 500])]
    const { blocks, images } = PageImages.withPictures(3, text, [
      { bbox: [50, 550, 550, 700], jpeg: low },
      { bbox: [50, 220, 550, 380], jpeg: high }
    ])
    expect(blocks.map((b) => b.text)).toEqual(["a", "![](images/3_0.jpg)", "b", "![](images/3_1.jpg)"])
    expect(blocks.map((b) => b.type)).toEqual(["paragraph", "picture", "paragraph", "picture"])
    expect(images).toEqual([{ name: "3_0.jpg", jpeg: high }, { name: "3_1.jpg", jpeg: low }])
  })

  it("saves an image in its box's proportions, with as many pixels as it has", () => {
    const size = (bbox: readonly [number, number, number, number], width: number, height: number) =>
      PageImages.displayedSize({ bbox, width, height })
    expect(size([0, 0, 200, 100], 400, 200)).toEqual({ width: 400, height: 200 })
    expect(size([0, 0, 200, 100], 100, 100)).toEqual({ width: 141, height: 70 })
    expect(size([0, 0, 100, 200], 100, 100)).toEqual({ width: 70, height: 141 })
  })

  it.effect("encodes grey, RGB and RGBA pixels as JPEG, transparency on white", () =>
    Effect.gen(function*() {
      const rgba = new Uint8Array(40 * 40 * 4) // all transparent black
      const jpeg = yield* PageImages.encodeJpeg({
        bbox: [0, 0, 40, 40],
        data: rgba,
        width: 40,
        height: 40,
        channels: 4,
        source: "embedded"
      })
      const { data, info } = yield* Effect.promise(() => sharp(jpeg).raw().toBuffer({ resolveWithObject: true }))
      expect([info.width, info.height]).toEqual([40, 40])
      expect(Math.min(...data)).toBeGreaterThan(245)
      const grey = yield* PageImages.encodeJpeg({
        bbox: [0, 0, 80, 40],
        data: new Uint8Array(40 * 40).fill(128),
        width: 40,
        height: 40,
        channels: 1,
        source: "embedded"
      })
      const meta = yield* Effect.promise(() => sharp(grey).metadata())
      expect([meta.format, meta.width, meta.height]).toEqual(["jpeg", 56, 28])
    }))
})

describe("PdfEngine.pageImages on built PDFs", () => {
  it.scoped("gives an image as painted, upright, turned or mirrored: the pixels the page's render shows there", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const [w, h] = [64, 48]
      const samples = quadrants(w, h)
      const pdf = yield* engine.open(
        imagePdf([
          { width: w, height: h, kind: "rgb", samples, matrix: [160, 0, 0, 120, 60, 500] },
          // a quarter turn: the columns go up the page, the rows to the left
          { width: w, height: h, kind: "rgb", samples, matrix: [0, 160, -120, 0, 420, 450] },
          // mirrored left to right
          { width: w, height: h, kind: "rgb", samples, matrix: [-160, 0, 0, 120, 260, 150] },
          // upside down
          { width: w, height: h, kind: "rgb", samples, matrix: [160, 0, 0, -120, 350, 300] }
        ]),
        { filename: "painted.pdf" }
      )
      yield* pdf.page(0)
      const images = yield* pdf.pageImages(0)
      expect(images.length).toBe(4)
      const render = yield* pdf.renderPage(0, { dpi: 72 })
      const boxes = [[60, 172, 220, 292], [300, 182, 420, 342], [100, 522, 260, 642], [350, 492, 510, 612]]
      for (const [k, image] of images.entries()) {
        expect(image.source).toBe("embedded")
        expect(image.channels).toBe(3)
        const [x1, y1, x2, y2] = image.bbox
        for (const [got, want] of [x1, y1, x2, y2].map((v, i) => [v, boxes[k]![i]!])) expect(got).toBeCloseTo(want, 1)
        // its own resolution: 64 pixels along 160 points, whichever way it is turned
        expect(aspectError(image.width, image.height, x2 - x1, y2 - y1)).toBeLessThan(0.03)
        expect(Math.max(image.width, image.height)).toBe(64)
        // each quadrant's colour where the render shows it
        for (const [fx, fy] of [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]] as const) {
          const onPage = pixelAt(render, (x1 + fx * (x2 - x1)) / render.width, (y1 + fy * (y2 - y1)) / render.height)
          expect(nearestColour(pixelAt(image, fx, fy)), `image ${k} at ${fx}, ${fy}`).toBe(nearestColour(onPage))
        }
      }
    }).pipe(Effect.provide(engineLayer)))

  it.scoped("downscales a huge image within the bound, and leaves out a page that is one huge image", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      // 12,000 x 9,000 pixels at one bit each (13.5 MB decoded): a black frame on white
      const [w, h] = [12_000, 9_000]
      const row = w / 8
      const samples = new Uint8Array(row * h).fill(0xff)
      for (let y = 0; y < h; y++) {
        if (y < 300 || y >= h - 300) samples.fill(0, y * row, (y + 1) * row)
        else samples.fill(0, y * row, y * row + 40)
      }
      const figure = yield* engine.open(
        imagePdf([{ width: w, height: h, kind: "gray1", samples, matrix: [400, 0, 0, 300, 100, 300] }]),
        { filename: "huge-figure.pdf" }
      )
      yield* figure.page(0)
      const [image] = yield* figure.pageImages(0, { maxPixels: 4_000_000 })
      expect(image).toBeDefined()
      expect([image!.source, image!.channels]).toEqual(["embedded", 1])
      expect(image!.width * image!.height).toBeLessThanOrEqual(4_000_000)
      expect(image!.width * image!.height).toBeGreaterThan(3_000_000)
      expect(aspectError(image!.width, image!.height, 400, 300)).toBeLessThan(0.01)
      // the frame is black, the middle white
      expect(pixelAt(image!, 0.5, 0.005)[0]).toBe(0)
      expect(pixelAt(image!, 0.5, 0.5)[0]).toBe(255)

      const scan = yield* engine.open(
        imagePdf([{ width: w, height: h, kind: "gray1", samples, matrix: [612, 0, 0, 792, 0, 0] }]),
        { filename: "huge-page.pdf" }
      )
      const text = yield* scan.page(0)
      expect(text.drawing?.imageCoverage).toBe(1)
      expect(yield* scan.pageImages(0, { maxArea: PageImages.FIGURE_MAX_AREA })).toEqual([])
      // asked for, it comes within the bound too
      const [page] = yield* scan.pageImages(0, { maxPixels: 1_000_000 })
      expect(page!.width * page!.height).toBeLessThanOrEqual(1_000_000)
    }).pipe(Effect.provide(engineLayer)))
})

// ---------------------------------------------------------------------------------------------------------------
// Jobs: the facade, a real Worker, SQLite, local storage, pdf.js and OCR.

const ocrScope = Effect.runSync(Scope.make())
let ocrEngine: OcrEngine.OcrEngine | undefined
beforeAll(async () => {
  if (haveCorpus) ocrEngine = await Effect.runPromise(Scope.extend(OcrEngine.make(), ocrScope))
})
afterAll(() => Effect.runPromise(Scope.close(ocrScope, Exit.void)))
const ocrLayer = Layer.effect(
  OcrEngine.OcrEngine,
  Effect.suspend(() =>
    ocrEngine === undefined ? Effect.dieMessage("OCR engine not built") : Effect.succeed(ocrEngine)
  )
)

const JOB_LIMIT_MS = 60_000

const stack = () => {
  const dir = mkdtempSync(join(tmpdir(), "scriptorium-images-"))
  const services = Layer.mergeAll(
    SqliteJobStore.layer({ filename: join(dir, "jobs.db") }),
    LocalBlobStore.layer({ root: join(dir, "blobs") }),
    engineLayer,
    ocrLayer
  )
  const worker = Worker.layer(DocumentHandler.handler, {
    concurrency: 2,
    pollMs: 50,
    jobTimeoutMs: JOB_LIMIT_MS,
    shutdownGraceMs: 300
  })
  return Layer.provideMerge(Layer.merge(Scriptorium.layer, worker), services)
}

interface StoredBlock {
  readonly type: string
  readonly bbox: readonly [number, number, number, number]
  readonly text: string
  readonly image?: string
}

/** A finished job's images, markdown and picture blocks. */
const jobImages = (s: Scriptorium.Scriptorium, jobId: string) =>
  Effect.gen(function*() {
    const outputs = yield* s.outputs(jobId)
    const names = outputs.filter((o) => o.startsWith("images/")).map((o) => o.slice("images/".length))
    const markdown = new TextDecoder().decode(yield* collectBytes(s.result(jobId, "markdown.md")))
    const document = JSON.parse(new TextDecoder().decode(yield* collectBytes(s.result(jobId, "document.json")))) as {
      pages: Array<{ page: number; blocks: Array<StoredBlock> }>
    }
    const pictures = document.pages.flatMap((p) =>
      p.blocks.filter((b) => b.type === "picture").map((b) => ({ page: p.page, ...b }))
    )
    const jpegs = yield* Effect.forEach(names, (name) => collectBytes(s.result(jobId, `images/${name}`)))
    return { outputs, names, markdown, pictures, jpegs }
  })

const jobsTitle = `extracted images in jobs${haveCorpus ? "" : " (skipped: ../shared/corpus is absent)"}`

describe.skipIf(!haveCorpus)(jobsTitle, () => {
  it.live("docling's picture files: images listed, valid JPEGs in their boxes' proportions, each linked once", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      // ours against docling's: picture_classification's two pictures are one embedded image each; the handbook
      // page's two figures are built of 8 photos (each a pair of layers), which we give one by one
      // amt_handbook's two drawings are 8 stencil masks whose boxes touch across both: cropped as one picture
      const expected = { picture_classification: [2, 2], amt_handbook_sample: [2, 1] } as const
      const jobs = yield* Effect.forEach(Object.keys(expected), (name) =>
        Effect.map(
          s.submit({ filename: `${name}.pdf`, content: file(`pdfs-digital/docling_${name}.pdf`) }),
          (job) => [name as keyof typeof expected, job] as const
        ))
      for (const [name, job] of jobs) {
        const done = yield* s.wait(job.job_id, { timeoutMs: JOB_LIMIT_MS })
        expect(done.status, name).toBe("completed")
        const { outputs, names, markdown, pictures, jpegs } = yield* jobImages(s, job.job_id)
        const docling = doclingPictures(name)
        expect(docling.length, name).toBe(expected[name][0])
        expect(names.length, name).toBe(expected[name][1])
        expect(outputs.filter((o) => o.startsWith("images/")).length).toBe(names.length)
        // names as seed 001's: {page}_{index}.jpg, page from 0, index from 0 on each page, no gaps
        for (const n of names) expect(n, name).toMatch(/^\d+_\d+\.jpg$/)
        const byPage = new Map<number, Array<number>>()
        for (const n of names) {
          const [page, index] = n.replace(".jpg", "").split("_").map(Number) as [number, number]
          expect(page).toBeLessThan(done.total_pages!)
          byPage.set(page, [...(byPage.get(page) ?? []), index])
        }
        for (const indexes of byPage.values()) expect([...indexes].sort((a, b) => a - b)).toEqual([...indexes.keys()])
        // on docling's pages (docling counts pages from 1)
        expect([...byPage.keys()].map((p) => p + 1).sort()).toEqual([...new Set(docling)].sort())
        // one picture block per image, naming it
        expect(pictures.map((p) => p.image).sort()).toEqual([...names].sort())
        for (const [k, n] of names.entries()) {
          const meta = yield* Effect.promise(() => sharp(jpegs[k]!).metadata())
          expect(meta.format, n).toBe("jpeg")
          const { bbox } = pictures.find((p) => p.image === n)!
          expect(aspectError(meta.width!, meta.height!, bbox[2] - bbox[0], bbox[3] - bbox[1]), n).toBeLessThan(0.03)
        }
        // every image linked exactly once, every link names an image
        const links = [...markdown.matchAll(/!\[[^\]]*\]\(images\/([^)]+)\)/g)].map((m) => m[1]!)
        expect([...links].sort(), name).toEqual([...names].sort())
      }
    }).pipe(Effect.provide(stack())), 120_000)

  it.scoped("a born-digital paper's decorations give no images", () =>
    Effect.gen(function*() {
      const engine = yield* PdfEngine.PdfEngine
      const pdf = yield* engine.open(file("pdfs-digital/pdfjs_tracemonkey.pdf"), { filename: "tracemonkey.pdf" })
      // the pages that paint images: small ones (a logo, the bars of a chart drawn one image each); page 10's
      // chart is a figure, but as a vector drawing (Figure.test.ts), cropped from the render whole, not its bars
      for (const page of [1, 10, 12]) {
        const text = yield* pdf.page(page)
        expect(text.drawing!.images, `page ${page}`).toBeGreaterThan(0)
        const images = yield* pdf.pageImages(page, { maxArea: PageImages.FIGURE_MAX_AREA })
        expect(images.map((i) => [i.source, i.bbox]), `page ${page}`).toEqual(
          (text.figures ?? []).map((box) => ["render", box])
        )
        expect(text.figures?.length ?? 0, `page ${page}`).toBe(page === 10 ? 1 : 0)
      }
    }).pipe(Effect.provide(engineLayer)))

  it.live("a decompression bomb and a huge image end their jobs, memory bounded; a page that is one is no figure", () =>
    Effect.gen(function*() {
      const s = yield* Scriptorium.Scriptorium
      // 12,000 x 9,000 pixels at one bit each (13.5 MB decoded), white but for a black band
      const [w, h] = [12_000, 9_000]
      const samples = new Uint8Array((w / 8) * h).fill(0xff).fill(0, 0, (w / 8) * 500)
      const before = process.memoryUsage.rss()
      let peak = before
      const sampler = yield* Effect.fork(
        Effect.sync(() => void (peak = Math.max(peak, process.memoryUsage.rss()))).pipe(
          Effect.repeat(Schedule.spaced("10 millis"))
        )
      )
      const bomb = yield* s.submit({ filename: "bomb_giant.pdf", content: file("pdfs-real/bomb_giant.pdf") })
      const figure = yield* s.submit({
        filename: "huge-figure.pdf",
        content: imagePdf([{ width: w, height: h, kind: "gray1", samples, matrix: [300, 0, 0, 200, 150, 300] }])
      })
      const done = yield* Effect.forEach([bomb, figure], (job) => s.wait(job.job_id, { timeoutMs: JOB_LIMIT_MS }))
      yield* Fiber.interrupt(sampler)
      expect(["completed", "failed"]).toContain(done[0]!.status)
      if (done[0]!.status === "completed") {
        expect((yield* s.outputs(bomb.job_id)).filter((o) => o.startsWith("images/"))).toEqual([])
      }
      // the huge image is a figure, saved within the job's bound
      expect(done[1]!.status).toBe("completed")
      const { names, jpegs, markdown } = yield* jobImages(s, figure.job_id)
      expect(names).toEqual(["0_0.jpg"])
      const meta = yield* Effect.promise(() => sharp(jpegs[0]!).metadata())
      expect(meta.width! * meta.height!).toBeLessThanOrEqual(PageImages.MAX_FIGURE_PIXELS)
      expect(aspectError(meta.width!, meta.height!, 300, 200)).toBeLessThan(0.01)
      expect(markdown).toContain("![](images/0_0.jpg)")
      // the process (the documents' threads included) holds little more than one page's figures
      expect(peak - before).toBeLessThan(400 * 1024 * 1024)

      // painted over the page's line of text, it is a scan with its OCR layer: read by OCR, and no figure. (Rendering
      // it for OCR is what costs here: pdf.js draws the whole image, about 1 GB and 10 s.)
      const page = yield* s.submit({
        filename: "huge-page.pdf",
        content: imagePdf([{ width: w, height: h, kind: "gray1", samples, matrix: [612, 0, 0, 792, 0, 0] }])
      })
      expect((yield* s.wait(page.job_id, { timeoutMs: JOB_LIMIT_MS })).status).toBe("completed")
      expect((yield* s.outputs(page.job_id)).filter((o) => o.startsWith("images/"))).toEqual([])
    }).pipe(Effect.provide(stack())), 120_000)
})
