/**
 * `scriptorium process` end to end, on the built binary: a corpus PDF becomes markdown (with the document's text),
 * markdown_det, document.json and layout.pdf under DIR/<name>/; a file that is not a PDF prints its error and exits 1
 * while the other file still completes; progress is one plain line per change when stderr is not a terminal, and bars
 * on a (pseudo-)terminal; the temporary store is gone after the run, and after a Ctrl-C in the middle of a long
 * document.
 */
import { spawn, spawnSync } from "node:child_process"
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it, vi } from "vitest"
import { killAll, longPdf, main, run, smallPdf, smallPdfText, start, tempDir } from "./cli.js"

/** Whether script(1) is there to give the command a pseudo-terminal. */
const hasScript = spawnSync("script", ["--version"]).status === 0

// every test starts the binary, often several times; on a busy machine each start takes seconds
vi.setConfig({ testTimeout: 180_000 })

/** The command's own temporary folders in `tmp` (libraries write other files there, e.g. logs). */
const stores = (tmp: string) => readdirSync(tmp).filter((name) => name.startsWith("scriptorium-process-"))

afterAll(killAll)

describe("scriptorium process", () => {
  it("writes a corpus PDF's results to DIR/<name>/, prints the folder, and leaves no temporary files", async () => {
    const out = join(tempDir("process-out"), "results")
    // the child's temporary folder, to see that the store it creates there is removed at exit
    const tmp = tempDir("process-tmp")
    const ran = await run(["process", smallPdf, "-o", out], { TMPDIR: tmp })
    expect(ran.stderr).not.toContain("scriptorium:")
    expect(ran.code).toBe(0)
    const folder = join(out, "docling_multi_page")
    expect(ran.stdout.trim()).toBe(folder)
    expect(readFileSync(join(folder, "markdown.md"), "utf8")).toContain(smallPdfText)
    expect(readFileSync(join(folder, "markdown_det.md"), "utf8")).toContain(smallPdfText)
    const document = JSON.parse(readFileSync(join(folder, "document.json"), "utf8"))
    expect(JSON.stringify(document)).toContain(smallPdfText)
    expect(readFileSync(join(folder, "layout.pdf")).subarray(0, 5).toString()).toBe("%PDF-")
    // not a terminal: one plain line per change, every page counted, on stderr
    for (let page = 1; page <= 5; page++) expect(ran.stderr).toContain(`docling_multi_page.pdf: processing ${page}/5 pages`)
    expect(ran.stderr).toContain("docling_multi_page.pdf: completed 5/5 pages")
    expect(ran.stderr).not.toContain("\x1b[")
    expect(stores(tmp)).toEqual([])
  })

  it.skipIf(!hasScript)("on a terminal (a pseudo-terminal from script(1)) draws a files bar and a pages bar", async () => {
    const out = join(tempDir("process-tty"), "out")
    const command = [process.execPath, main, "process", smallPdf, "-o", out].map((arg) => `'${arg}'`).join(" ")
    const ran = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn("script", ["-qefc", command, "/dev/null"], {
        env: { ...process.env, WORKER_CONCURRENCY: "", OCR_THREADS: "" },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout.on("data", (chunk) => output += String(chunk))
      child.once("close", (code) => resolve({ code, output }))
    })
    expect(ran.code).toBe(0)
    expect(ran.output).toContain("\x1b[2K")
    expect(ran.output).toContain("files                  [####################] 1/1 done")
    expect(ran.output).toContain("ok docling_multi_page.pdf [####################] 5/5 pages completed")
    expect(ran.output).not.toContain("docling_multi_page.pdf: processing")
    expect(readFileSync(join(out, "docling_multi_page/markdown.md"), "utf8")).toContain(smallPdfText)
  })

  it("a file that is not a PDF prints its error and exits 1, while the other file completes", async () => {
    const dir = tempDir("process-bad")
    const notes = join(dir, "notes.pdf")
    writeFileSync(notes, "Meeting notes, plain text that only pretends to be a PDF.\n")
    const out = join(dir, "out")
    const ran = await run(["process", notes, smallPdf, "-o", out])
    expect(ran.code).toBe(1)
    expect(ran.stderr).toContain(
      "notes.pdf: failed: The file 'notes.pdf' is not a PDF (it looks like plain text); upload a PDF"
    )
    expect(ran.stderr).toContain("scriptorium: 1 of 2 file(s) did not complete")
    expect(ran.stdout.trim()).toBe(join(out, "docling_multi_page"))
    expect(readFileSync(join(out, "docling_multi_page/markdown.md"), "utf8")).toContain(smallPdfText)
    expect(existsSync(join(out, "notes"))).toBe(false)
  })

  it("two files with the same name get two folders", async () => {
    const dir = tempDir("process-same")
    const other = join(dir, "copy")
    const out = join(dir, "out")
    await import("node:fs/promises").then((fs) => fs.mkdir(other))
    copyFileSync(smallPdf, join(other, "docling_multi_page.pdf"))
    const ran = await run(["process", smallPdf, join(other, "docling_multi_page.pdf"), "-o", out, "--concurrency", "2"])
    expect(ran.code).toBe(0)
    expect(ran.stdout.trim().split("\n").sort()).toEqual([
      join(out, "docling_multi_page"),
      join(out, "docling_multi_page-2")
    ])
    for (const folder of ["docling_multi_page", "docling_multi_page-2"]) {
      expect(readFileSync(join(out, folder, "markdown.md"), "utf8")).toContain(smallPdfText)
    }
  })

  it("Ctrl-C in the middle of a long document stops, exits 130 and removes the temporary store", async () => {
    const tmp = tempDir("process-int-tmp")
    const out = join(tempDir("process-int"), "out")
    const running = start(["process", longPdf, "-o", out], { TMPDIR: tmp })
    await running.waitFor(/pdkids\.pdf: processing [1-9]\d*\/55 pages/, 90_000)
    expect(stores(tmp).length).toBe(1)
    running.child.kill("SIGINT")
    const ran = await running.exited
    expect(ran.code).toBe(130)
    expect(stores(tmp)).toEqual([])
    expect(existsSync(join(out, "pdkids/markdown.md"))).toBe(false)
  })

  it("usage errors exit 2: no output folder, a missing file, a concurrency of 0", async () => {
    const missingOutput = await run(["process", smallPdf])
    expect(missingOutput.code).toBe(2)
    expect(missingOutput.stderr).toContain("--output")
    const missingFile = await run(["process", "/nowhere/report.pdf", "-o", tempDir("usage")])
    expect(missingFile.code).toBe(2)
    expect(missingFile.stderr).toContain("/nowhere/report.pdf")
    const zero = await run(["process", smallPdf, "-o", tempDir("usage"), "--concurrency", "0"])
    expect(zero.code).toBe(2)
    expect(zero.stderr).toContain("--concurrency must be a whole number of at least 1, but is 0.")
  })
})
