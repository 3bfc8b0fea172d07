/**
 * TextLayout on hand-built pages (lines, spaces, paragraphs, headings, de-hyphenation, two columns, sideways text,
 * and the block types: title, section headers and their levels, list items, captions, footnotes, code, formulas,
 * page numbers and running heads), the markdown it renders (lists, code fences, furniture left out, paragraphs joined
 * across a column break), the document pass (LayoutEngine: running feet found by repetition), pages no layout can
 * read well (which give plain paragraphs, never an error), and text items pdf.js extracts from real papers of the
 * corpus.
 */
import { describe, expect, it } from "@effect/vitest"
import { DocumentHandler, LayoutEngine, PdfEngine, TextLayout } from "@scriptorium/core"
import { Effect } from "effect"
import { existsSync, readFileSync } from "node:fs"

/** How wide a proportional font draws `text`, in sizes: narrow letters narrow, wide ones wide, half a size mostly. */
const advance = (text: string) =>
  [...text].reduce((w, c) => w + (/[ilIjtf.,;:!'| ]/.test(c) ? 0.28 : /[mwMW]/.test(c) ? 0.8 : /[A-Z]/.test(c) ? 0.65 : 0.5), 0)

/** A text item at (x, y) (top-left), `size` points high, as wide as a proportional font would draw it. */
const item = (
  text: string,
  x: number,
  y: number,
  size = 10,
  width = advance(text) * size,
  fontName = "f1"
): PdfEngine.TextItem => ({
  text,
  x,
  y,
  width,
  height: size,
  fontName,
  fontSize: size,
  angle: 0
})

/** A text item in a fixed-pitch font: every character 0.6 sizes wide. */
const mono = (text: string, x: number, y: number, size = 9) => item(text, x, y, size, text.length * size * 0.6, "tt")

/** A text item in another font (bold, say): same size, different name, widths that vary like a proportional font's. */
const bold = (text: string, x: number, y: number, size = 10) => item(text, x, y, size, advance(text) * size * 1.1, "f2")

/** Lines of body text, 12 points apart, starting at `y`: one item per line. */
const column = (x: number, y: number, texts: ReadonlyArray<string>, size = 10) =>
  texts.map((text, i) => item(text, x, y + i * size * 1.2, size))

const texts = (blocks: ReadonlyArray<TextLayout.Block>) => blocks.map((b) => b.text)
const types = (blocks: ReadonlyArray<TextLayout.Block>) => blocks.map((b) => [b.type, b.text])

/** A letter-size page. */
const page = { width: 612, height: 792 }

/** Prose that fills a line of a 300-point column. */
const prose = (n: number) =>
  Array.from({ length: n }, (_, i) => `line ${i + 1} of running text that fills its column to the end`)

describe("TextLayout", () => {
  it("builds a line from items on one baseline, in x order, with spaces only at real gaps", () => {
    const line = TextLayout.lines([
      item("world", 80, 100, 10, 25),
      item("Hel", 40, 100, 10, 15),
      item("lo", 55.2, 100, 10, 10), // kerning split: no gap, no space
      item("2", 105.5, 97, 6) // a superscript rides along
    ])
    expect(line.map((l) => l.text)).toEqual(["Hello world2"])
    expect(line[0]!.bbox).toEqual([40, 97, 108.5, 110])
    expect(line[0]!.fontSize).toBe(10)
  })

  it("drops text drawn twice to fake bold", () => {
    const line = TextLayout.lines([item("Bold", 40, 100), item("Bold", 40.4, 100), item("text", 70, 100)])
    expect(line[0]!.text).toBe("Bold text")
  })

  it("splits paragraphs at wider gaps, first-line indents, short last lines and bullets", () => {
    const blocks = TextLayout.blocks([
      ...column(50, 100, ["The first paragraph runs over", "two lines of the same width."]),
      // a wider gap
      ...column(50, 140, ["A second paragraph after a gap", "ends with a short line."]),
      // no gap, but an indent
      item("An indented first line starts", 65, 164),
      item("the third paragraph right here.", 50, 176),
      ...column(50, 200, ["• a bullet item that wraps onto", "   its second line", "• another item"])
    ])
    expect(texts(blocks)).toEqual([
      "The first paragraph runs over two lines of the same width.",
      "A second paragraph after a gap ends with a short line.",
      "An indented first line starts the third paragraph right here.",
      "• a bullet item that wraps onto its second line",
      "• another item"
    ])
    expect(blocks.map((b) => b.type)).toEqual(["paragraph", "paragraph", "paragraph", "list_item", "list_item"])
    expect(blocks.every((b) => b.level === 0)).toBe(true)
    expect(TextLayout.markdown(blocks.slice(3)))
      .toBe("- a bullet item that wraps onto its second line\n\n- another item")
  })

  it("calls clearly larger text a heading, its level by how much larger", () => {
    const blocks = TextLayout.blocks([
      item("A Title", 50, 40, 18),
      item("1. Introduction", 50, 80, 12),
      ...column(50, 100, ["Body text of the section, long enough to be", "the body size of the page."]),
      item("1.1 Details", 50, 140, 14),
      ...column(50, 160, ["More body text follows the subsection heading."])
    ])
    // the first page's largest heading is the title; a numbered heading's level is its number's depth
    expect(blocks.map((b) => [b.type, b.level, b.text])).toEqual([
      ["title", 1, "A Title"],
      ["section_header", 1, "1. Introduction"],
      ["paragraph", 0, "Body text of the section, long enough to be the body size of the page."],
      ["section_header", 2, "1.1 Details"],
      ["paragraph", 0, "More body text follows the subsection heading."]
    ])
    expect(TextLayout.markdown(blocks.slice(0, 2))).toBe("# A Title\n\n## 1. Introduction")
    // not the first page: no title, and an unnumbered heading's level follows its size
    const later = TextLayout.blocks([item("Results", 50, 40, 18), ...column(50, 70, prose(2))], {
      page: { ...page, first: false }
    })
    expect(later[0]).toMatchObject({ type: "section_header", level: 1, text: "Results" })
    // the body size is the size of most characters, not of most items
    expect(TextLayout.bodySize([item("Body text", 0, 0), item("T", 0, 0, 18), item("T", 0, 0, 18)])).toBe(10)
  })

  it("joins words hyphenated across lines, and keeps the hyphen of a compound", () => {
    expect(TextLayout.joinLines(["the recog-", "nition of text"])).toBe("the recognition of text")
    expect(TextLayout.joinLines(["the resulting Trace-", "Monkey VM"])).toBe("the resulting Trace-Monkey VM")
    expect(TextLayout.joinLines(["a soft\u00ad", "hyphen"])).toBe("a softhyphen")
    expect(TextLayout.joinLines(["ends a sentence -", "then more"])).toBe("ends a sentence - then more")
    expect(TextLayout.composeAccents("a na¨ıve r´esum´e")).toBe("a naïve résumé")
  })

  it("joins Chinese and Japanese lines without a space, and spaces every other script", () => {
    expect(TextLayout.joinLines(["文字识别是一种", "将图像转换为文本的技术。"])).toBe("文字识别是一种将图像转换为文本的技术。")
    expect(TextLayout.joinLines(["日本語のテキスト、", "改行されています"])).toBe("日本語のテキスト、改行されています")
    expect(TextLayout.joinLines(["共 3 页（PDF）", "第 1 页"])).toBe("共 3 页（PDF）第 1 页")
    expect(TextLayout.joinLines(["价格 total", "123"])).toBe("价格 total 123")
    expect(TextLayout.joinLines(["한국어 문장이", "이어집니다"])).toBe("한국어 문장이 이어집니다")
  })

  it("reads a two-column page column by column, under a full-width title", () => {
    const left = ["Left column line one of the", "left column line two of the", "left column line three ends."]
    const right = ["Right column line one of it", "right column line two of it", "right column line three ends."]
    const blocks = TextLayout.blocks([
      item("A Two Column Paper", 150, 40, 16),
      // same baselines in both columns, a 30 pt gutter
      ...column(50, 80, left).flatMap((l, i) => [l, column(220, 80, right)[i]!])
    ])
    expect(texts(blocks)).toEqual([
      "A Two Column Paper",
      "Left column line one of the left column line two of the left column line three ends.",
      "Right column line one of it right column line two of it right column line three ends."
    ])
    expect(blocks[1]!.bbox).toEqual([50, 80, 166.6, 114])
  })

  it("reads a receipt's prices with their labels, row by row, not as a column of their own", () => {
    const rows: Array<[string, string]> = [["Nasi lemak special", "12.50"], ["Teh tarik", "3.20"], ["Roti canai x2", "4.00"]]
    const lines = TextLayout.lines(TextLayout.readingOrder(rows.flatMap(([label, price], i) => [
      item(label, 20, 100 + 14 * i),
      item(price, 240, 100 + 14 * i)
    ])).flat())
    expect(lines.map((l) => l.text)).toEqual(["Nasi lemak special 12.50", "Teh tarik 3.20", "Roti canai x2 4.00"])
    // the same gap with a column of words on its right is two columns
    const words = ["Right column one", "right column two", "right column ends"]
    const regions = TextLayout.readingOrder(rows.flatMap(([label], i) => [item(label, 20, 100 + 14 * i), item(words[i]!, 240, 100 + 14 * i)]))
    expect(regions.flat().map((i) => i.text)).toEqual([...rows.map(([label]) => label), ...words])
  })

  it("reads a receipt's item row under its headings row by row: a side of figures is not a column", () => {
    // ITEM and the item's code on the left; its quantity, unit price and amount under their headings and units on
    // the right (sroie_512's rows): one line of three holds a digit, and the units line has no label beside it
    const items = [
      item("ITEM", 20, 100),
      item("QTY", 160, 100),
      item("U/P AMOUNT", 200, 100),
      item("(RM) (RM)", 200, 114),
      item("9200310000040", 20, 128),
      item("3", 160, 128),
      item("8.00 24.00 S", 200, 128)
    ]
    const read = TextLayout.readingOrder(items).flatMap((region) => TextLayout.lines(region)).map((l) => l.text)
    expect(read).toEqual(["ITEM QTY U/P AMOUNT", "(RM) (RM)", "9200310000040 3 8.00 24.00 S"])
  })

  it("takes a receipt's total printed large for a line of it, not a heading; its shop's name stays its title", () => {
    const blocks = TextLayout.blocks([
      item("KEDAI MAKAN ALI", 20, 60, 18),
      item("Teh tarik 3.20", 20, 100),
      item("Roti canai x2 4.00", 20, 114),
      item("TOTAL 7.20", 20, 136, 18),
      item("Please come again", 20, 170)
    ])
    expect(blocks.map((b) => b.type === "title" || b.type === "section_header" ? b.text : undefined).filter(Boolean))
      .toEqual(["KEDAI MAKAN ALI"])
    expect(blocks.map((b) => b.text)).toContain("TOTAL 7.20")
    // nor is an item row printed larger than its neighbours, mostly figures
    const itemRow = "101756 5 16.50 17.49 87.45 SR SIMEN"
    const larger = TextLayout.blocks([
      item("Teh tarik 3.20", 20, 100),
      item("Roti canai x2 4.00", 20, 114),
      item(itemRow, 20, 136, 13),
      item("Please come again", 20, 170)
    ])
    expect(larger.find((b) => b.text.includes(itemRow))?.type).toBe("paragraph")
  })

  it("keeps the line breaks of a receipt's rows and of an address; prose, ragged or not, joins", () => {
    const receipt = TextLayout.blocks([
      ["Teh tarik", "3.20"],
      ["Roti canai x2", "4.00"],
      ["Nasi lemak", "12.50"],
      ["Service charge", "1.97"]
    ].flatMap(([label, price], i) => [item(label!, 20, 100 + 14 * i), item(price!, 240, 100 + 14 * i)]))
    expect(texts(receipt)).toEqual(["Teh tarik 3.20\nRoti canai x2 4.00\nNasi lemak 12.50\nService charge 1.97"])
    const address = TextLayout.blocks(column(20, 100, ["Kedai Makan Ali Sdn Bhd (123456-K)", "12 Jalan Ampang", "Kuala Lumpur"]))
    expect(texts(address)).toEqual(["Kedai Makan Ali Sdn Bhd (123456-K)\n12 Jalan Ampang\nKuala Lumpur"])
    // a receipt's head, centred
    const head = ["AIK HUAT HARDWARE ENTERPRISE (SETIA ALAM) SDN BHD", "NO. 17-G, JALAN SETIA INDAH", "40170 SHAH ALAM", "TEL: 012-6651783"]
    const centred = TextLayout.blocks(head.map((text, i) => item(text, 200 - advance(text) * 5, 100 + 12 * i)))
    expect(texts(centred)).toEqual([head.join("\n")])
    // each line ends where the next one's first word would not have fitted
    const ragged = TextLayout.blocks(column(20, 100, [
      "Recognition runs line by line, and every one of the lines is",
      "narrowed before it is read so that each letter gets about the",
      "same number of the model's output steps, which saves time."
    ]))
    expect(texts(ragged)).toEqual([
      "Recognition runs line by line, and every one of the lines is narrowed before it is read so that each letter " +
      "gets about the same number of the model's output steps, which saves time."
    ])
  })

  it("keeps a running header on one line instead of cutting it into columns", () => {
    const blocks = TextLayout.blocks([
      item("254", 47, 71, 8),
      item("P.N.J. Lane et al. / Journal of Hydrology", 174, 71, 8),
      item("1. Introduction", 47, 93, 9),
      ...column(47, 117, ["Widespread afforestation through plantation", "establishment on non-forested land."], 9)
    ])
    expect(texts(blocks)).toEqual([
      "254 P.N.J. Lane et al. / Journal of Hydrology",
      "1. Introduction",
      "Widespread afforestation through plantation establishment on non-forested land."
    ])
  })

  it("turns a sideways page upright and maps the boxes back; stray angles follow the text", () => {
    // text running down the page (90°): after turning, "first" is above "second"
    const down = (text: string, x: number, y: number): PdfEngine.TextItem => ({
      ...item(text, x, y, 10),
      width: 10,
      height: text.length * 5,
      angle: 90
    })
    const blocks = TextLayout.blocks([
      down("Sideways text first line", 300, 100),
      down("and its second line here.", 288, 100),
      { ...item("arXiv:1234", 10, 400), angle: -90 }
    ])
    expect(texts(blocks)).toEqual(["Sideways text first line and its second line here.", "arXiv:1234"])
    expect(blocks[0]!.bbox).toEqual([288, 100, 310, 225])
  })

  it("counts a page without letters or digits as having no text layer", () => {
    expect(TextLayout.hasUsableText([item("  ", 0, 0), item("\ufffd\ufffd", 0, 0), item("\u0001", 0, 0)])).toBe(false)
    expect(TextLayout.hasUsableText([item("...", 0, 0)])).toBe(false)
    expect(TextLayout.hasUsableText([item("Page 1", 0, 0)])).toBe(true)
    expect(TextLayout.blocks([])).toEqual([])
  })
})

describe("TextLayout block types", () => {
  it("types list items, keeping their numbers, and does not read a column of bullets as a column", () => {
    const blocks = TextLayout.blocks([
      ...column(50, 100, ["The steps are these:"]),
      // numbers as items of their own, 14 points left of the text (a gutter wide enough to be a column's)
      item("1.", 50, 112),
      item("Open the file and read every page of it.", 64, 112),
      item("2.", 50, 124),
      item("Lay out each page in reading order.", 64, 124),
      // a symbol font's bullet, decoded to a control character
      item("\u0002", 50, 148),
      item("A bulleted item after the numbered ones.", 64, 148)
    ])
    expect(types(blocks)).toEqual([
      ["paragraph", "The steps are these:"],
      ["list_item", "1. Open the file and read every page of it."],
      ["list_item", "2. Lay out each page in reading order."],
      ["list_item", "• A bulleted item after the numbered ones."]
    ])
    expect(TextLayout.markdown(blocks)).toBe(
      "The steps are these:\n\n1. Open the file and read every page of it.\n\n2. Lay out each page in reading order." +
        "\n\n- A bulleted item after the numbered ones."
    )
  })

  it("tells captions from sentences that mention a figure, and footnotes by their small mark at the foot", () => {
    const blocks = TextLayout.blocks([
      ...column(50, 100, ["Figure 3. The state machine of the tracer."]),
      ...column(50, 120, ["Table 2-2 shows a comparison of the rights."]),
      ...column(50, 140, prose(3)),
      item("1", 50, 700, 5),
      item("http://www.example.org/a-footnote", 55, 701, 8),
      item("2", 50, 710, 5),
      item("A second footnote, on its own line.", 55, 711, 8)
    ], { page })
    expect(types(blocks).slice(0, 2)).toEqual([
      ["caption", "Figure 3. The state machine of the tracer."],
      ["paragraph", "Table 2-2 shows a comparison of the rights."]
    ])
    expect(types(blocks).slice(-2)).toEqual([
      ["footnote", "1 http://www.example.org/a-footnote"],
      ["footnote", "2 A second footnote, on its own line."]
    ])
    // footnotes come after the page's text in the markdown, however the page is read
    expect(TextLayout.markdown([blocks[blocks.length - 1]!, blocks[0]!])).toBe(
      "Figure 3. The state machine of the tracer.\n\n2 A second footnote, on its own line."
    )
  })

  it("calls lines in a fixed-pitch font code, keeps their indentation and fences them", () => {
    const blocks = TextLayout.blocks([
      ...column(50, 100, prose(2)),
      mono("function add(a, b) {", 50, 140),
      mono("return a + b", 71.6, 151),
      mono("}", 50, 162),
      ...column(50, 190, prose(2)),
      // an address in the same typewriter font is not code
      mono("someone@example.org", 50, 240),
      ...column(50, 260, prose(1))
    ])
    expect(blocks.map((b) => b.type)).toEqual(["paragraph", "code", "paragraph", "paragraph", "paragraph"])
    expect(blocks[1]!.text).toBe("function add(a, b) {\n    return a + b\n}")
    expect(TextLayout.blockMarkdown(blocks[1]!)).toBe("```\nfunction add(a, b) {\n    return a + b\n}\n```")
  })

  it("calls a short line of mathematics a formula, and a sentence with an equals sign a paragraph", () => {
    const blocks = TextLayout.blocks([
      ...column(50, 100, prose(4)),
      item("E = mc2 (1)", 150, 156),
      ...column(50, 176, ["where the value x = 3 is used for every one of the cases that follow here.", ...prose(3)])
    ])
    expect(blocks.map((b) => b.type)).toEqual(["paragraph", "formula", "paragraph"])
  })

  it("finds headings at the body's size: another font, alone on a line, followed by text from the same edge", () => {
    const blocks = TextLayout.blocks([
      ...column(50, 100, prose(2)),
      bold("Boots Self-Locking Nut", 50, 140),
      ...column(50, 152, prose(2)),
      // a label in another font with no text under it (a figure's) stays a paragraph
      bold("Nut case", 400, 300),
      bold("Keyway", 300, 340)
    ], { page: { ...page, first: false } })
    expect(types(blocks).filter(([type]) => type !== "paragraph")).toEqual([["section_header", "Boots Self-Locking Nut"]])
    expect(blocks.find((b) => b.text === "Boots Self-Locking Nut")!.level).toBe(3)
  })

  it("types a lone number in the bottom margin as the page number and a running head as a page header", () => {
    const blocks = TextLayout.blocks([
      item("Optimized Table Tokenization for Table Structure Recognition", 190, 40, 9),
      item("9", 480, 40, 9),
      ...column(130, 80, prose(5)),
      item("17", 300, 740)
    ], { page })
    expect(blocks[0]).toMatchObject({ type: "page_header" })
    expect(blocks[blocks.length - 1]).toMatchObject({ type: "page_number", text: "17" })
    // furniture is left out of the markdown (and kept in the blocks)
    expect(TextLayout.markdown(blocks)).not.toContain("Optimized Table")
    expect(TextLayout.markdown(blocks)).not.toMatch(/17$/)
  })
})

describe("Markdown across breaks and the document pass", () => {
  const block = (
    type: TextLayout.BlockType,
    text: string,
    bbox: TextLayout.BBox = [50, 100, 290, 200],
    level = 0
  ): TextLayout.Block => ({ type, level, bbox, text })

  it("joins a paragraph that goes on at the head of the next column or page, hyphenation undone", () => {
    const left = block("paragraph", "The tracer records the loop and its recog-", [50, 500, 290, 700])
    const right = block("paragraph", "nition of types goes on here.", [320, 80, 560, 120])
    const caption = block("caption", "Figure 1. A figure between the two parts.", [50, 710, 290, 720])
    expect(TextLayout.markdown([left, caption, right])).toBe(
      "The tracer records the loop and its recognition of types goes on here.\n\nFigure 1. A figure between the two parts."
    )
    // a paragraph that ends its sentence, or a next one in capitals, is not joined
    expect(TextLayout.markdown([{ ...left, text: "It ends here." }, right])).toBe(
      "It ends here.\n\nnition of types goes on here."
    )
    const unhyphenated = { ...left, text: "The tracer records the loop and" }
    expect(TextLayout.markdown([unhyphenated, { ...right, text: "Another paragraph." }]).split("\n\n")).toHaveLength(2)
    // a hyphen at the foot of a column joins whatever follows (a compound keeps it)
    expect(TextLayout.markdown([{ ...left, text: "the Trace-" }, { ...right, text: "Monkey VM." }])).toBe("the Trace-Monkey VM.")
    // across pages: the document's flow holds the last paragraph until the next page shows
    const flow = LayoutEngine.markdownFlow()
    const first = flow.page([block("paragraph", "First page text that goes on", [50, 600, 560, 700])])
    const second = flow.page([block("page_header", "Running head 2", [50, 20, 560, 30]), block("paragraph", "on the second page.")])
    expect([...first, ...second, ...flow.end()]).toEqual(["First page text that goes on on the second page."])
  })

  it("renders each type as docling does, and a stored legacy heading as it was rendered", () => {
    expect(TextLayout.blockMarkdown(block("title", "A Title", undefined, 1))).toBe("# A Title")
    expect(TextLayout.blockMarkdown(block("section_header", "3.2 Levels", undefined, 2))).toBe("### 3.2 Levels")
    // a checkpoint stored before block types were refined renders as it did
    expect(TextLayout.blockMarkdown(block("heading", "Old", undefined, 1))).toBe("# Old")
    expect(TextLayout.blockMarkdown(block("paragraph", "• an old item"))).toBe("- an old item")
    expect(TextLayout.blockMarkdown(block("list_item", "• an item"))).toBe("- an item")
    expect(TextLayout.blockMarkdown(block("list_item", "(a) an item"))).toBe("(a) an item")
    expect(TextLayout.blockMarkdown(block("code", "a ```fence``` inside"))).toBe("````\na ```fence``` inside\n````")
    expect(TextLayout.markdown([block("page_number", "3"), block("page_footer", "© Someone"), block("paragraph", "Text.")]))
      .toBe("Text.")
  })

  it("writes kept line breaks as markdown's soft breaks, escaping what would start a list, heading or quote", () => {
    const receipt = block("paragraph", "SUBTOTAL 12.00\n- 2.00 member discount\n1. 10.00\n# 3 items\n> thanks\n==========")
    expect(TextLayout.blockMarkdown(receipt))
      .toBe("SUBTOTAL 12.00\n\\- 2.00 member discount\n1\\. 10.00\n\\# 3 items\n\\> thanks\n\\==========")
    expect(TextLayout.markdown([receipt])).toBe(TextLayout.blockMarkdown(receipt))
  })

  it("finds running feet repeated across pages (numbers aside) and the band they keep to", () => {
    const pageOf = (blocks: ReadonlyArray<TextLayout.Block>) => ({ width: 612, height: 792, blocks })
    const foot = (text: string, x = 65) => block("paragraph", text, [x, 755, x + 260, 764])
    const pages = [
      pageOf([block("paragraph", "Body text of page one."), foot("2 Row and Column Access Control Support")]),
      pageOf([block("paragraph", "Body text of page two."), foot("Chapter 2. Roles and separation of duties 11", 355)]),
      pageOf([block("paragraph", "Body text of page three."), foot("10 Row and Column Access Control Support")]),
      // a lone paragraph low on a page with no foot of its kind elsewhere, above the band, stays
      pageOf([block("paragraph", "A last line of text low on its page.", [65, 700, 300, 710])])
    ]
    const furniture = LayoutEngine.findFurniture(pages.flatMap((p, i) => LayoutEngine.furnitureCandidates(p, i)))
    const typed = pages.map((p) => LayoutEngine.applyFurniture(p, furniture).blocks.map((b) => b.type))
    expect(typed).toEqual([
      ["paragraph", "page_footer"],
      // in the band the repeated foot keeps to: a foot too
      ["paragraph", "page_footer"],
      ["paragraph", "page_footer"],
      ["paragraph"]
    ])
    // a single page finds nothing
    expect(LayoutEngine.findFurniture(LayoutEngine.furnitureCandidates(pages[0]!, 0))).toEqual(LayoutEngine.noFurniture)
  })

  it("ranks the section levels a document's unnumbered headings use; numbered ones keep their depth", () => {
    const pageOf = (blocks: ReadonlyArray<TextLayout.Block>) => ({ width: 612, height: 792, blocks })
    // bold headings at the body's size get level 3 on their page; seen whole, they are the document's top level
    const pages = [
      pageOf([block("section_header", "Pre-Digital Era", undefined, 3), block("paragraph", "Text.")]),
      pageOf([block("section_header", "The Modern Era", undefined, 3), block("section_header", "3.2 Details", undefined, 2)])
    ]
    const pass = LayoutEngine.documentPass(pages.map((p, i) => LayoutEngine.notePage(p, i)))
    expect(pass.levels).toEqual([[3, 1]])
    const levels = pages.map((p) => LayoutEngine.applyDocumentPass(p, pass).blocks.map((b) => b.level))
    expect(levels).toEqual([[1, 0], [1, 2]])
  })
})

describe("Pages no layout reads well", () => {
  it("lays out a page of 20,000 tiny items quickly, without throwing", () => {
    const items = Array.from({ length: 20_000 }, (_, i) => item(String.fromCharCode(65 + (i % 26)), (i % 200) * 3, Math.floor(i / 200) * 4, 2))
    const started = performance.now()
    const blocks = LayoutEngine.layoutPage({ items, width: 612, height: 792, page: 0, source: "text" })
    expect(performance.now() - started).toBeLessThan(5_000)
    expect(blocks.length).toBeGreaterThan(0)
  })

  it.effect("uses a plugged-in LayoutEngine, and keeps a page's text as one paragraph when that engine fails", () =>
    Effect.gen(function*() {
      const text = { page: 0, width: 612, height: 792, rotation: 0, items: column(50, 100, prose(3)) }
      const mine: LayoutEngine.LayoutEngine = {
        page: (input) => Effect.succeed([{ type: "code", level: 0, bbox: [0, 0, 1, 1], text: `${input.items.length}` }])
      }
      const plugged = yield* DocumentHandler.layoutPageResult(mine, text, "never")
      expect(plugged.blocks).toEqual([{ type: "code", level: 0, bbox: [0, 0, 1, 1], text: "3" }])
      const failing: LayoutEngine.LayoutEngine = { page: () => Effect.die(new Error("model crashed")) }
      const fallen = yield* DocumentHandler.layoutPageResult(failing, text, "never")
      expect(fallen.blocks.map((b) => [b.type, b.text])).toEqual([["paragraph", prose(3).join(" ")]])
      // the Tag: the engine provided, else the built-in one
      expect(yield* LayoutEngine.current).toBe(LayoutEngine.builtIn)
      expect(yield* Effect.provideService(LayoutEngine.current, LayoutEngine.LayoutEngine, mine)).toBe(mine)
    }))

  it("gives plain paragraphs, never an error, for items with impossible numbers", () => {
    const broken = [
      { ...item("NaN box", Number.NaN, 10), width: Number.NaN },
      { ...item("Infinite", 10, Number.POSITIVE_INFINITY), fontSize: Number.POSITIVE_INFINITY },
      { ...item("zero size", 10, 30), fontSize: 0, height: 0, width: 0 },
      { ...item("negative", -50, -20), width: -10 },
      item("ok text", 10, 50)
    ]
    const blocks = LayoutEngine.layoutPage({ items: broken, width: 612, height: 792, page: 0, source: "text" })
    expect(blocks.map((b) => b.text).join(" ")).toContain("ok text")
    expect(LayoutEngine.plainParagraph(broken)[0]!.text).toBe("NaN box Infinite zero size negative ok text")
  })
})

const corpus = new URL("../../../../shared/corpus/pdfs-digital/", import.meta.url)
const haveCorpus = existsSync(corpus)

/** The blocks of one page of a corpus paper, read by the real engine. */
const pageBlocks = (name: string, page: number) =>
  Effect.scoped(Effect.gen(function*() {
    const engine = yield* PdfEngine.PdfEngine
    const pdf = yield* engine.open(new Uint8Array(readFileSync(new URL(name, corpus))), { filename: name })
    const text = yield* pdf.page(page)
    return { text, blocks: TextLayout.blocks(text.items) }
  }))

const skipped = haveCorpus ? "" : " (skipped: ../shared/corpus is absent)"

describe.skipIf(!haveCorpus)(`TextLayout on corpus papers${skipped}`, () => {
  it.live("tracemonkey page 1: title, abstract, then the left column before the right one", () =>
    Effect.gen(function*() {
      const { text, blocks } = yield* pageBlocks("pdfjs_tracemonkey.pdf", 0)
      expect(TextLayout.bodySize(text.items)).toBe(9)
      const md = TextLayout.markdown(blocks)
      expect(md.startsWith("# Trace-based Just-in-Time Type Specialization for Dynamic Languages\n\n")).toBe(true)
      const order = [
        "Dynamic languages such as JavaScript are more difficult to compile", // abstract, left column
        "## 1. Introduction", // left column, lower down
        "and is used for the application logic of browser-based" // top of the right column
      ].map((s) => md.indexOf(s))
      expect(order.every((i) => i >= 0)).toBe(true)
      expect(order).toEqual([...order].sort((a, b) => a - b))
      // every block lies on the page
      for (const b of blocks) {
        expect(b.bbox[0]).toBeGreaterThanOrEqual(0)
        expect(b.bbox[3]).toBeLessThanOrEqual(text.height)
      }
    }).pipe(Effect.provide(PdfEngine.layer())))

  it.live("a two-column journal page with subscripts keeps its paragraphs whole", () =>
    Effect.gen(function*() {
      const { blocks } = yield* pageBlocks("mineru_demo1.pdf", 0)
      const abstract = blocks.find((b) => b.text.startsWith("The hydrologic effect of replacing pasture"))!
      // the line with "N" + subscript "zero" did not split the paragraph
      expect(abstract.text).toContain(
        "(Nzero) for the catchments in group 1. This model performed particularly well, and when adjusted for climate"
      )
      const second = (yield* pageBlocks("mineru_demo1.pdf", 1)).blocks
      expect(second[0]!.text).toBe("254 P.N.J. Lane et al. / Journal of Hydrology 310 (2005) 253–265")
      expect(second[1]!.text).toBe("1. Introduction")
    }).pipe(Effect.provide(PdfEngine.layer())))
})
