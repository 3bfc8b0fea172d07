/**
 * Seed 000's three client code paths, re-expressed with the TypeScript client against a real server (SQLite, local
 * storage, a real Worker running the real document pipeline, real HTTP on a free port): the polling loop of
 * `wait_for_completion`, the asyncio/aiohttp flow (many awaits in flight at once), and the concurrent batch of
 * several corpus PDFs (`process_multiple_pdfs`). Each ends with the document's markdown, checked for its text.
 */
import { type Job, JobFailed } from "@scriptorium/api"
import { type Client, createClient } from "@scriptorium/client"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { corpus, paper, sleep, startServer, type TestServer } from "./TestServer.js"

const token = "seed-000-token"

/** Corpus PDFs, each with a phrase its markdown must contain. */
const batch = [
  { file: "docling_multi_page.pdf", phrase: "Christopher Latham Sholes" },
  { file: "docling_code_and_formula.pdf", phrase: "JavaScript Code Example" },
  { file: "docling_table_mislabeled_as_picture.pdf", phrase: "private practitioners" },
  { file: "docling_2305.03393v1-pg9.pdf", phrase: "Hyper Parameter Optimization" }
].map((entry) => ({ ...entry, bytes: new Uint8Array(readFileSync(join(corpus, "pdfs-digital", entry.file))) }))

let server: TestServer
let client: Client

beforeAll(async () => {
  server = await startServer({ token })
  client = createClient({ baseUrl: server.baseUrl, token })
})

afterAll(async () => {
  await server?.close()
})

/** Whitespace folded, so a phrase broken across lines still matches. */
const folded = (text: string) => text.replace(/\s+/g, " ")

describe("seed 000's client code paths, with @scriptorium/client", () => {
  it("the polling loop: upload, poll the status until completed, fetch the markdown", async () => {
    const started = performance.now()
    const upload = await client.processPdf("document.pdf", paper)
    expect(performance.now() - started).toBeLessThan(1_000)
    expect(upload.status).toBe("pending")
    expect(upload.message).toBe("PDF processing initiated. Use /result/{job_id}/status to check progress.")

    // wait_for_completion(job_id, timeout=600, poll_interval=5), with a shorter interval
    const deadline = Date.now() + 60_000
    let job: Job
    for (;;) {
      job = await client.status(upload.job_id)
      if (job.status === "completed") break
      if (job.status === "failed") throw new Error(`Processing failed: ${job.error_message}`)
      if (Date.now() > deadline) throw new Error(`Job ${upload.job_id} did not complete`)
      await sleep(100)
    }
    expect(job).toMatchObject({ job_id: upload.job_id, filename: "document.pdf", total_pages: 5, processed_pages: 5 })
    expect(job.created_at).toBeInstanceOf(Date)

    const markdown = await client.markdown(upload.job_id)
    expect(folded(markdown)).toContain("Christopher Latham Sholes")
  })

  it("the asyncio/aiohttp flow: many uploads and polls in flight at once, one of them failing", async () => {
    // process_pdf_async: upload, poll, fetch, every step awaited, several of them running together
    const processPdfAsync = async (filename: string, bytes: Uint8Array): Promise<string> => {
      const { job_id } = await client.processPdf(filename, bytes)
      for (;;) {
        const job = await client.status(job_id)
        if (job.status === "completed") break
        if (job.status === "failed") throw new Error(job.error_message ?? "failed")
        await sleep(50)
      }
      return client.markdown(job_id)
    }
    const names = ["a.pdf", "b.pdf", "fail-c.pdf", "d.pdf", "e.pdf"]
    const outcomes = await Promise.allSettled(names.map((name) => processPdfAsync(name, paper)))

    const byName = new Map(names.map((name, index) => [name, outcomes[index]!]))
    for (const name of ["a.pdf", "b.pdf", "d.pdf", "e.pdf"]) {
      const outcome = byName.get(name)!
      expect(outcome.status).toBe("fulfilled")
      expect(folded((outcome as PromiseFulfilledResult<string>).value)).toContain("Christopher Latham Sholes")
    }
    const failed = byName.get("fail-c.pdf")!
    expect(failed.status).toBe("rejected")
    expect(((failed as PromiseRejectedResult).reason as Error).message).toBe("The page 1 could not be rendered.")
  })

  it("the concurrent batch: submit several corpus PDFs, then wait for them with a pool of workers", async () => {
    // process_multiple_pdfs(pdf_paths, token, max_workers=2)
    const jobs: Array<{ file: string; phrase: string; id: string }> = []
    for (const entry of batch) {
      const { job_id } = await client.processPdf(entry.file, entry.bytes)
      jobs.push({ file: entry.file, phrase: entry.phrase, id: job_id })
    }
    expect(new Set(jobs.map((job) => job.id)).size).toBe(batch.length)

    const results = new Map<string, string | null>()
    const queue = [...jobs]
    const waitAndRetrieve = async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        try {
          await client.waitForCompletion(next.id, { timeoutMs: 120_000, initialDelayMs: 50, maxDelayMs: 500 })
          results.set(next.file, await client.markdown(next.id))
        } catch (error) {
          if (!(error instanceof JobFailed)) throw error
          results.set(next.file, null)
        }
      }
    }
    await Promise.all([waitAndRetrieve(), waitAndRetrieve()])

    expect(results.size).toBe(batch.length)
    for (const job of jobs) expect(folded(results.get(job.file) ?? "")).toContain(job.phrase)
  })
})
