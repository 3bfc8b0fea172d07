/**
 * LayoutPdf on real files: boxes and text from the real engine (PdfEngine, as the job reads them), drawn, then the
 * output checked with pdf-lib and pdf.js (legacy build, as PdfEngine uses): same pages, sizes, crop boxes and
 * rotations; the original content still there (the page's text items come first, unchanged); exactly one rectangle
 * per block, counted in the appended content stream and in pdf.js's operator list; and every rectangle, mapped back
 * to the displayed page by pdf.js's own viewport, lies on its block's box, with each word pdf.js reads inside its
 * box: on rotated pages (90, 180, 270), on pages whose media box or crop box does not start at 0,0, and with
 * /UserUnit. Encrypted files that open without a password get encrypted drawing (pdf.js reads the labels back),
 * including RC4 and AES-128 files built here. The engine reads with the built pdf.js thread: run `npx tsc -b` first.
 */
import { describe, expect, it } from "@effect/vitest"
import { DocumentHandler, LayoutPdf, PdfEngine } from "@scriptorium/core"
import { Effect } from "effect"
import { createCipheriv, createHash, randomBytes } from "node:crypto"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { decodePDFRawStream, degrees, PDFArray, PDFDocument, PDFName, PDFNumber, PDFRawStream } from "pdf-lib"
import { AnnotationMode, getDocument, OPS, Util } from "pdfjs-dist/legacy/build/pdf.mjs"
import { documentOptions } from "../../src/engine/internal/pdfjsOptions.js"
import { pdfFile } from "../pdfFile.js"


const corpus = new URL("../../../../../shared/corpus/", import.meta.url)
const haveCorpus = existsSync(corpus)
const file = (path: string) => new Uint8Array(readFileSync(new URL(path, corpus)))

/** The time limit of the tests that read whole corpus files twice with pdf.js (text and operators). */
const SLOW = 180_000

type Box = readonly [number, number, number, number]

/** The block types of the layout issue, and one no one knows. */
const TYPES = [
  "title",
  "section_header",
  "paragraph",
  "list_item",
  "table",
  "picture",
  "caption",
  "formula",
  "code",
  "page_header",
  "page_footer",
  "page_number",
  "footnote",
  "some_new_type"
]

/** Every page's text layer, as the job reads it. */
const readText = (bytes: Uint8Array, name: string) =>
  Effect.scoped(Effect.gen(function*() {
    const engine = yield* PdfEngine.PdfEngine
    const pdf = yield* engine.open(bytes.slice(), { filename: name })
    const pages: Array<PdfEngine.PageText> = []
    for (let i = 0; i < pdf.pageCount; i++) pages.push(yield* pdf.page(i))
    return pages
  }))

/** A page whose blocks are its text items, one each (every type in turn): every word gets a box of its own. */
const itemLayout = (text: PdfEngine.PageText): LayoutPdf.LayoutPage & { texts: ReadonlyArray<string> } => {
  const items = text.items.filter((item) => item.width > 0 && item.height > 0)
  return {
    page: text.page,
    width: text.width,
    height: text.height,
    blocks: items.map((item, k) => ({
      type: TYPES[k % TYPES.length]!,
      bbox: [item.x, item.y, item.x + item.width, item.y + item.height] as const
    })),
    texts: items.map((item) => item.text)
  }
}

/** What pdf.js sees on a page. */
interface PdfjsPage {
  readonly view: ReadonlyArray<number>
  readonly rotate: number
  readonly userUnit: number
  readonly width: number
  readonly height: number
  /** The text items: their text and a point well inside each (half way along, 30% up), displayed. */
  readonly items: ReadonlyArray<{ readonly str: string; readonly point: readonly [number, number] }>
  /** The paths painted with fill-and-stroke (`B`), as displayed boxes, in drawing order. */
  readonly filledAndStroked: ReadonlyArray<Box>
  readonly operators: number
}

/** Opens a PDF with pdf.js and reads every page. */
const pdfjsPages = (bytes: Uint8Array): Effect.Effect<Array<PdfjsPage>> =>
  Effect.promise(async () => {
    // opened as PdfEngine opens documents, so text comes in the same items
    const doc = await getDocument({ data: bytes.slice(), ...documentOptions }).promise
    try {
      const pages: Array<PdfjsPage> = []
      for (let i = 1; i <= doc.numPages; i++) {
        const page = await doc.getPage(i)
        const viewport = page.getViewport({ scale: 1 })
        const content = await page.getTextContent()
        const items = content.items.flatMap((item) => {
          if (!("str" in item) || item.str.trim() === "") return []
          const m = Util.transform(viewport.transform, item.transform) as Array<number>
          const [a, b] = item.transform as [number, number]
          const u = item.width / Math.hypot(a, b) / 2
          const v = 0.3
          return [{ str: item.str, point: [m[0]! * u + m[2]! * v + m[4]!, m[1]! * u + m[3]! * v + m[5]!] as const }]
        })
        const list = await page.getOperatorList({ annotationMode: AnnotationMode.DISABLE })
        const filledAndStroked: Array<Box> = []
        list.fnArray.forEach((fn, k) => {
          const args = list.argsArray[k] as [number, unknown, ArrayLike<number>] | undefined
          if (fn !== OPS.constructPath || args?.[0] !== OPS.fillStroke) return
          const [x0, y0, x1, y1] = viewport.convertToViewportRectangle(Array.from(args[2])) as Array<number>
          filledAndStroked.push([Math.min(x0!, x1!), Math.min(y0!, y1!), Math.max(x0!, x1!), Math.max(y0!, y1!)])
        })
        pages.push({
          view: page.view,
          rotate: page.rotate,
          userUnit: page.userUnit,
          width: viewport.width,
          height: viewport.height,
          items,
          filledAndStroked,
          operators: list.fnArray.length
        })
        page.cleanup()
      }
      return pages
    } finally {
      await doc.destroy()
    }
  })

/** The stream drawn on a page: the last of its contents, after pdf-lib's `Q`; absent on a page left alone. */
const drawnStream = (doc: PDFDocument, index: number): string | undefined => {
  const contents = doc.getPage(index).node.Contents()
  if (!(contents instanceof PDFArray) || contents.size() < 3) return undefined
  const decode = (k: number) => {
    const stream = doc.context.lookup(contents.get(k))
    return stream instanceof PDFRawStream ? Buffer.from(decodePDFRawStream(stream).decode()).toString("latin1") : ""
  }
  return decode(contents.size() - 2).trim() === "Q" ? decode(contents.size() - 1) : undefined
}

/** How many times an operator occurs in a content stream. */
const count = (stream: string, operator: string) =>
  stream.match(new RegExp(`(?<=^|\\s|>)${operator}(?=\\s|$)`, "g"))?.length ?? 0

const near = (a: Box, b: Box, tolerance = 0.01) => a.every((v, i) => Math.abs(v - b[i]!) <= tolerance)

const inside = ([x, y]: readonly [number, number], box: Box, tolerance = 0.01) =>
  x >= box[0] - tolerance && x <= box[2] + tolerance && y >= box[1] - tolerance && y <= box[3] + tolerance

/** A box as drawn: clamped to the page, as LayoutPdf keeps boxes on it. */
const onPage = (box: Box, width: number, height: number): Box => [
  Math.max(0, Math.min(width, box[0])),
  Math.max(0, Math.min(height, box[1])),
  Math.max(0, Math.min(width, box[2])),
  Math.max(0, Math.min(height, box[3]))
]

/**
 * Draws `layouts` on `bytes` and checks the output against the input: pages, sizes, text, one rectangle per block
 * where the block is, and (for layouts made of text items) each word inside its own box. Returns the output.
 */
const drawAndCheck = (
  bytes: Uint8Array,
  layouts: ReadonlyArray<LayoutPdf.LayoutPage & { texts?: ReadonlyArray<string> }>,
  options: { encrypted?: boolean } = {}
) =>
  Effect.gen(function*() {
    const output = yield* LayoutPdf.layoutPdf(bytes, layouts)
    const before = yield* pdfjsPages(bytes)
    const after = yield* pdfjsPages(output)
    // pdf-lib opens it, with the same pages, boxes and rotations
    const load = (b: Uint8Array) => PDFDocument.load(b, { ignoreEncryption: options.encrypted === true })
    const original = yield* Effect.promise(() => load(bytes))
    const drawn = yield* Effect.promise(() => load(output))
    expect(drawn.getPageCount()).toBe(original.getPageCount())
    drawn.getPages().forEach((page, i) => {
      const source = original.getPage(i)
      expect([page.getMediaBox(), page.getCropBox(), page.getRotation()])
        .toEqual([source.getMediaBox(), source.getCropBox(), source.getRotation()])
    })
    // pdf.js: the same pages, displayed at the same size
    expect(after.length).toBe(before.length)
    const byPage = new Map(layouts.map((layout) => [layout.page, layout]))
    after.forEach((page, i) => {
      const source = before[i]!
      expect([page.view, page.rotate, page.userUnit, page.width, page.height])
        .toEqual([source.view, source.rotate, source.userUnit, source.width, source.height])
      const layout = byPage.get(i)
      // the original content comes first, unchanged; then one label a block
      expect(page.items.slice(0, source.items.length)).toEqual(source.items)
      // (pdf.js joins labels that sit side by side on a line into one item, with or without a space)
      const labels = page.items.slice(source.items.length).map((item) => item.str).join("")
      expect(labels.replace(/\s+/g, ""))
        .toBe(layout?.blocks.map((block, k) => `${k + 1}${block.type}`).join("") ?? "")
      if (layout === undefined) {
        expect(page.operators).toBe(source.operators)
        if (options.encrypted !== true) expect(drawnStream(drawn, i)).toBeUndefined()
        return
      }
      // exactly one rectangle a block, in the appended stream and as pdf.js paints it
      if (options.encrypted !== true) {
        const stream = drawnStream(drawn, i)!
        expect(count(stream, "re")).toBe(layout.blocks.length)
        expect(count(stream, "B")).toBe(layout.blocks.length)
        expect(count(stream, "Tj")).toBe(layout.blocks.length)
      }
      const rectangles = page.filledAndStroked.slice(source.filledAndStroked.length)
      expect(page.filledAndStroked.slice(0, source.filledAndStroked.length)).toEqual(source.filledAndStroked)
      expect(rectangles.length).toBe(layout.blocks.length)
      // each where its block is, mapped back by pdf.js's viewport
      const sx = page.width / layout.width
      const sy = page.height / layout.height
      layout.blocks.forEach((block, k) => {
        const [x1, y1, x2, y2] = block.bbox
        const expected = onPage([x1 * sx, y1 * sy, x2 * sx, y2 * sy], page.width, page.height)
        if (!near(rectangles[k]!, expected)) expect([k, rectangles[k]]).toEqual([k, expected])
      })
      // each word inside a box drawn for that text (blocks made of text items); a word half off the page excepted
      if (layout.texts !== undefined) {
        const boxes = new Map<string, Array<Box>>()
        layout.texts.forEach((text, k) => boxes.set(text, [...(boxes.get(text) ?? []), rectangles[k]!]))
        let words = 0
        for (const item of source.items) {
          const candidates = boxes.get(item.str)
          if (candidates === undefined || !inside(item.point, [0, 0, page.width, page.height])) continue
          words++
          if (!candidates.some((box) => inside(item.point, box))) expect([item.str, item.point]).toEqual(candidates)
        }
        expect(words).toBeGreaterThanOrEqual(layout.texts.length * 0.9)
      }
    })
    return output
  })

describe.skipIf(!haveCorpus)(`LayoutPdf${haveCorpus ? "" : " (skipped: ../shared/corpus is absent)"}`, () => {
  it.live("a paper: every page's blocks, original vector pages kept", () =>
    Effect.gen(function*() {
      const bytes = file("pdfs-digital/pdfjs_tracemonkey.pdf")
      const texts = yield* readText(bytes, "tracemonkey.pdf")
      const layouts = texts.map((text) => DocumentHandler.pageResult(text))
      expect(layouts.reduce((n, page) => n + page.blocks.length, 0)).toBeGreaterThan(100)
      const output = yield* drawAndCheck(bytes, layouts)
      // the pages are the original's, not a raster: no image was added
      expect(Buffer.from(output).includes("/Subtype /Image")).toBe(Buffer.from(bytes).includes("/Subtype /Image"))
    }).pipe(Effect.provide(PdfEngine.layer())), SLOW)

  it.live("pages without a result are left unchanged", () =>
    Effect.gen(function*() {
      const bytes = file("pdfs-digital/pdfjs_tracemonkey.pdf")
      const texts = yield* readText(bytes, "tracemonkey.pdf")
      yield* drawAndCheck(bytes, [itemLayout(texts[3]!), itemLayout(texts[1]!)])
    }).pipe(Effect.provide(PdfEngine.layer())), SLOW)

  it.live("a page with /Rotate 90: each word inside its box", () =>
    Effect.gen(function*() {
      const bytes = file("pdfs-real/rotation.pdf")
      const texts = yield* readText(bytes, "rotation.pdf")
      expect(texts.map((t) => [t.rotation, t.width, t.height])).toEqual([[0, 612, 792], [90, 792, 612]])
      const layouts = texts.map(itemLayout)
      expect(layouts[1]!.texts.join(" ")).toContain("landscape")
      yield* drawAndCheck(bytes, layouts)
    }).pipe(Effect.provide(PdfEngine.layer())))

  it.live("media boxes away from 0,0, and a crop box inside a larger media box", () =>
    Effect.gen(function*() {
      for (const name of ["pdfs-real/issue1350.pdf", "pdfs-real/issue6127.pdf"]) {
        const bytes = file(name)
        const texts = yield* readText(bytes, name)
        const layouts = texts.map(itemLayout)
        expect(layouts.every((layout) => layout.blocks.length > 0)).toBe(true)
        yield* drawAndCheck(bytes, layouts)
      }
      // what makes them special, as pdf.js reads them
      const views = (yield* pdfjsPages(file("pdfs-real/issue1350.pdf"))).map((p) => p.view)
      expect(views.slice(1)).toEqual([[0, 482, 361, 792], [357, 490, 612, 631]])
    }).pipe(Effect.provide(PdfEngine.layer())), SLOW)

  it.live("every rotation with an offset crop box and media box, and /UserUnit", () =>
    Effect.gen(function*() {
      const bytes = yield* Effect.promise(async () => {
        const paper = await PDFDocument.load(file("pdfs-digital/pdfjs_tracemonkey.pdf"))
        const doc = await PDFDocument.create()
        const pages = await doc.copyPages(paper, [0, 0, 0, 0, 0, 1])
        pages.forEach((page, i) => {
          doc.addPage(page)
          page.setRotation(degrees((i * 90) % 360))
          page.setMediaBox(20, 40, 580, 760)
          page.setCropBox(60, 300, 450, 420)
        })
        // a user space unit of 1.5 points, sideways
        pages[4]!.node.set(PDFName.of("UserUnit"), PDFNumber.of(1.5))
        pages[4]!.setRotation(degrees(-90))
        // a crop box reaching outside the media box: the page is their intersection
        pages[5]!.setCropBox(-100, 200, 900, 500)
        return doc.save()
      })
      const texts = yield* readText(bytes, "rotated.pdf")
      expect(texts.map((t) => t.rotation)).toEqual([0, 90, 180, 270, 270, 90])
      expect([texts[4]!.width, texts[4]!.height]).toEqual([630, 675])
      yield* drawAndCheck(bytes, texts.map(itemLayout))
    }).pipe(Effect.provide(PdfEngine.layer())))

  it.live("boxes from a result of another size are scaled to the page; odd boxes are kept on it", () =>
    Effect.gen(function*() {
      const bytes = file("pdfs-real/rotation.pdf")
      const texts = yield* readText(bytes, "rotation.pdf")
      const page = itemLayout(texts[1]!)
      // the same layout in pixels at 150 DPI
      const scale = 150 / 72
      const pixels = {
        ...page,
        width: page.width * scale,
        height: page.height * scale,
        blocks: page.blocks.map((b) => ({ ...b, bbox: b.bbox.map((v) => v * scale) as unknown as Box }))
      }
      yield* drawAndCheck(bytes, [pixels])
      const odd = {
        page: 0,
        width: 612,
        height: 792,
        blocks: [
          { type: "table", bbox: [-50, -20, 700, 900] as const },
          { type: "picture", bbox: [300, 400, 100, 200] as const },
          { type: "ünïcode ☃ type", bbox: [10, 10, 20, 20] as const }
        ]
      }
      const output = yield* LayoutPdf.layoutPdf(bytes, [odd])
      const [first] = yield* pdfjsPages(output)
      expect(first!.filledAndStroked.slice(-3)).toEqual([[0, 0, 612, 792], [100, 200, 300, 400], [10, 10, 20, 20]])
      expect(first!.items.slice(-3).map((i) => i.str)).toEqual(["1 table", "2 picture", "3 ?n?code ? type"])
    }).pipe(Effect.provide(PdfEngine.layer())))

  it.live("colours: one per known type, a neutral grey for an unknown one", () =>
    Effect.gen(function*() {
      expect(LayoutPdf.colourOf("some_new_type")).toEqual(LayoutPdf.neutralColour)
      expect(LayoutPdf.colourOf("toString")).toEqual(LayoutPdf.neutralColour)
      const known = TYPES.slice(0, -1).map(LayoutPdf.colourOf)
      expect(known.every((c) => c !== LayoutPdf.neutralColour)).toBe(true)
      expect(new Set(known.map(String)).size).toBeGreaterThanOrEqual(11)
      const bytes = file("pdfs-real/rotation.pdf")
      const output = yield* LayoutPdf.layoutPdf(bytes, [
        { page: 0, width: 612, height: 792, blocks: [{ type: "some_new_type", bbox: [10, 10, 100, 100] }] }
      ])
      const stream = drawnStream(yield* Effect.promise(() => PDFDocument.load(output)), 0)!
      expect(stream).toMatch(/0\.5 0\.5 0\.5 rg\s+0\.5 0\.5 0\.5 RG/)
    }))

  it.live("an encrypted file that opens without a password (AES-256, R6): the drawing is encrypted too", () =>
    Effect.gen(function*() {
      const bytes = file("pdfs-real/issue7665.pdf")
      const texts = yield* readText(bytes, "issue7665.pdf")
      const layouts = texts.map(itemLayout)
      expect(layouts[0]!.texts).toContain("Issue 7665")
      yield* drawAndCheck(bytes, layouts, { encrypted: true })
    }).pipe(Effect.provide(PdfEngine.layer())))

  it.live("encrypted files built here (RC4 40-bit, RC4 128-bit with literal strings, AES-128)", () =>
    Effect.gen(function*() {
      for (const revision of [2, 3, 4] as const) {
        const bytes = encryptedPdf(revision)
        const texts = yield* readText(bytes, `r${revision}.pdf`)
        // pdf.js opens it without a password: the file is right
        expect(texts[0]!.items.map((i) => i.text)).toEqual(["Hello, encrypted world"])
        yield* drawAndCheck(bytes, texts.map(itemLayout), { encrypted: true })
      }
    }).pipe(Effect.provide(PdfEngine.layer())))

  it.live("every PDF of the corpus gives a layout PDF with its pages, or a typed error", () =>
    Effect.gen(function*() {
      const outcomes: Record<string, string> = {}
      for (const folder of ["pdfs-real", "pdfs-digital"]) {
        const names = readdirSync(new URL(`${folder}/`, corpus)).filter((name) => name.endsWith(".pdf"))
        for (const name of names) {
          const bytes = file(`${folder}/${name}`)
          const box = { type: "paragraph", bbox: [50, 50, 300, 200] as const }
          const result = yield* Effect.either(
            LayoutPdf.layoutPdf(bytes, [{ page: 0, width: 612, height: 792, blocks: [box] }])
          )
          if (result._tag === "Left") {
            outcomes[name] = result.left.reason
            continue
          }
          const pages = (b: Uint8Array) =>
            Effect.promise(() => getDocument({ data: b.slice(), verbosity: 0 }).promise.then((d) => d.numPages))
          expect([name, yield* pages(result.right)]).toEqual([name, yield* pages(bytes)])
          outcomes[name] = "drawn"
        }
      }
      const drawn = Object.values(outcomes).filter((o) => o === "drawn").length
      expect(drawn).toBeGreaterThanOrEqual(45)
      expect(outcomes["issue7665.pdf"]).toBe("drawn")
      expect(outcomes["issue6010_2.pdf"]).toBe("encrypted")
    }), SLOW)

  it.effect("files it cannot draw on: typed errors", () =>
    Effect.gen(function*() {
      const fail = (bytes: Uint8Array, pages: ReadonlyArray<LayoutPdf.LayoutPage> = []) =>
        Effect.flip(LayoutPdf.layoutPdf(bytes, pages))
      const notPdf = yield* fail(new TextEncoder().encode("hello, not a PDF"))
      expect([notPdf._tag, notPdf.reason]).toEqual(["LayoutPdfError", "unreadable"])
      expect(notPdf.message).toMatch(/^The layout PDF could not be made/)
      // a password is needed to open it
      expect((yield* fail(file("pdfs-real/issue6010_1.pdf"))).reason).toBe("encrypted")
      // pdf.js opens it (empty user password) but pdf-lib cannot read its encrypted object streams
      expect((yield* fail(file("pdfs-real/empty_protected.pdf"))).reason).toBe("unreadable")
      // a result for a page the file does not have
      const beyond = yield* fail(file("pdfs-real/rotation.pdf"), [{ page: 2, width: 612, height: 792, blocks: [] }])
      expect(beyond.reason).toBe("pages")
      expect(beyond.message).toContain("page 3 but the PDF has 2 pages")
    }))
})

// ---------------------------------------------------------------------------------------------------------------
// An encrypted one-page PDF, standard security handler, empty user password, owner password "owner".

const PAD = Buffer.from("28bf4e5e4e758a4164004e56fffa01082e2e00b6d0683e802f0ca9fe6453697a", "hex")

const md5 = (...parts: Array<Uint8Array>) => createHash("md5").update(Buffer.concat(parts)).digest()

const rc4 = (key: Uint8Array, data: Uint8Array): Buffer => {
  const s = Array.from({ length: 256 }, (_, i) => i)
  for (let i = 0, j = 0; i < 256; i++) {
    j = (j + s[i]! + key[i % key.length]!) & 255
    ;[s[i], s[j]] = [s[j]!, s[i]!]
  }
  const out = Buffer.alloc(data.length)
  for (let n = 0, i = 0, j = 0; n < data.length; n++) {
    i = (i + 1) & 255
    j = (j + s[i]!) & 255
    ;[s[i], s[j]] = [s[j]!, s[i]!]
    out[n] = data[n]! ^ s[(s[i]! + s[j]!) & 255]!
  }
  return out
}

/** Revision 2: RC4 40-bit (hex strings); 3: RC4 128-bit (literal strings, escaped); 4: AES-128 (crypt filters). */
const encryptedPdf = (revision: 2 | 3 | 4): Uint8Array => {
  const n = revision === 2 ? 5 : 16
  const id = randomBytes(16)
  const permissions = -3904
  const rounds = (key: Buffer) => {
    for (let i = 0; revision >= 3 && i < 50; i++) key = md5(key.subarray(0, n))
    return key.subarray(0, n)
  }
  const xorRounds = (key: Buffer, data: Buffer) => {
    for (let i = 1; revision >= 3 && i <= 19; i++) data = rc4(key.map((b) => b ^ i), data)
    return data
  }
  // Algorithm 3: /O from the owner password
  const ownerKey = rounds(md5(Buffer.concat([Buffer.from("owner"), PAD]).subarray(0, 32)))
  const o = xorRounds(ownerKey, rc4(ownerKey, PAD))
  // Algorithm 2: the file key from the empty user password; Algorithms 4 and 5: /U
  const p = Buffer.alloc(4)
  p.writeInt32LE(permissions)
  const key = rounds(md5(PAD, o, p, id))
  const u = revision === 2 ? rc4(key, PAD) : Buffer.concat([xorRounds(key, rc4(key, md5(PAD, id))), Buffer.alloc(16)])
  const objectKey = (num: number, salt: boolean) =>
    md5(key, Buffer.from([num & 255, (num >> 8) & 255, (num >> 16) & 255, 0, 0]), Buffer.from(salt ? "sAlT" : ""))
      .subarray(0, Math.min(16, n + 5))
  const content = Buffer.from("BT /F1 24 Tf 72 700 Td (Hello, encrypted world) Tj ET")
  let encrypted: Buffer
  if (revision === 4) {
    const iv = randomBytes(16)
    const cipher = createCipheriv("aes-128-cbc", objectKey(5, true), iv)
    encrypted = Buffer.concat([iv, cipher.update(content), cipher.final()])
  } else {
    encrypted = rc4(objectKey(5, false), content)
  }
  const literal = (bytes: Buffer) =>
    Buffer.concat([
      Buffer.from("("),
      ...[...bytes].map((b) =>
        b === 0x28 || b === 0x29 || b === 0x5c
          ? Buffer.from([0x5c, b])
          : b < 0x20
          ? Buffer.from(`\\${b.toString(8).padStart(3, "0")}`)
          : Buffer.from([b])
      ),
      Buffer.from(")")
    ])
  const string = (bytes: Buffer) => revision === 3 ? literal(bytes) : Buffer.from(`<${bytes.toString("hex")}>`)
  const handler = {
    2: "/V 1 /R 2",
    3: "/V 2 /R 3 /Length 128",
    // no /Length: the key's length is the crypt filter's (16 bytes)
    4: "/V 4 /R 4 /CF << /StdCF << /CFM /AESV2 /AuthEvent /DocOpen /Length 16 >> >> " +
      "/StmF /StdCF /StrF /StdCF"
  }[revision]
  const objects = [
    Buffer.from("<< /Type /Catalog /Pages 2 0 R >>"),
    Buffer.from("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
    Buffer.from("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R " +
      "/Resources << /Font << /F1 4 0 R >> >> >>"),
    Buffer.from("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
    Buffer.concat([Buffer.from(`<< /Length ${encrypted.length} >>\nstream\n`), encrypted, Buffer.from("\nendstream")]),
    Buffer.concat([
      Buffer.from(`<< /Filter /Standard ${handler} /P ${permissions} /O `),
      string(o),
      Buffer.from(" /U "),
      string(u),
      Buffer.from(" >>")
    ])
  ]
  return pdfFile(objects, { version: "1.6", trailer: ` /Encrypt 6 0 R /ID [<${id.toString("hex")}> <${id.toString("hex")}>]` })
}
