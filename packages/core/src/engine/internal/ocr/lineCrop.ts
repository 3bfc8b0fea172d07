/**
 * Cutting a text box out of the page for the recogniser: the quad is sampled straight into a strip `height` pixels
 * high (48 for PP-OCRv4 rec) and as wide as the box's aspect ratio asks (capped), with bilinear sampling and
 * supersampling when the box is much taller than the strip, so there is no intermediate full-resolution crop. A box
 * at least 1.5 times taller than wide is read as vertical text and turned a quarter counter-clockwise, as PaddleOCR
 * does. The strip comes back as grey levels; `recInput` turns strips into the recogniser's tensor.
 */
import type { Point, Quad } from "./minAreaRect.js"
import type { RgbImage } from "./rgbImage.js"

/** A strip of grey levels (0 black, 255 white). */
export interface Strip {
  readonly gray: Uint8Array
  /** Packed RGB of the same strip. */
  readonly rgb: Uint8Array
  readonly width: number
  readonly height: number
  /** True when the box was read as vertical text: the strip runs down the box, not across it. */
  readonly turned?: boolean | undefined
}

const dist = (a: Point, b: Point) => Math.hypot(a[0] - b[0], a[1] - b[1])

/** The strip's width for a box of the given size: height-scaled, at least 8 pixels, at most `maxWidth`. */
export const stripWidth = (boxWidth: number, boxHeight: number, height: number, maxWidth: number): number =>
  Math.max(8, Math.min(maxWidth, Math.ceil((height * boxWidth) / Math.max(1, boxHeight))))

/** `value` within 0 and `max`. */
const clamp = (value: number, max: number) => value < 0 ? 0 : value > max ? max : value

/** Bilinear interpolation between four neighbouring pixel values. */
const bilinear = (p00: number, p01: number, p10: number, p11: number, ax: number, ay: number) =>
  (p00 * (1 - ax) + p01 * ax) * (1 - ay) + (p10 * (1 - ax) + p11 * ax) * ay

/** Samples `quad` (top-left, top-right, bottom-right, bottom-left) of `image` into a strip `height` pixels high. */
export const cropLine = (
  image: RgbImage,
  quad: Quad,
  height: number,
  maxWidth: number,
  allowVertical: boolean
): Strip => {
  let [tl, tr, br, bl] = quad
  let boxW = Math.max(dist(tl, tr), dist(bl, br))
  let boxH = Math.max(dist(tl, bl), dist(tr, br))
  const turned = allowVertical && boxW > 0 && boxH / boxW >= 1.5
  if (turned) {
    ;[tl, tr, br, bl] = [tr, br, bl, tl]
    ;[boxW, boxH] = [boxH, boxW]
  }
  const width = stripWidth(boxW, boxH, height, maxWidth)
  const gray = new Uint8Array(width * height)
  const rgb = new Uint8Array(width * height * 3)
  // supersample when one strip pixel covers several page pixels
  const kx = Math.max(1, Math.min(4, Math.round(boxW / width)))
  const ky = Math.max(1, Math.min(4, Math.round(boxH / height)))
  const src = image.data
  const iw = image.width
  const ih = image.height
  const [ux0, ux1] = [tr[0] - tl[0], tr[1] - tl[1]]
  const [vx0, vx1] = [bl[0] - tl[0], bl[1] - tl[1]]
  // where each of a row's samples starts along the box (x and y of `tl + fu * u`), the same for every row: a row then
  // adds its own offset across the box; sums are taken in the same order as sampling point by point would
  const alongX = new Float64Array(width * kx)
  const alongY = new Float64Array(width * kx)
  for (let u = 0; u < width; u++) {
    for (let sx = 0; sx < kx; sx++) {
      const fu = (u + (sx + 0.5) / kx) / width
      alongX[u * kx + sx] = tl[0] + fu * ux0
      alongY[u * kx + sx] = tl[1] + fu * ux1
    }
  }
  const n = kx * ky
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      let r = 0
      let g = 0
      let b = 0
      for (let sy = 0; sy < ky; sy++) {
        const fv = (v + (sy + 0.5) / ky) / height
        const acrossX = fv * vx0
        const acrossY = fv * vx1
        for (let sx = 0; sx < kx; sx++) {
          const x = clamp(alongX[u * kx + sx]! + acrossX - 0.5, iw - 1)
          const y = clamp(alongY[u * kx + sx]! + acrossY - 0.5, ih - 1)
          const x0 = Math.floor(x)
          const y0 = Math.floor(y)
          const x1 = x0 < iw - 1 ? x0 + 1 : iw - 1
          const y1 = y0 < ih - 1 ? y0 + 1 : ih - 1
          const ax = x - x0
          const ay = y - y0
          const p00 = (y0 * iw + x0) * 3
          const p01 = (y0 * iw + x1) * 3
          const p10 = (y1 * iw + x0) * 3
          const p11 = (y1 * iw + x1) * 3
          r += bilinear(src[p00]!, src[p01]!, src[p10]!, src[p11]!, ax, ay)
          g += bilinear(src[p00 + 1]!, src[p01 + 1]!, src[p10 + 1]!, src[p11 + 1]!, ax, ay)
          b += bilinear(src[p00 + 2]!, src[p01 + 2]!, src[p10 + 2]!, src[p11 + 2]!, ax, ay)
        }
      }
      const o = v * width + u
      r /= n
      g /= n
      b /= n
      rgb[o * 3] = r
      rgb[o * 3 + 1] = g
      rgb[o * 3 + 2] = b
      gray[o] = Math.round(0.299 * r + 0.587 * g + 0.114 * b)
    }
  }
  return { gray, rgb, width, height, turned }
}

/**
 * The recogniser's input for one or more strips of the same height: BGR, `(x / 255 - 0.5) / 0.5`, planar, each
 * strip padded on the right with zeros (mid-grey, as PaddleOCR pads) to `width`.
 */
export const recInput = (strips: ReadonlyArray<Strip>, width: number): Float32Array => {
  const height = strips[0]!.height
  const plane = width * height
  const out = new Float32Array(strips.length * 3 * plane)
  strips.forEach((strip, n) => {
    const base = n * 3 * plane
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < strip.width; x++) {
        const s = (y * strip.width + x) * 3
        const d = y * width + x
        out[base + d] = strip.rgb[s + 2]! / 127.5 - 1
        out[base + plane + d] = strip.rgb[s + 1]! / 127.5 - 1
        out[base + 2 * plane + d] = strip.rgb[s]! / 127.5 - 1
      }
    }
  })
  return out
}
