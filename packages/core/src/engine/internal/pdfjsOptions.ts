/**
 * How PdfEngine opens documents with pdf.js (in its threads); tests that read a file with pdf.js directly open it the
 * same way, so they see the same text items.
 */
import { createRequire } from "node:module"
import { dirname, join } from "node:path"

const pdfjsRoot = dirname(createRequire(import.meta.url).resolve("pdfjs-dist/package.json"))

/** The options of `getDocument`, besides the bytes. */
export const documentOptions = {
  verbosity: 0,
  isEvalSupported: false,
  disableFontFace: true,
  useSystemFonts: false,
  // CJK text needs the predefined CMaps to map glyphs to Unicode
  cMapUrl: join(pdfjsRoot, "cmaps") + "/",
  cMapPacked: true,
  standardFontDataUrl: join(pdfjsRoot, "standard_fonts") + "/",
  stopAtErrors: false
} as const
