/**
 * DocumentHandler: the JobHandler that turns an uploaded PDF into markdown. It opens the file with the PdfEngine,
 * records the page count, then takes the pages in order: text layer, blocks in reading order, markdown, stored as the
 * page's checkpoint (`pages/{page}/page.json`) before the page is checkpointed, so a resumed attempt skips it.
 * Reading runs one page ahead: the PDF's thread reads (and, for OCR, renders) the next page while the current ones are
 * recognised and stored, PAGES_AT_ONCE at a time (an OCR engine that reads two pages at once keeps a second core
 * busy while it detects a page; one that reads one at a time has the next page waiting).
 *
 * Each page is routed (PageRouting, under the job's `ocr` option) and its route kept in its result: a page routed to
 * OCR (scanned, image-only, invisible or garbage text layer) is rendered (`renderPage`, 150 DPI) and read by the
 * OcrEngine; its lines, boxes scaled to points, go through TextLayout as text items (line height as font size),
 * which gives paragraphs and reading order, and are kept as `ocr_lines` (text, confidence, box) with
 * `source: "ocr"`. The page image's rules go to its tables (layout/RasterRules), and its pictures (photos, charts,
 * diagrams: layout/RasterFigures) are cropped from it as figures, their labels kept out of the paragraphs. An
 * uploaded image (PNG, JPEG, TIFF, WebP) is a job of its pages (a multi-page TIFF's frames), each decoded by
 * ImageInput and read the same way, its boxes and size in pixels. An OCR failure on one page does not
 * lose the others, nor does a page that cannot be rendered: that page is stored empty (`source: "none"`) with the
 * error in its route's reason.
 *
 * Pages are laid out by the LayoutEngine provided (the built-in one when none is): typed blocks (title, section
 * headers, paragraphs, list items, captions, footnotes, code, formulas, page furniture) in reading order.
 *
 * Once every page is stored, the results are assembled from the checkpoints, read back one at a time, so memory
 * stays bounded whatever the page count: `markdown.md`, `markdown_det.md` (each block with its type and box) and
 * `document.json`. A first read collects what the document pass needs (the lines in the pages' margins, the levels
 * of their headings): running heads, feet and page numbers repeated across pages are typed as such and kept out of
 * the markdown, heading levels are ranked over the document, and a paragraph that goes on across a page break is
 * joined.
 *
 * A file the user must fix (not a PDF, encrypted, unreadable, too demanding) fails the job with the error's sentence
 * and no retry; a store hiccup fails the attempt and the Worker retries it.
 */
import { BlobNotFound, type CorruptPdf, type EmptyFile, type EncryptedPdf, type NotAPdf } from "@scriptorium/api"
import { Chunk, Effect, Option, ParseResult, Schema, Stream } from "effect"
import { type BlobError, BlobStore, readBytes, readText } from "./BlobStore.js"
import * as ImageInput from "./engine/ImageInput.js"
import * as Deskew from "./engine/internal/layout/Deskew.js"
import * as Figure from "./engine/internal/layout/Figure.js"
import { area, intersection } from "./engine/internal/layout/Geometry.js"
import { rasterFigures, turnBox } from "./engine/internal/layout/RasterFigures.js"
import { rasterRules } from "./engine/internal/layout/RasterRules.js"
import * as LayoutEngine from "./engine/LayoutEngine.js"
import { type OcrError, type OcrLine, OcrEngine, type RawImage } from "./engine/OcrEngine.js"
import * as PageImages from "./engine/PageImages.js"
import * as PageRouting from "./engine/PageRouting.js"
import * as TextLayout from "./engine/TextLayout.js"
import * as LayoutPdf from "./render/LayoutPdf.js"
import { detMarkdown } from "./render/MarkdownDet.js"
import { type PageShape, type PageText, PdfEngine, type PdfHandle, type PdfOutOfMemory, type TextItem } from "./engine/PdfEngine.js"
import * as JobFiles from "./JobFiles.js"
import { type JobContext, JobFailure, type JobHandler } from "./JobHandler.js"

/**
 * A block as stored: type, level, box in points (top-left origin) and text. The types are TextLayout's
 * (`BLOCK_TYPES`); `heading` is the type of checkpoints stored before titles and section headers were told apart,
 * still read (and rendered as it was then: a section header, `#` for its level 1).
 */
export const Block = Schema.Struct({
  type: Schema.Literal(...TextLayout.BLOCK_TYPES),
  level: Schema.Number,
  bbox: Schema.Tuple(Schema.Number, Schema.Number, Schema.Number, Schema.Number),
  text: Schema.String,
  /** A picture's image, under the job's `images/` outputs (`0_0.jpg`); its text is the markdown link to it. */
  image: Schema.optional(Schema.String),
  /** A table's rows, top to bottom, of cells left to right (a cell spanning rows only in its first row). */
  rows: Schema.optional(Schema.Array(Schema.Array(Schema.Struct({
    text: Schema.String,
    bbox: Schema.Tuple(Schema.Number, Schema.Number, Schema.Number, Schema.Number),
    /** The column it starts in, from 0. */
    column: Schema.Number,
    row_span: Schema.optional(Schema.Number),
    column_span: Schema.optional(Schema.Number)
  })))),
  /** How many of a table's top rows are its header. */
  header_rows: Schema.optional(Schema.Number)
})

/** How a page was routed: its text layer, OCR, or neither (blank), and why, for debugging. */
export const PageRoute = Schema.Struct({
  decision: Schema.Literal("text", "ocr", "none"),
  reason: Schema.String
})

/**
 * A line read by OCR: its text, the recogniser's confidence (0..1) and its box, in points (top-left origin) on a PDF
 * page, in pixels on an image page.
 */
export const OcrLineResult = Schema.Struct({
  text: Schema.String,
  confidence: Schema.Number,
  bbox: Schema.Tuple(Schema.Number, Schema.Number, Schema.Number, Schema.Number)
})

/** The result of one page, stored as its checkpoint. */
export const PageResult = Schema.Struct({
  /** From 0. */
  page: Schema.Number,
  /** The displayed page size in points. */
  width: Schema.Number,
  height: Schema.Number,
  /** Where the text came from: the PDF's text layer, OCR of the page's image, or nowhere (blank, or OCR failed). */
  source: Schema.Literal("text", "ocr", "none"),
  /** The routing decision (absent in checkpoints stored before routing existed). */
  route: Schema.optional(PageRoute),
  blocks: Schema.Array(Block),
  /** The lines OCR read, in reading order (OCR'd pages only). */
  ocr_lines: Schema.optional(Schema.Array(OcrLineResult)),
  markdown: Schema.String
})

/** The result of one page. */
export type PageResult = typeof PageResult.Type

/** The name of a page's checkpoint file. */
export const PAGE_FILE = "page.json"

/** The result files of a job, under its output folder. */
export const outputs = {
  markdown: "markdown.md",
  markdownDet: "markdown_det.md",
  document: "document.json",
  /** The input PDF with every block's box drawn on its pages (absent for image uploads). */
  layoutPdf: "layout.pdf"
} as const

/**
 * The result of one page from its text layer, routed by PageRouting: a page routed to the text layer has its blocks
 * (laid out by the built-in LayoutEngine); one routed to OCR (or to nothing) is empty, `source: "none"`, until OCR
 * fills it in.
 */
export const pageResult = (
  text: PageText,
  mode: PageRouting.OcrMode = "auto"
): PageResult & { readonly route: PageRouting.Route } =>
  Effect.runSync(layoutPageResult(LayoutEngine.builtIn, text, mode))

/** `pageResult` with the page laid out by `layout`. */
export const layoutPageResult = (
  layout: LayoutEngine.LayoutEngine,
  text: PageText,
  mode: PageRouting.OcrMode = "auto"
): Effect.Effect<PageResult & { readonly route: PageRouting.Route }> => {
  const route = PageRouting.route(text, mode)
  const base = { page: text.page, width: text.width, height: text.height, route }
  if (route.decision !== "text" || !TextLayout.hasUsableText(text.items)) {
    return Effect.succeed({ ...base, source: "none" as const, blocks: [], markdown: "" })
  }
  const input = {
    items: outsideFigures(text),
    width: text.width,
    height: text.height,
    page: text.page,
    source: "text" as const,
    shapes: text.shapes
  }
  return Effect.map(LayoutEngine.run(layout, input), (blocks) => ({
    ...base,
    source: "text" as const,
    blocks,
    markdown: TextLayout.markdown(blocks)
  }))
}

/**
 * The page's text items that are not a vector figure's labels (PageText's `figures`): those belong to the picture,
 * which is cropped from the render with them, not to the paragraphs.
 */
export const outsideFigures = (text: Pick<PageText, "items" | "figures">): ReadonlyArray<TextItem> => {
  const figures = text.figures ?? []
  return figures.length === 0
    ? text.items
    : text.items.filter((item) => !figures.some((box) => Figure.centreInside(item, box)))
}

/**
 * The result of a page read by OCR: the lines, their boxes multiplied by `scale` (72 / dpi for a rendered PDF page,
 * 1 for an image), laid out by TextLayout as text items whose font size is the line's height. Detected boxes vary in
 * height from line to line (ascenders, brackets, the detector's margin), so a height within 30% of the page's median
 * counts as the median: body lines then have one size (paragraphs join, no false headings) and only clearly larger
 * lines stand out as headings. A page where OCR found no usable text is `source: "none"`.
 */
export const ocrPageResult = (
  base: { readonly page: number; readonly width: number; readonly height: number; readonly route: PageRouting.Route },
  lines: ReadonlyArray<OcrLine>,
  scale: number,
  rotation: OcrRotation = 0
): PageResult => Effect.runSync(layoutOcrPageResult(LayoutEngine.builtIn, base, lines, scale, rotation))

/** The clockwise turn OCR gave a page to read it upright (`OcrPage.rotation`). */
export type OcrRotation = 0 | 90 | 180 | 270

/**
 * `ocrPageResult` with the page laid out by `layout`. On a page OCR read turned (`rotation`: scanned sideways or
 * upside down), the lines keep their boxes on the page as it is, and run at the angle that turn undoes, so the
 * layout reads them upright (as it does a PDF page printed sideways) and a line's size is its box's extent across
 * the text. A page that lies a few degrees askew is laid out turned upright, and its blocks turned back
 * (`deskewed`). The lines inside `figures` (the page's pictures, boxes in points) are their labels: kept in
 * `ocr_lines`, left out of the blocks, as a vector figure's are (`outsideFigures`).
 */
export const layoutOcrPageResult = (
  layout: LayoutEngine.LayoutEngine,
  base: { readonly page: number; readonly width: number; readonly height: number; readonly route: PageRouting.Route },
  lines: ReadonlyArray<OcrLine>,
  scale: number,
  rotation: OcrRotation = 0,
  shapes?: ReadonlyArray<PageShape>,
  figures: ReadonlyArray<TextLayout.BBox> = []
): Effect.Effect<PageResult> => {
  const round = (value: number) => Math.round(value * scale * 100) / 100
  const ocrLines = lines.map((line) => ({
    text: line.text,
    confidence: Math.round(line.confidence * 1000) / 1000,
    bbox: [round(line.box[0]), round(line.box[1]), round(line.box[2]), round(line.box[3])] as const
  }))
  // a page scanned askew is laid out turned upright, and its blocks turned back
  const { skew, centre, lines: upright } = deskewed(
    ocrLines.map((line, i) => ({ ...line, polygon: lines[i]!.polygon.map(([x, y]) => [x * scale, y * scale] as const) })),
    rotation,
    base
  )
  const all = ocrTextItems(upright, rotation)
  if (!TextLayout.hasUsableText(all)) {
    const route = { ...base.route, reason: `${base.route.reason}; OCR found no text` }
    return Effect.succeed({ ...base, route, source: "none" as const, blocks: [], ocr_lines: ocrLines, markdown: "" })
  }
  const items = outsideFigures({ items: all, figures: figures.map((box) => Deskew.turnBox(box, -skew, centre)) })
  // rules found on the page as it is do not lie along its turned text
  const input = {
    items,
    width: base.width,
    height: base.height,
    page: base.page,
    source: "ocr" as const,
    shapes: skew === 0 ? shapes : undefined
  }
  return Effect.map(LayoutEngine.run(layout, input), (found) => {
    const page: TextLayout.BBox = [0, 0, base.width, base.height]
    const blocks = skew === 0 ? found : found.map((block) => Deskew.turnBlock(block, skew, centre, page))
    return { ...base, source: "ocr" as const, blocks, ocr_lines: ocrLines, markdown: TextLayout.markdown(blocks) }
  })
}

/** An OCR line as the layout takes it: text, box and polygon on the page, top-left origin. */
interface PlacedLine {
  readonly text: string
  readonly bbox: TextLayout.BBox
  readonly polygon?: ReadonlyArray<readonly [number, number]> | undefined
}

/**
 * OCR lines turned upright about the page's centre when the page lies askew (see internal/layout/Deskew): each
 * polygon turned by `-skew`, its box the box around it. `skew` 0: the lines as given.
 */
export const deskewed = <L extends PlacedLine>(
  lines: ReadonlyArray<L>,
  rotation: OcrRotation,
  page: { readonly width: number; readonly height: number }
): { readonly skew: number; readonly centre: Deskew.Point; readonly lines: ReadonlyArray<L> } => {
  const skew = Deskew.pageSkew(lines.flatMap((line) => line.polygon === undefined ? [] : [line.polygon]), rotation)
  const centre = [page.width / 2, page.height / 2] as const
  if (skew === 0) return { skew, centre, lines }
  return {
    skew,
    centre,
    lines: lines.map((line) => {
      if (line.polygon === undefined) return { ...line, bbox: Deskew.turnBox(line.bbox, -skew, centre) }
      const polygon = line.polygon.map((p) => Deskew.turnPoint(p, -skew, centre))
      return { ...line, polygon, bbox: Deskew.bounds(polygon) }
    })
  }
}

/**
 * OCR lines (boxes on the page, top-left origin) as the text items the layout reads. A line with its polygon becomes
 * its text band: the box along the line, and across it the polygon's own height centred on the polygon. On a page
 * scanned a few degrees askew a long line's upright bounds are much taller than its text (a 3 degree tilt over 600
 * pixels adds 30), so the bounds of neighbouring rows overlap: the layout would join rows into one line, in order of
 * x, and take long lines for headings. A line's font size is its band's extent across the text, snapped to the page's
 * median when within OCR_SIZE_TOLERANCE of it (detected boxes vary by a few pixels where the text does not). On a
 * page OCR read turned, the items run at the angle that turn undoes.
 */
export const ocrTextItems = (lines: ReadonlyArray<PlacedLine>, rotation: OcrRotation = 0): Array<TextItem> => {
  const sideways = rotation === 90 || rotation === 270
  const across = ([x1, y1, x2, y2]: TextLayout.BBox) => sideways ? x2 - x1 : y2 - y1
  // TextItem angles are clockwise in (-180, 180]: a page turned 90 clockwise to be read has text running upwards
  const angle = rotation === 0 ? 0 : rotation === 180 ? 180 : -rotation + (rotation > 180 ? 360 : 0)
  const bands = lines.map(({ bbox, polygon }) => textBand(bbox, polygon, sideways))
  const heights = bands.map(across).sort((a, b) => a - b)
  const median = heights.length === 0 ? 0 : heights[Math.floor(heights.length / 2)]!
  const size = (height: number) => (Math.abs(height - median) <= OCR_SIZE_TOLERANCE * median ? median : height)
  return lines.map(({ text }, i) => {
    const band = bands[i]!
    return {
      text,
      x: band[0],
      y: band[1],
      width: band[2] - band[0],
      height: band[3] - band[1],
      fontName: "ocr",
      fontSize: size(across(band)),
      angle
    }
  })
}

/**
 * A line's text band: `bbox` along the line; across it, the polygon's height (the mean of its two sides) about the
 * polygon's centre, never more than `bbox` (the bounds as they are without a polygon of four corners).
 */
const textBand = (
  bbox: TextLayout.BBox,
  polygon: ReadonlyArray<readonly [number, number]> | undefined,
  sideways: boolean
): TextLayout.BBox => {
  const size = polygon === undefined ? undefined : Deskew.quadSize(polygon)
  if (polygon === undefined || size === undefined) return bbox
  const { height } = size
  const axis = sideways ? 0 : 1
  const centre = polygon.reduce((sum, p) => sum + p[axis], 0) / 4
  const from = Math.max(bbox[axis], centre - height / 2)
  const to = Math.min(bbox[axis + 2]!, centre + height / 2)
  if (!(to > from)) return bbox
  return sideways ? [from, bbox[1], to, bbox[3]] : [bbox[0], from, bbox[2], to]
}

/** How far (a fraction of the median) an OCR line's height may be from the page's median and still count as it. */
const OCR_SIZE_TOLERANCE = 0.3

/**
 * Reads a page image with the OcrEngine and lays it out, with the pictures the image shows (layout/RasterFigures:
 * photos, charts, diagrams, logos) cropped from it as figures, their labels kept out of the blocks. A picture where
 * the PDF already gives one (`known`: its images, boxes in points) is left to the PDF's, whose pixels are the
 * image's own. A failure becomes an empty page whose route says why.
 */
const recognizePage = (
  ocr: OcrEngine,
  base: { readonly page: number; readonly width: number; readonly height: number; readonly route: PageRouting.Route },
  image: RawImage,
  scale: number,
  known: ReadonlyArray<PageImages.Figure> = []
): Effect.Effect<
  { readonly result: PageResult; readonly figures: ReadonlyArray<PageImages.Figure>; readonly rotation: OcrRotation }
> =>
  ocr.recognize(image).pipe(
    Effect.flatMap((result) =>
      Effect.flatMap(LayoutEngine.current, (layout) => {
        const rotation = result.rotation ?? 0
        // the rules the page shows, for its tables (on a page read turned they run at an angle the tables don't take),
        // and its pictures, found on the page as read and cropped from it as it is
        const shapes = rotation === 0 ? rasterRules(image, scale) : undefined
        const pictures = rasterFigures(image, result.lines, rotation)
        const inPoints = pictures.map((box) => box.map((n) => n * scale) as unknown as TextLayout.BBox)
        const fresh = pictures.filter((_, i) => !known.some((figure) => samePlace(figure.bbox, inPoints[i]!)))
        return Effect.zipWith(
          layoutOcrPageResult(layout, base, result.lines, scale, rotation, shapes, inPoints),
          PageImages.cropFigures(image, fresh, scale, rotation),
          (page, figures) => ({ result: page, figures, rotation }),
          { concurrent: true }
        )
      })
    ),
    Effect.catchAll((e: OcrError) =>
      Effect.as(
        Effect.logWarning(`OCR failed on page ${base.page + 1}`, e),
        {
          result: {
            ...base,
            route: { ...base.route, reason: `${base.route.reason}; OCR failed: ${e.message}` },
            source: "none" as const,
            blocks: [],
            markdown: ""
          },
          figures: [],
          rotation: 0 as const
        }
      )
    )
  )

/** Whether two boxes show one picture: they overlap by half the smaller of them or more. */
const samePlace = (a: TextLayout.BBox, b: TextLayout.BBox): boolean =>
  intersection(a, b) >= 0.5 * Math.min(area(a), area(b))

/** A page as markdown with each block annotated (render/MarkdownDet, which documents the format). */
export { detMarkdown }

/** The document handler: PDF in, page checkpoints and the three result files out. */
export const handler: JobHandler<BlobStore | PdfEngine | OcrEngine> = (context) =>
  Effect.gen(function*() {
    const blobs = yield* BlobStore
    // the document's thread lives only while pages are read; assembling needs no PDF
    const pageCount = yield* Effect.scoped(readPages(context, blobs))
    yield* writeOutputs(blobs, context.job.job_id, pageCount)
    yield* writeLayoutPdf(blobs, context.job.job_id, pageCount)
  }).pipe(Effect.catchTags({
    EmptyFile: userError,
    NotAPdf: userError,
    EncryptedPdf: userError,
    CorruptPdf: userError,
    PdfOutOfMemory: userError,
    ImageTooLarge: userError,
    ImageUnreadable: userError,
    BlobNotFound: (e) => Effect.fail(new JobFailure({ message: missingFile(e), retryable: false })),
    ParseError: () =>
      Effect.fail(
        new JobFailure({
          message: "A stored page result of this job could not be read back; delete the job and submit the file again.",
          retryable: false
        })
      )
  }))

type UserError =
  | EmptyFile
  | NotAPdf
  | EncryptedPdf
  | CorruptPdf
  | PdfOutOfMemory
  | ImageInput.ImageTooLarge
  | ImageInput.ImageUnreadable

const userError = (e: UserError) =>
  Effect.fail(new JobFailure({ message: e.message, retryable: false }))

const missingFile = (e: BlobNotFound): string =>
  e.key.endsWith("/input")
    ? "The job's uploaded file is missing from storage (deleted or lost); submit the file again."
    : e.message

/** Pages recognised, laid out and stored at once (see the module's comment). */
const PAGES_AT_ONCE = 2

/** Opens the input, records the page count, and stores every page not done before; returns the page count. */
const readPages = (context: JobContext, blobs: BlobStore) =>
  Effect.gen(function*() {
    const engine = yield* PdfEngine
    const ocr = yield* OcrEngine
    const jobId = context.job.job_id
    const bytes = yield* readBytes(blobs, yield* JobFiles.inputKey(jobId))
    const mode = PageRouting.ocrMode(context.job.options)
    const format = ImageInput.sniff(bytes)
    if (format !== undefined) return yield* readImagePages(context, blobs, ocr, bytes, format, mode)
    // the bytes were read for this alone: move them to the reading thread rather than copy them
    const pdf = yield* engine.open(bytes, { filename: context.job.filename, transfer: true })
    yield* context.setTotalPages(pdf.pageCount)
    const layout = yield* LayoutEngine.current
    const todo = Array.from({ length: pdf.pageCount }, (_, page) => page).filter((page) => !context.done.has(page))
    // two stages, one page apart: the PDF's thread reads (and renders) the next page while these are recognised,
    // laid out and stored (each checkpointed as it is done); at most PAGES_AT_ONCE + 2 pages are in hand at once
    yield* Stream.fromIterable(todo).pipe(
      Stream.mapEffect((page) => readPdfPage(pdf, page, mode, layout)),
      Stream.buffer({ capacity: 1 }),
      Stream.mapEffect((read) =>
        Effect.gen(function*() {
          const { page, width, height, route } = read.result
          const recognized = read.rendered === undefined
            ? { result: read.result, figures: [], rotation: 0 as const }
            : yield* recognizePage(ocr, { page, width, height, route }, read.rendered, 72 / read.rendered.dpi, read.figures)
          const figures = [...read.figures, ...recognized.figures]
          const result = yield* withFigures(blobs, jobId, recognized.result, figures, recognized.rotation)
          yield* blobs.put(yield* JobFiles.pageKey(jobId, read.result.page, PAGE_FILE), encodePage(result))
          yield* context.checkpoint(read.result.page)
        }), { concurrency: PAGES_AT_ONCE }),
      Stream.runDrain
    )
    return pdf.pageCount
  })

/**
 * A page's text layer and route, its figures (PageImages, encoded as JPEG), and its image when it goes to OCR. A page
 * that cannot be rendered is stored empty with the reason in its route, so the document's other pages are kept. The
 * figures are read right after the text layer, while the PDF's thread still holds the page's decoded images.
 */
const readPdfPage = (pdf: PdfHandle, page: number, mode: PageRouting.OcrMode, layout: LayoutEngine.LayoutEngine) =>
  Effect.gen(function*() {
    const text = yield* pdf.page(page)
    const result = yield* layoutPageResult(layout, text, mode)
    const figures = yield* PageImages.readFigures(pdf, text, result.route.decision)
    if (result.route.decision !== "ocr") return { result, rendered: undefined, figures }
    return yield* pdf.renderPage(page).pipe(
      Effect.map((rendered) => ({ result, rendered, figures })),
      Effect.catchTag("CorruptPdf", (e) =>
        Effect.as(Effect.logWarning(`rendering page ${page + 1} failed`, e), {
          result: { ...result, route: { ...result.route, reason: `${result.route.reason}; rendering failed: ${e.message}` } },
          rendered: undefined,
          figures
        }))
    )
  })

/**
 * A page's result with its figures: each placed among the blocks as a `picture` block (PageImages.withPictures),
 * whose text is its markdown link, and stored as the job's output `images/{page}_{index}.jpg` (index from 0 in
 * reading order). Stored before the page's checkpoint, so a resumed job never has a page without its images.
 */
const withFigures = (
  blobs: BlobStore,
  jobId: string,
  result: PageResult,
  figures: ReadonlyArray<PageImages.Figure>,
  rotation: OcrRotation = 0
) =>
  Effect.gen(function*() {
    const { images, page } = pageWithPictures(result, figures, rotation)
    for (const { name, jpeg } of images) {
      yield* blobs.put(yield* JobFiles.outputKey(jobId, PageImages.imageOutput(name)), jpeg)
    }
    return page
  })

/**
 * A page's result with its figures placed among its blocks as `picture` blocks (PageImages.withPictures), and the
 * images to store under their names: the step the pipeline takes, for callers that lay pages out without a job. On
 * a page OCR read turned (`rotation`), the pictures take their places in the page as read.
 */
export const pageWithPictures = <P extends PageResult>(
  result: P,
  figures: ReadonlyArray<PageImages.Figure>,
  rotation: OcrRotation = 0
): { readonly page: P; readonly images: ReadonlyArray<{ readonly name: string; readonly jpeg: Uint8Array }> } => {
  if (figures.length === 0) return { page: result, images: [] }
  const upright = (box: TextLayout.BBox) => turnBox(box, rotation, result.width, result.height)
  const { blocks, images } = PageImages.withPictures(result.page, result.blocks, figures, upright)
  return { page: { ...result, blocks, markdown: TextLayout.markdown(blocks) }, images }
}

/** A page's figures as the pipeline reads them (PageImages.readFigures): its images and vector figures, as JPEG. */
export const readFigures = PageImages.readFigures

/**
 * An uploaded image: its pages are the image's frames (one, or a multi-page TIFF's), each routed to OCR, decoded and
 * read, its pictures stored as a scanned PDF page's are; the page size and the boxes are in pixels of the decoded
 * page.
 */
const readImagePages = (
  context: JobContext,
  blobs: BlobStore,
  ocr: OcrEngine,
  bytes: Uint8Array,
  format: ImageInput.ImageFormat,
  mode: PageRouting.OcrMode
) =>
  Effect.gen(function*() {
    const jobId = context.job.job_id
    const filename = context.job.filename
    const info = yield* ImageInput.inspect(bytes, filename)
    yield* context.setTotalPages(info.pages)
    const todo = Array.from({ length: info.pages }, (_, page) => page).filter((page) => !context.done.has(page))
    yield* Effect.forEach(todo, (page) => Effect.gen(function*() {
      const route = PageRouting.imageRoute(format, mode)
      let result: PageResult
      if (route.decision === "ocr") {
        const image = yield* ImageInput.decodePage(bytes, filename, page)
        const read = yield* recognizePage(ocr, { page, width: image.width, height: image.height, route }, image, 1)
        result = yield* withFigures(blobs, jobId, read.result, read.figures, read.rotation)
      } else {
        const size = page === 0 ? info : yield* ImageInput.pageSize(bytes, filename, page)
        result = { page, width: size.width, height: size.height, source: "none", route, blocks: [], markdown: "" }
      }
      yield* blobs.put(yield* JobFiles.pageKey(jobId, page, PAGE_FILE), encodePage(result))
      yield* context.checkpoint(page)
    }), { concurrency: PAGES_AT_ONCE, discard: true })
    return info.pages
  })

const encoder = new TextEncoder()

const encodePage = (result: PageResult): Uint8Array => encoder.encode(JSON.stringify(result))

const decodePage = Schema.decodeUnknown(Schema.parseJson(PageResult))

/** The stored page results, read back one at a time. */
const storedPages = (blobs: BlobStore, jobId: string, pageCount: number) =>
  (pageCount === 0 ? Stream.empty : Stream.range(0, pageCount - 1)).pipe(
    Stream.mapEffect((page) =>
      JobFiles.pageKey(jobId, page, PAGE_FILE).pipe(
        Effect.flatMap((key) => readText(blobs, key)),
        Effect.flatMap(decodePage)
      )
    )
  )

/**
 * Writes the three result files, each streamed from the page checkpoints, after the document pass (LayoutEngine):
 * a first read of the checkpoints takes each page's notes (the lines in its margins, text and height only; the
 * levels of its headings), which tell the running heads, feet and page numbers repeated across pages and the
 * document's heading levels; each file's read then applies them, so the markdown leaves the furniture out
 * (markdown_det and document.json keep it, typed). The markdown is rendered from the blocks as it streams, a
 * paragraph that goes on across a page break joined into one.
 */
const writeOutputs = (blobs: BlobStore, jobId: string, pageCount: number) =>
  Effect.gen(function*() {
    const notes = yield* Stream.runCollect(
      Stream.map(storedPages(blobs, jobId, pageCount), (page) => LayoutEngine.notePage(page, page.page))
    )
    const pass = LayoutEngine.documentPass(notes)
    const pages = Stream.map(storedPages(blobs, jobId, pageCount), (page) => LayoutEngine.applyDocumentPass(page, pass))
    const write = (name: string, body: Stream.Stream<string, ParseResult.ParseError | BlobNotFound | BlobError>) =>
      Effect.flatMap(JobFiles.outputKey(jobId, name), (key) => blobs.put(key, Stream.encodeText(body)))
    yield* write(outputs.markdown, joinNonEmpty(documentMarkdown(pages)))
    yield* write(outputs.markdownDet, joinNonEmpty(Stream.map(pages, detMarkdown)))
    yield* write(
      outputs.document,
      pages.pipe(
        Stream.map(({ markdown: _, ...page }) => JSON.stringify(page)),
        Stream.intersperseAffixes({ start: "{\"pages\":[", middle: ",", end: "]}" })
      )
    )
  })

/** The markdown of pages in order, as parts (see LayoutEngine's `markdownFlow`). */
const documentMarkdown = <E>(pages: Stream.Stream<PageResult, E>): Stream.Stream<string, E> =>
  Stream.suspend(() => {
    const flow = LayoutEngine.markdownFlow()
    return pages.pipe(
      Stream.mapConcat((page) => flow.page(page.blocks)),
      Stream.concat(Stream.suspend(() => Stream.fromIterable(flow.end())))
    )
  })

/** Page texts separated by a blank line; empty pages leave no gap. */
const joinNonEmpty = <E>(texts: Stream.Stream<string, E>): Stream.Stream<string, E> =>
  texts.pipe(Stream.filter((text) => text !== ""), Stream.intersperse("\n\n"))

/**
 * The layout PDF (render/LayoutPdf): the input's pages with every block's box, type and order drawn over them. An
 * uploaded image has no PDF to draw on, and a PDF that pdf-lib cannot read (some damaged files pdf.js repairs) gets
 * none, with a warning: the job's text results stand either way, and `/layout_pdf` answers 404 for it.
 */
const writeLayoutPdf = (blobs: BlobStore, jobId: string, pageCount: number) =>
  Effect.gen(function*() {
    const input = yield* readBytes(blobs, yield* JobFiles.inputKey(jobId))
    if (ImageInput.sniff(input) !== undefined) return
    const pages = yield* Stream.runCollect(
      Stream.map(storedPages(blobs, jobId, pageCount), ({ blocks, height, page, width }) => ({ page, width, height, blocks }))
    )
    const drawn = yield* LayoutPdf.layoutPdf(input, Chunk.toReadonlyArray(pages)).pipe(
      Effect.tapError((e) => Effect.logWarning(`job ${jobId}: no layout PDF`, e)),
      Effect.option
    )
    if (Option.isSome(drawn)) yield* blobs.put(yield* JobFiles.outputKey(jobId, outputs.layoutPdf), drawn.value)
  })
