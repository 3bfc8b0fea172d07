/**
 * LayoutEngine: a page's text (from its text layer or from OCR) to typed blocks in reading order, and the document
 * pass that needs every page: running heads, feet and page numbers found by repetition, section levels ranked over
 * the whole document, and markdown that joins a paragraph across a column or page break.
 *
 * The page step is a service (a Tag), so a user can plug in another engine (a layout model, say) with
 * `Layer.succeed(LayoutEngine, ...)`; the DocumentHandler uses the one provided, or the built-in one (`builtIn`:
 * TextLayout's rules, pure and synchronous) when none is. Whatever engine runs, a page's layout never fails its job:
 * the built-in engine falls back to the page's text as one paragraph if its rules throw, and the handler does the
 * same for a plugged-in engine that fails or dies.
 *
 * The document pass (`notePage`, `documentPass`, `applyDocumentPass`, `markdownFlow`) is pure and works on stored
 * page results, whichever engine made them.
 */
import { Context, Effect, Layer } from "effect"
import * as Furniture from "./internal/layout/Furniture.js"
import { union } from "./internal/layout/Geometry.js"
import * as Markdown from "./internal/layout/Markdown.js"
import * as Outline from "./internal/layout/Outline.js"
import type { PageShape, TextItem } from "./PdfEngine.js"
import * as TextLayout from "./TextLayout.js"

/** A page to lay out: its text items and its displayed size, in points (pixels for an uploaded image). */
export interface LayoutInput {
  readonly items: ReadonlyArray<TextItem>
  readonly width: number
  readonly height: number
  /** The page's number, from 0 (the title is looked for on the first). */
  readonly page: number
  /** Where the items come from: the PDF's text layer, or OCR lines (one item a line, height as font size). */
  readonly source: "text" | "ocr"
  /**
   * The lines and rectangles the page paints (PdfEngine's `shapes`), whose rules show tables; for a page read by OCR,
   * the rules seen on its image (RasterRules).
   */
  readonly shapes?: ReadonlyArray<PageShape> | undefined
}

/** The layout engine: a page's blocks in reading order. */
export interface LayoutEngine {
  readonly page: (input: LayoutInput) => Effect.Effect<ReadonlyArray<TextLayout.Block>>
}

/** The layout engine's Tag. */
export const LayoutEngine = Context.GenericTag<LayoutEngine>("@scriptorium/core/LayoutEngine")

/** The built-in layout of one page (TextLayout's rules); never throws: the worst it gives is one plain paragraph. */
export const layoutPage = (input: LayoutInput): Array<TextLayout.Block> => {
  try {
    const page = { width: input.width, height: input.height, first: input.page === 0 }
    return TextLayout.blocks(input.items, { page, shapes: input.shapes })
  } catch {
    return plainParagraph(input.items)
  }
}

/** A page's text as one paragraph, in the order the items came: what a layout that failed leaves. */
export const plainParagraph = (items: ReadonlyArray<TextItem>): Array<TextLayout.Block> => {
  const usable = items.filter((item) => item.text.trim() !== "")
  if (usable.length === 0) return []
  const text = usable.map((item) => item.text.trim()).join(" ").replace(/\s+/g, " ")
  const bbox = union(usable.map((item) => [item.x, item.y, item.x + item.width, item.y + item.height] as const))
  const rounded = bbox.map((n) => Math.round(n * 100) / 100) as unknown as TextLayout.BBox
  return [{ type: "paragraph", level: 0, bbox: rounded, text }]
}

/** The built-in engine. */
export const builtIn: LayoutEngine = { page: (input) => Effect.sync(() => layoutPage(input)) }

/** A layer of the built-in engine. */
export const layer: Layer.Layer<LayoutEngine> = Layer.succeed(LayoutEngine, builtIn)

/** The engine provided, or the built-in one. */
export const current: Effect.Effect<LayoutEngine> = Effect.map(
  Effect.serviceOption(LayoutEngine),
  (engine) => (engine._tag === "Some" ? engine.value : builtIn)
)

/**
 * A page laid out by `engine`; a failure or defect of the engine gives the page's text as one paragraph (with a
 * warning), not a failed job.
 */
export const run = (engine: LayoutEngine, input: LayoutInput): Effect.Effect<ReadonlyArray<TextLayout.Block>> =>
  engine === builtIn
    ? Effect.sync(() => layoutPage(input))
    : Effect.suspend(() => engine.page(input)).pipe(
      Effect.catchAllCause((cause) =>
        Effect.as(
          Effect.logWarning(`layout failed on page ${input.page + 1}; its text is kept as one paragraph`, cause),
          plainParagraph(input.items)
        )
      )
    )

// ---------------------------------------------------------------------------------------------------------------
// The document pass: what a page alone cannot tell. Two reads of the pages, neither holding more than one page:
// `notePage` takes the little each page tells (the lines in its margins, the levels of its headings),
// `documentPass` decides on all the notes, `applyDocumentPass` retypes a page accordingly; `markdownFlow` then
// renders the pages in order.

/** A page as the document pass sees it: its size and blocks (a stored PageResult has this shape). */
export type DocumentPage = Furniture.FurniturePage

/** What the document pass needs of one page: small (text and height of a few margin lines, a few numbers). */
export interface PageNotes {
  readonly furniture: ReadonlyArray<Furniture.Candidate>
  readonly levels: ReadonlyArray<number>
}

/** What the document pass decided. */
export interface DocumentPass {
  /** The running heads, feet and page numbers repeated across pages, and the bands they keep to. */
  readonly furniture: Furniture.Furniture
  /** Each level unnumbered section headers use, and the level it becomes (ranked: the highest used is 1). */
  readonly levels: ReadonlyArray<readonly [from: number, to: number]>
}

/** The notes of page `index` (from 0). */
export const notePage = (page: DocumentPage, index: number): PageNotes => ({
  furniture: Furniture.candidates(page, index),
  levels: Outline.levels(page.blocks)
})

/** The document pass over every page's notes. */
export const documentPass = (notes: Iterable<PageNotes>): DocumentPass => {
  const candidates: Array<Furniture.Candidate> = []
  const levels: Array<number> = []
  for (const note of notes) {
    candidates.push(...note.furniture)
    levels.push(...note.levels)
  }
  return { furniture: Furniture.find(candidates), levels: Outline.ranks(levels) }
}

/** A pass that changes nothing. */
export const noDocumentPass: DocumentPass = { furniture: Furniture.none, levels: [] }

/** A page with the document pass applied: its furniture typed as such, its section levels ranked. */
export const applyDocumentPass = <P extends DocumentPage>(page: P, pass: DocumentPass): P =>
  Outline.apply(Furniture.apply(page, pass.furniture), pass.levels)

/** A page's lines that may be running heads, feet or page numbers (part of `notePage`). */
export const furnitureCandidates = Furniture.candidates

/** The furniture of a document, from the candidates of all its pages (part of `documentPass`). */
export const findFurniture = Furniture.find

/** No furniture. */
export const noFurniture = Furniture.none

/** A page with its furniture typed (page number, header or footer), so the markdown leaves it out. */
export const applyFurniture = Furniture.apply

/**
 * A renderer of a document's pages to markdown, in order: each page's parts once they are complete (a paragraph
 * that may go on at the next page waits for it), joined with blank lines. See internal/layout/Markdown.
 */
export const markdownFlow = (): Markdown.Flow => Markdown.flow()

/** Block types the markdown leaves out. */
export const FURNITURE_TYPES = Markdown.FURNITURE
