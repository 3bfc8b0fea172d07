/**
 * An upload answered is an upload kept: a server process killed with SIGKILL right after it answered a wave of
 * `POST /process_pdf` (through the upload fast path) comes back with every job it answered for, each with its whole
 * file. The job row and the file are written (and the file fsynced) before the answer, never after it.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"

const corpus = join(import.meta.dirname, "../../../../shared/corpus")
const paper = readFileSync(join(corpus, "pdfs-digital/pdfjs_tracemonkey.pdf"))
const script = join(import.meta.dirname, "support/upload-server.mjs")
const children: Array<ChildProcess> = []

afterAll(() => {
  for (const child of children) child.kill("SIGKILL")
})

/** The server on `dataDir`, once it listens: its base URL and its process. */
const startServer = (dataDir: string) =>
  new Promise<{ readonly base: string; readonly child: ChildProcess }>((resolve, reject) => {
    const child = spawn(process.execPath, [script, dataDir], { stdio: ["ignore", "pipe", "inherit"] })
    children.push(child)
    let out = ""
    child.once("exit", (code, signal) => reject(new Error(`the server exited (${signal ?? code}): ${out}`)))
    child.stdout!.setEncoding("utf8")
    child.stdout!.on("data", (chunk: string) => {
      out += chunk
      const port = /listening (\d+)/.exec(out)?.[1]
      if (port !== undefined) resolve({ base: `http://127.0.0.1:${port}`, child })
    })
  })

const upload = (base: string, name: string) => {
  const form = new FormData()
  form.append("file", new Blob([new Uint8Array(paper)]), name)
  return fetch(`${base}/process_pdf`, { method: "POST", body: form })
}

describe("uploads and kill -9", () => {
  it("every job answered before the kill is there after the restart, with its whole file", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "scriptorium-durable-"))
    const first = await startServer(dataDir)
    // the first answer is slower (pdf.js threads, SQLite's first pages): not part of the wave
    expect((await upload(first.base, "warm.pdf")).status).toBe(200)
    const answered: Array<string> = []
    // a wave of 30; the kill comes the moment 20 are answered, with the others still under way
    await new Promise<void>((resolve) => {
      for (let i = 0; i < 30; i++) {
        upload(first.base, `wave-${i}.pdf`).then(
          async (response) => {
            if (response.status !== 200) return
            answered.push(((await response.json()) as { job_id: string }).job_id)
            if (answered.length === 20) {
              first.child.kill("SIGKILL")
              resolve()
            }
          },
          () => {} // cut off by the kill
        )
      }
    })
    await new Promise((resolve) => first.child.once("exit", resolve))
    const second = await startServer(dataDir)
    for (const id of answered) {
      const status = (await (await fetch(`${second.base}/result/${id}/status`)).json()) as Record<string, unknown>
      expect(status).toMatchObject({ job_id: id, status: "pending", total_pages: 14 })
      const stored = readFileSync(join(dataDir, "blobs", id, "input"))
      expect(Buffer.compare(stored, paper)).toBe(0)
    }
    second.child.kill("SIGKILL")
  }, 60_000)
})
