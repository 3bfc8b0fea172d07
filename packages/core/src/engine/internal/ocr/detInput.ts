/**
 * The detection model's input: the page scaled so its longer side is at most `maxSide` (never enlarged), each side
 * rounded to a multiple of 32 as the DB network needs, normalised with ImageNet's mean and deviation in BGR channel
 * order (PaddleOCR reads images with OpenCV, BGR, and trained the models that way), as a planar NCHW float tensor.
 * Resizing is done by sharp (area-aware downscaling, so a 5000-pixel scan does not alias).
 */
import sharp from "sharp"
import type { RgbImage } from "./rgbImage.js"

/** The tensor for the detector, and the size it was made at. */
export interface DetInput {
  readonly data: Float32Array
  readonly width: number
  readonly height: number
}

const MEAN = [0.485, 0.456, 0.406] as const
const STD = [0.229, 0.224, 0.225] as const

/** The size the page is scaled to: longer side at most `maxSide`, each side a multiple of 32, at least 32. */
export const detSize = (width: number, height: number, maxSide: number): { width: number; height: number } => {
  const scale = Math.min(1, maxSide / Math.max(width, height))
  const round32 = (v: number) => Math.max(32, Math.round((v * scale) / 32) * 32)
  return { width: round32(width), height: round32(height) }
}

/** Scales and normalises the page for the detector. */
export const detInput = async (image: RgbImage, maxSide: number): Promise<DetInput> => {
  const size = detSize(image.width, image.height, maxSide)
  const pixels = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(size.width, size.height, { fit: "fill", kernel: "linear" })
    .raw()
    .toBuffer()
  const plane = size.width * size.height
  const data = new Float32Array(plane * 3)
  for (let i = 0; i < plane; i++) {
    // channel 0 is blue, 2 is red
    for (let c = 0; c < 3; c++) {
      data[c * plane + i] = (pixels[i * 3 + (2 - c)]! / 255 - MEAN[c]!) / STD[c]!
    }
  }
  return { data, width: size.width, height: size.height }
}
