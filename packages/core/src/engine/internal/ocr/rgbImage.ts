/**
 * Raw images as the OCR engine takes them: 8-bit pixels, row by row, 3 (RGB) or 4 (RGBA) channels interleaved; and
 * the conversion to packed RGB every later step works on (alpha composited onto white, so transparent backgrounds
 * read as paper).
 */

/** Raw 8-bit pixels, `channels` values per pixel, rows top to bottom. */
export interface RawImage {
  readonly data: Uint8Array
  readonly width: number
  readonly height: number
  readonly channels: 3 | 4
}

/** Packed 8-bit RGB pixels. */
export interface RgbImage {
  readonly data: Uint8Array
  readonly width: number
  readonly height: number
}

/** The image as packed RGB: the same array for RGB, alpha composited onto white for RGBA. */
export const toRgb = (image: RawImage): RgbImage => {
  if (image.channels === 3) return { data: image.data, width: image.width, height: image.height }
  const n = image.width * image.height
  const out = new Uint8Array(n * 3)
  const src = image.data
  for (let i = 0; i < n; i++) {
    const a = src[i * 4 + 3]!
    for (let c = 0; c < 3; c++) {
      const v = src[i * 4 + c]!
      out[i * 3 + c] = a === 255 ? v : Math.round((v * a + 255 * (255 - a)) / 255)
    }
  }
  return { data: out, width: image.width, height: image.height }
}
