/**
 * PageImages: the images a PDF page paints (PdfEngine's `pageImages`) as the job's figures: which of them count,
 * their names (`{page}_{index}.jpg`, page from 0 and index from 0 on each page, as seed 001 lists them), JPEG
 * encoding (sharp), and their `picture` blocks placed among the page's blocks in reading order, each linked from the
 * markdown as `![](images/{name})`. The link is relative to the markdown file: beside `markdown.md` in the job's
 * outputs the image is `images/{name}`, and from `GET /result/{id}/markdown` it resolves to
 * `GET /result/{id}/images/{name}`, the seed's route for it.
 *
 * A scan is not a figure: an image covering FIGURE_MAX_AREA of the page or more is left out, and so is every image of
 * a page not read from its text layer whose images together cover that much (a scan stored in strips). The pictures
 * of a scanned page are found on its image instead (layout/RasterFigures) and cropped from it (`cropFigures`).
 */
import { Effect, Schema } from "effect"
import sharp from "sharp"
import { roundBox } from "./internal/layout/Geometry.js"
import type { RawImage } from "./internal/ocr/rgbImage.js"
import type { PageDrawing, PageImage, PageText, PdfHandle, PdfReadError } from "./PdfEngine.js"
import type { BBox } from "./TextLayout.js"

/** The folder of a job's outputs the images are stored in (`JobFiles.outputKey(job, "images/0_0.jpg")`). */
export const IMAGES_FOLDER = "images/"

/** An image covering this fraction of the page or more is the page itself (a scan, a background), not a figure. */
export const FIGURE_MAX_AREA = 0.8

/**
 * The most pixels a page's figures hold together when read for a job (a 4,000 x 4,000 photo); larger ones come
 * downscaled. A page's raw pixels are in hand only until they are encoded.
 */
export const MAX_FIGURE_PIXELS = 16_000_000

/** The JPEG quality images are saved at. */
export const JPEG_QUALITY = 85

/** The name of a page's `index`th image (both from 0): `0_0.jpg`. */
export const imageName = (page: number, index: number): string => `${page}_${index}.jpg`

/** The output name of an image: `images/0_0.jpg`. */
export const imageOutput = (name: string): string => `${IMAGES_FOLDER}${name}`

/** The markdown of an image, linked relative to the markdown: `![](images/0_0.jpg)`. */
export const imageLink = (name: string): string => `![](${IMAGES_FOLDER}${name})`

/**
 * Whether a page's images are worth asking for: not when it is read by OCR (or not at all) and images cover
 * FIGURE_MAX_AREA of it together (a scan, maybe in strips), nor when nothing it draws is an image or a vector figure
 * (`vectorFigures`: how many PageText's `figures` holds).
 */
export const mayHaveFigures = (
  decision: "text" | "ocr" | "none",
  drawing: PageDrawing | undefined,
  vectorFigures = 0
): boolean => {
  if (drawing !== undefined && drawing.images === 0 && vectorFigures === 0) return false
  return decision === "text" || (drawing?.imageCoverage ?? 0) < FIGURE_MAX_AREA
}

/** A page's image encoded as JPEG, with its box on the page: a figure not yet stored. */
export interface Figure {
  readonly bbox: BBox
  readonly jpeg: Uint8Array
}

/**
 * A page's figures, right after its text layer was read (`text`, routed to `decision`): its images (see
 * `mayHaveFigures`, FIGURE_MAX_AREA), each encoded as JPEG, in paint order. An image that cannot be read or encoded
 * is left out with a warning; the page's text stands either way.
 */
export const readFigures = (
  pdf: PdfHandle,
  text: PageText,
  decision: "text" | "ocr" | "none"
): Effect.Effect<ReadonlyArray<Figure>, PdfReadError> =>
  mayHaveFigures(decision, text.drawing, text.figures?.length ?? 0)
    ? pdf.pageImages(text.page, { maxArea: FIGURE_MAX_AREA, maxPixels: MAX_FIGURE_PIXELS }).pipe(
      Effect.catchTag("CorruptPdf", (e) =>
        Effect.as(Effect.logWarning(`reading the images of page ${text.page + 1} failed`, e), [])),
      Effect.flatMap((images) =>
        Effect.forEach(images, (image) =>
          encodeJpeg(image).pipe(
            Effect.map((jpeg): Figure => ({ bbox: image.bbox, jpeg })),
            Effect.tapError((e) => Effect.logWarning(`an image of page ${text.page + 1} was left out`, e)),
            Effect.option
          ))
      ),
      Effect.map((figures) => figures.flatMap((figure) => (figure._tag === "Some" ? [figure.value] : [])))
    )
    : Effect.succeed([])

/**
 * Regions of a page image (a scanned or OCR'd page: `boxes` in its pixels) as figures, each cropped from the image
 * and encoded as JPEG, its box on the page multiplied by `scale` (points per pixel; 1 for an image page). On a page
 * scanned turned, `turn` (clockwise degrees, OCR's rotation) saves each picture upright; its box stays on the page as
 * it lies. A region that cannot be encoded is left out with a warning, as `readFigures` does.
 */
export const cropFigures = (
  image: RawImage,
  boxes: ReadonlyArray<BBox>,
  scale: number,
  turn: 0 | 90 | 180 | 270 = 0
): Effect.Effect<ReadonlyArray<Figure>> =>
  Effect.map(
    Effect.forEach(boxes, (box) => {
      const crop = cropped(image, box, scale)
      return encodeJpeg(crop, turn).pipe(
        Effect.map((jpeg): Figure => ({ bbox: crop.bbox, jpeg })),
        Effect.tapError((e) => Effect.logWarning("a picture of a scanned page was left out", e)),
        Effect.option
      )
    }),
    (figures) => figures.flatMap((figure) => (figure._tag === "Some" ? [figure.value] : []))
  )

/** The pixels of an image within a box (whole pixels, clipped to the image), as a PageImage placed at `box * scale`. */
const cropped = (image: RawImage, box: BBox, scale: number): PageImage => {
  const { channels, data } = image
  const x1 = Math.max(0, Math.floor(box[0]))
  const y1 = Math.max(0, Math.floor(box[1]))
  const width = Math.max(1, Math.min(image.width, Math.ceil(box[2])) - x1)
  const height = Math.max(1, Math.min(image.height, Math.ceil(box[3])) - y1)
  const out = new Uint8Array(width * height * channels)
  const rowBytes = width * channels
  for (let y = 0; y < height; y++) {
    const from = ((y1 + y) * image.width + x1) * channels
    out.set(data.subarray(from, from + rowBytes), y * rowBytes)
  }
  return { bbox: scaledBox([x1, y1, x1 + width, y1 + height], scale), data: out, width, height, channels, source: "render" }
}

/** A box multiplied by `scale`, to a hundredth of a point. */
const scaledBox = (box: BBox, scale: number): BBox => roundBox(box.map((n) => n * scale) as unknown as BBox)

/** An image sharp could not encode (a side too long for JPEG, memory). */
export class ImageEncodeFailed extends Schema.TaggedError<ImageEncodeFailed>()("ImageEncodeFailed", {
  reason: Schema.String
}) {
  override get message() {
    return `An image could not be saved as JPEG: ${this.reason}`
  }
}

/**
 * An image as a JPEG (quality JPEG_QUALITY), its transparency flattened onto white, resized where needed so its
 * proportions are those of its box on the page (`displayedSize`), then turned `turn` degrees clockwise (a picture
 * of a page scanned turned, saved upright). sharp works on libuv's thread pool, not on the event loop.
 */
export const encodeJpeg = (
  image: PageImage,
  turn: 0 | 90 | 180 | 270 = 0
): Effect.Effect<Uint8Array, ImageEncodeFailed> =>
  Effect.tryPromise({
    try: async () => {
      const size = displayedSize(image)
      let pipeline = sharp(image.data, {
        raw: { width: image.width, height: image.height, channels: image.channels }
      }).flatten({ background: "#ffffff" })
      if (size.width !== image.width || size.height !== image.height) {
        pipeline = pipeline.resize(size.width, size.height, { fit: "fill" })
      }
      // turned after its size is settled (the size follows the box as the image lies on the page)
      if (turn !== 0) pipeline = pipeline.rotate(turn)
      return new Uint8Array(await pipeline.jpeg({ quality: JPEG_QUALITY }).toBuffer())
    },
    catch: (error) => new ImageEncodeFailed({ reason: error instanceof Error ? error.message : String(error) })
  })

/** How far (as a ratio) an image's proportions may be from its box's before it is stretched to them. */
const ASPECT_SLACK = 0.02

/**
 * The size an image is saved at: its own, or, when its proportions are not its box's (pixels not square as painted),
 * the box's proportions with as many pixels as it has (so it stays within the bound it was read under).
 */
export const displayedSize = (
  image: Pick<PageImage, "bbox" | "width" | "height">
): { readonly width: number; readonly height: number } => {
  const boxWidth = image.bbox[2] - image.bbox[0]
  const boxHeight = image.bbox[3] - image.bbox[1]
  if (!(boxWidth > 0 && boxHeight > 0)) return { width: image.width, height: image.height }
  const box = boxWidth / boxHeight
  const own = image.width / image.height
  if (Math.abs(Math.log(own / box)) <= Math.log(1 + ASPECT_SLACK)) return { width: image.width, height: image.height }
  const pixels = image.width * image.height
  return {
    width: Math.max(1, Math.floor(Math.sqrt(pixels * box))),
    height: Math.max(1, Math.floor(Math.sqrt(pixels / box)))
  }
}

/** A picture block: an image's box on the page, its name, and its markdown link as its text. */
export interface PictureBlock {
  readonly type: "picture"
  readonly level: 0
  readonly bbox: BBox
  /** The image's markdown (`imageLink`): the renderers show a block by its text. */
  readonly text: string
  /** The image's name under the job's `images/` outputs. */
  readonly image: string
}

/** The block of an image stored as `name`. */
export const pictureBlock = (bbox: BBox, name: string): PictureBlock => ({
  type: "picture",
  level: 0,
  bbox,
  text: imageLink(name),
  image: name
})

/**
 * The page's blocks with its pictures among them, in reading order. A picture goes after the last block (in
 * reading order) that is in its column (overlaps it left to right) and starts above it; with none, before the first
 * block in its column; with no block in its column at all, after the last block that starts above it. Pictures
 * given the same place keep the order of their tops, then lefts. The blocks' own order is never changed. Above and
 * left are as the page reads: `upright` turns a box on a page read turned (scanned sideways) to the page upright.
 */
export const placePictures = <B extends { readonly bbox: BBox }, P extends { readonly bbox: BBox }>(
  blocks: ReadonlyArray<B>,
  pictures: ReadonlyArray<P>,
  upright: (box: BBox) => BBox = (box) => box
): Array<B | P> => {
  const read = blocks.map((block) => ({ bbox: upright(block.bbox) }))
  const slots = pictures
    .map((picture) => {
      const box = upright(picture.bbox)
      return { picture, box, slot: slotOf(read, box) }
    })
    .sort((a, b) => a.slot - b.slot || a.box[1] - b.box[1] || a.box[0] - b.box[0])
  const out: Array<B | P> = []
  let next = 0
  for (let i = 0; i <= blocks.length; i++) {
    while (next < slots.length && slots[next]!.slot === i) out.push(slots[next++]!.picture)
    if (i < blocks.length) out.push(blocks[i]!)
  }
  return out
}

/**
 * A page's blocks with its figures among them as picture blocks (`placePictures`, `upright` as there), named in
 * reading order (the first in the markdown is `{page}_0.jpg`), and the images to store under those names.
 */
export const withPictures = <B extends { readonly bbox: BBox }>(
  page: number,
  blocks: ReadonlyArray<B>,
  figures: ReadonlyArray<Figure>,
  upright?: (box: BBox) => BBox
): {
  readonly blocks: Array<B | PictureBlock>
  readonly images: Array<{ readonly name: string; readonly jpeg: Uint8Array }>
} => {
  const placed = placePictures(blocks, figures.map((figure) => ({ bbox: figure.bbox, figure })), upright)
  const isFigure = (item: B | { bbox: BBox; figure: Figure }): item is { bbox: BBox; figure: Figure } =>
    !blocks.includes(item as B)
  const images: Array<{ readonly name: string; readonly jpeg: Uint8Array }> = []
  const out = placed.map((item): B | PictureBlock => {
    if (!isFigure(item)) return item
    const name = imageName(page, images.length)
    images.push({ name, jpeg: item.figure.jpeg })
    return pictureBlock(item.figure.bbox, name)
  })
  return { blocks: out, images }
}

/** The index in `blocks` a picture at `box` goes before (`blocks.length`: at the end). */
const slotOf = (blocks: ReadonlyArray<{ readonly bbox: BBox }>, box: BBox): number => {
  const inColumn = (b: BBox) => Math.min(b[2], box[2]) - Math.max(b[0], box[0]) > 0
  let lastAbove = -1
  let firstInColumn = -1
  let lastAboveAnywhere = -1
  blocks.forEach(({ bbox }, i) => {
    const above = bbox[1] < box[1]
    if (above) lastAboveAnywhere = i
    if (!inColumn(bbox)) return
    if (firstInColumn < 0) firstInColumn = i
    if (above) lastAbove = i
  })
  if (lastAbove >= 0) return lastAbove + 1
  if (firstInColumn >= 0) return firstInColumn
  return lastAboveAnywhere + 1
}
