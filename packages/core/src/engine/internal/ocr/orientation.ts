/**
 * A page's orientation, decided before its lines are read, and the geometry of turning a page upright.
 *
 * Rotations are clockwise, in degrees, and name what is done to the given image to read it upright (as a PDF's
 * /Rotate names how a page is turned for display): a page scanned a quarter turn counter-clockwise needs 90.
 *
 * - Sideways (90 or 270): on a page lying on its side, the detector's boxes are lines running up or down the page,
 *   much taller than wide. `aspectVote` weighs the boxes by area: tall against wide.
 * - Which way up: PaddleOCR's text-direction classifier (0 or 180 degrees, on a 48 x 192 strip) reads a sample of
 *   the longest lines (`clsSample`). Their strips are the recogniser's, squeezed to the classifier's width
 *   (`clsInput`): a strip is upright if the page is upright, and a tall box's strip (turned a quarter
 *   counter-clockwise by `cropLine`) is upright if the page was turned a quarter clockwise. `decide` combines the
 *   aspect vote and the classifier's votes into the rotation. On an upright page the strips are the ones that are
 *   read anyway, so the check costs one classifier run.
 * - `rotateRgb` turns the pixels, `rotateQuad` and `rotatedSize` the coordinates, so boxes found on the upright page
 *   can be given back in the frame of the image the caller gave.
 *
 * Vertical CJK writing looks like a sideways page (its columns are tall boxes, and the classifier finds their
 * glyphs, turned with the box, upright): it is read as a page turned 270, whose rows are the columns from the right,
 * which is their reading order.
 */
import type { Strip } from "./lineCrop.js"
import type { Point, Quad } from "./minAreaRect.js"
import type { RgbImage } from "./rgbImage.js"

/** A clockwise quarter-turn rotation, in degrees. */
export type Rotation = 0 | 90 | 180 | 270

/** The classifier's input height, and the width every strip is squeezed into (PaddleOCR's `cls_image_shape`). */
export const CLS_HEIGHT = 48
export const CLS_WIDTH = 192

/** How boxes vote on a page's orientation. */
export interface OrientationOptions {
  /** A box is tall when its height is at least this many times its width, wide in the other direction (1.5). */
  readonly boxRatio: number
  /** The page is sideways when its tall boxes' area is more than this many times its wide boxes' (2). */
  readonly sidewaysRatio: number
  /** Lines classified for which way up (10). */
  readonly sample: number
  /**
   * A page lying the right way is turned over only when the classifier's votes for upside down outweigh those for
   * upright by this share of the lines sampled (0.5, a mean probability of 0.75): a page of one doubtful line stays
   * as it is (the lone word of a near-blank upright scan, scan-bad.pdf, was voted 0.68 upside down).
   */
  readonly margin: number
}

/** The defaults. */
export const defaultOrientationOptions: OrientationOptions = {
  boxRatio: 1.5,
  sidewaysRatio: 2,
  sample: 10,
  margin: 0.5
}

const dist = (a: Point, b: Point) => Math.hypot(a[0] - b[0], a[1] - b[1])

/** A quad's width (along its top and bottom) and height (along its sides), measured as `cropLine` does. */
const sidesOf = ([tl, tr, br, bl]: Quad): { readonly w: number; readonly h: number } => ({
  w: Math.max(dist(tl, tr), dist(bl, br)),
  h: Math.max(dist(tl, bl), dist(tr, br))
})

/** The total area of the tall boxes and of the wide ones (boxes about as tall as wide count for neither). */
export interface AspectVote {
  readonly tall: number
  readonly wide: number
}

/** Weighs the boxes by area: tall against wide. */
export const aspectVote = (
  quads: ReadonlyArray<Quad>,
  options: OrientationOptions = defaultOrientationOptions
): AspectVote => {
  let tall = 0
  let wide = 0
  for (const quad of quads) {
    const { w, h } = sidesOf(quad)
    if (h >= options.boxRatio * w) tall += w * h
    else if (w >= options.boxRatio * h) wide += w * h
  }
  return { tall, wide }
}

/** Whether the page lies on its side: its tall boxes far outweigh its wide ones. */
export const isSideways = (vote: AspectVote, options: OrientationOptions = defaultOrientationOptions): boolean =>
  vote.tall > 0 && vote.tall > options.sidewaysRatio * vote.wide

/**
 * The lines to classify, as indices into `quads`: up to `sample` of the boxes lying the page's way (tall on a
 * sideways page, wide otherwise), longest first. With `boxRatio` at 1.5, `cropLine`'s own threshold for turning a
 * box, exactly the tall ones are turned.
 */
export const clsSample = (
  quads: ReadonlyArray<Quad>,
  sideways: boolean,
  options: OrientationOptions = defaultOrientationOptions
): Array<number> =>
  quads
    .map((quad, i) => ({ i, ...sidesOf(quad) }))
    .filter(({ h, w }) => sideways ? h >= options.boxRatio * w : w >= options.boxRatio * h)
    .sort((a, b) => Math.max(b.w, b.h) - Math.max(a.w, a.h) || a.i - b.i)
    .slice(0, options.sample)
    .map(({ i }) => i)

/**
 * The classifier's input for strips `CLS_HEIGHT` high: each narrowed to at most `CLS_WIDTH` by averaging columns
 * (PaddleOCR squeezes a line into the classifier's width the same way), then, as the recogniser's input, BGR,
 * `(x / 255 - 0.5) / 0.5`, planar, padded on the right with zeros.
 */
export const clsInput = (strips: ReadonlyArray<Strip>): Float32Array => {
  const plane = CLS_WIDTH * CLS_HEIGHT
  const out = new Float32Array(strips.length * 3 * plane)
  strips.forEach((strip, n) => {
    const base = n * 3 * plane
    const width = Math.min(CLS_WIDTH, strip.width)
    const step = strip.width / width
    for (let x = 0; x < width; x++) {
      // source columns [x0, x1) with fractional ends
      const x0 = x * step
      const x1 = x0 + step
      for (let y = 0; y < CLS_HEIGHT; y++) {
        const row = y * strip.width
        let r = 0
        let g = 0
        let b = 0
        for (let c = Math.floor(x0); c < x1 && c < strip.width; c++) {
          const weight = Math.min(c + 1, x1) - Math.max(c, x0)
          const s = (row + c) * 3
          r += strip.rgb[s]! * weight
          g += strip.rgb[s + 1]! * weight
          b += strip.rgb[s + 2]! * weight
        }
        const d = y * CLS_WIDTH + x
        out[base + d] = b / step / 127.5 - 1
        out[base + plane + d] = g / step / 127.5 - 1
        out[base + 2 * plane + d] = r / step / 127.5 - 1
      }
    }
  })
  return out
}

/** The classifier's probability that a strip is upside down, one per strip (its output is `[p0, p180]` each). */
export const upsideDown = (probs: Float32Array, strips: number): Array<number> =>
  Array.from({ length: strips }, (_, i) => probs[i * 2 + 1]!)

/**
 * The rotation that makes the page upright, from whether it lies sideways and the classifier's votes on its sampled
 * lines (each the probability the strip is upside down), by the sum of `p180 - p0` over the strips. An upright-lying
 * page is turned over only when the sum exceeds `margin` times their number (leaving a page as it is is the safe
 * choice). A sideways page must be turned one way or the other: the majority decides, and a tie (no votes) keeps
 * the reading `cropLine` gives tall boxes, as if the page had been turned a quarter clockwise.
 */
export const decide = (
  sideways: boolean,
  votes: ReadonlyArray<number>,
  options: OrientationOptions = defaultOrientationOptions
): Rotation => {
  const score = votes.reduce((sum, p) => sum + (2 * p - 1), 0)
  if (!sideways) return votes.length > 0 && score > options.margin * votes.length ? 180 : 0
  // the strips were cut as if the page had been turned a quarter clockwise: upright strips say it was, and it
  // takes three more quarters to turn it back
  return score > 0 ? 90 : 270
}

/** The size of a `width` x `height` image turned by `rotation`. */
export const rotatedSize = (
  width: number,
  height: number,
  rotation: Rotation
): { readonly width: number; readonly height: number } =>
  rotation === 90 || rotation === 270 ? { width: height, height: width } : { width, height }

/** Where a point of a `width` x `height` image lands when the image is turned by `rotation` (clockwise). */
export const rotatePoint = ([x, y]: Point, rotation: Rotation, width: number, height: number): Point => {
  switch (rotation) {
    case 0:
      return [x, y]
    case 90:
      return [height - y, x]
    case 180:
      return [width - x, height - y]
    case 270:
      return [y, width - x]
  }
}

/** A quad's corners turned with the image, in the same order (the text's own top-left stays first). */
export const rotateQuad = (quad: Quad, rotation: Rotation, width: number, height: number): Quad =>
  quad.map((p) => rotatePoint(p, rotation, width, height)) as unknown as Quad

/** The rotation that undoes `rotation`. */
export const inverse = (rotation: Rotation): Rotation => ((360 - rotation) % 360) as Rotation

/** The image's pixels turned by `rotation` (clockwise); 0 gives the same image back. */
export const rotateRgb = (image: RgbImage, rotation: Rotation): RgbImage => {
  if (rotation === 0) return image
  const { width: w, height: h, data: src } = image
  const size = rotatedSize(w, h, rotation)
  const out = new Uint8Array(src.length)
  if (rotation === 180) {
    const n = w * h
    for (let i = 0, j = (n - 1) * 3; i < n * 3; i += 3, j -= 3) {
      out[j] = src[i]!
      out[j + 1] = src[i + 1]!
      out[j + 2] = src[i + 2]!
    }
    return { data: out, ...size }
  }
  // a source row becomes a destination column: walk the source in order, stepping the destination by its row length
  const ow = size.width
  for (let y = 0; y < h; y++) {
    // 90: (x, y) -> (h - 1 - y, x); 270: (x, y) -> (y, w - 1 - x)
    let d = rotation === 90 ? (h - 1 - y) * 3 : ((w - 1) * ow + y) * 3
    const step = rotation === 90 ? ow * 3 : -ow * 3
    for (let s = y * w * 3, end = s + w * 3; s < end; s += 3, d += step) {
      out[d] = src[s]!
      out[d + 1] = src[s + 1]!
      out[d + 2] = src[s + 2]!
    }
  }
  return { data: out, ...size }
}
