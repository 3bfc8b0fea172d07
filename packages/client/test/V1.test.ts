/**
 * The /v1 jobs API through the client against a real server (SQLite, a Worker running the real pipeline, HTTP on a
 * free port): submit as multipart, as `file_url` (served by a local node:http server on the allow-list) and sync with
 * the result inline; get with its long-poll; result; list with cursor pagination; cancel; idempotency keys; and the
 * route family's typed errors. Ends with seed 000's concurrent batch re-expressed on /v1.
 */
import {
  FileUrlNotAllowed,
  IdempotencyConflict,
  InvalidCursor,
  InvalidParameter,
  JobAlreadyFinished,
  JobCancelled,
  JobFailed,
  JobNotFound
} from "@scriptorium/api"
import { type Client, createClient } from "@scriptorium/client"
import { readFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { corpus, paper, slowPages, startServer, type TestServer } from "./TestServer.js"

const token = "v1-token"
const phrase = "Christopher Latham Sholes"
const other = new Uint8Array(readFileSync(join(corpus, "pdfs-digital/docling_code_and_formula.pdf")))

let server: TestServer
let client: Client
/** Serves the paper at /paper.pdf, from an allowed host. */
let files: Server
let filesHost = ""

beforeAll(async () => {
  files = createServer((request, response) => {
    if (request.url === "/paper.pdf") response.writeHead(200, { "content-type": "application/pdf" }).end(paper)
    else response.writeHead(404).end()
  })
  await new Promise<void>((resolve) => files.listen(0, "127.0.0.1", resolve))
  filesHost = `127.0.0.1:${(files.address() as AddressInfo).port}`
  server = await startServer({ token, fileUrlAllowedHosts: [filesHost] })
  client = createClient({ baseUrl: server.baseUrl, token })
})

afterAll(async () => {
  await server?.close()
  await new Promise((resolve) => files?.close(resolve))
})

const folded = (text: string) => text.replace(/\s+/g, " ")

describe("submit", () => {
  it("multipart, async: 202 at once with the job and its URLs; get and result once done", async () => {
    const submitted = await client.submit({ filename: "v1.pdf", content: paper }, { priority: 3 })
    expect(submitted).toMatchObject({
      async: true,
      async_reason: null,
      status: "pending",
      filename: "v1.pdf",
      priority: 3,
      status_url: `/v1/jobs/${submitted.job_id}`,
      result_url: `/v1/jobs/${submitted.job_id}/result`
    })
    const done = await client.waitForCompletion(submitted.job_id, { initialDelayMs: 50 })
    expect(done.status).toBe("completed")
    const view = await client.get(submitted.job_id)
    expect(view).toMatchObject({ job_id: submitted.job_id, status: "completed", total_pages: 5 })
    expect(view.completed_at).toBeInstanceOf(Date)
    expect(folded(view.result?.markdown ?? "")).toContain(phrase)
    const result = await client.result(submitted.job_id)
    expect(folded(result.markdown)).toContain(phrase)
    expect(result.outputs).toContain("markdown.md")
  })

  it("sync: waits and answers with the result inline (the server's 200 answer)", async () => {
    const submitted = await client.submit({ filename: "sync.pdf", content: paper }, { async: false })
    expect(submitted).toMatchObject({ async: false, async_reason: null, status: "completed" })
    expect(folded(submitted.result?.markdown ?? "")).toContain(phrase)
  })

  it("by file_url from an allowed host; another host is FileUrlNotAllowed", async () => {
    const submitted = await client.submit({ file_url: `http://${filesHost}/paper.pdf` })
    expect(submitted.filename).toBe("paper.pdf")
    const done = await client.waitForCompletion(submitted.job_id, { initialDelayMs: 50 })
    expect(done.total_pages).toBe(5)
    const refused = await client.submit({ file_url: "http://10.0.0.1/paper.pdf" }).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(FileUrlNotAllowed)
    expect(refused).toMatchObject({ file_url: "http://10.0.0.1/paper.pdf" })
  })

  it("the same Idempotency-Key gives the same job; with another file, IdempotencyConflict", async () => {
    const key = `key-${Date.now()}`
    const first = await client.submit({ filename: "idem.pdf", content: paper }, { idempotency_key: key })
    const again = await client.submit({ filename: "idem.pdf", content: paper }, { idempotency_key: key })
    expect(again.job_id).toBe(first.job_id)
    const conflict = await client.submit({ filename: "idem.pdf", content: other }, { idempotency_key: key })
      .catch((error: unknown) => error)
    expect(conflict).toBeInstanceOf(IdempotencyConflict)
    expect(conflict).toMatchObject({ idempotency_key: key, job_id: first.job_id })
  })

  it("a webhook_url is kept on the job; one that is not a URL is InvalidParameter", async () => {
    const submitted = await client.submit(
      { filename: "hook.pdf", content: paper },
      { webhook_url: "http://127.0.0.1:9/hook" }
    )
    expect((await client.get(submitted.job_id)).webhook?.url).toBe("http://127.0.0.1:9/hook")
    const invalid = await client.submit({ filename: "hook.pdf", content: paper }, { webhook_url: "not a url" })
      .catch((error: unknown) => error)
    expect(invalid).toBeInstanceOf(InvalidParameter)
    expect(invalid).toMatchObject({ name: "webhook_url" })
  })
})

describe("get, list, cancel, result", () => {
  it("get with wait long-polls until the job ends", async () => {
    const { job_id } = await client.submit({ filename: "slow-longpoll.pdf", content: paper })
    const started = performance.now()
    const view = await client.get(job_id, { wait: 20 })
    expect(view).toMatchObject({ status: "completed", processed_pages: slowPages })
    // 4 pages of 300 ms: the answer came when the job ended, not at the 20 s limit
    expect(performance.now() - started).toBeLessThan(10_000)
  })

  it("list pages through every job with the cursor, newest first, without repeats", async () => {
    for (let index = 0; index < 3; index++) await client.submit({ filename: `list-${index}.pdf`, content: paper })
    const all = await client.list({ limit: 1000 })
    expect(all.next_cursor).toBeNull()
    const paged: Array<string> = []
    let cursor: string | undefined
    do {
      const page = await client.list({ limit: 2, cursor })
      expect(page.jobs.length).toBeLessThanOrEqual(2)
      paged.push(...page.jobs.map((job) => job.job_id))
      cursor = page.next_cursor ?? undefined
    } while (cursor !== undefined)
    expect(paged).toEqual(all.jobs.map((job) => job.job_id))
    const created = all.jobs.map((job) => job.created_at.getTime())
    expect([...created].sort((a, b) => b - a)).toEqual(created)
    const completed = await client.list({ status: "completed" })
    expect(completed.jobs.length).toBeGreaterThan(0)
    expect(completed.jobs.every((job) => job.status === "completed")).toBe(true)
  })

  it("a garbage cursor is InvalidCursor", async () => {
    const error = await client.list({ cursor: "garbage!" }).catch((error: unknown) => error)
    expect(error).toBeInstanceOf(InvalidCursor)
  })

  it("cancel stops a running job: waiters get JobCancelled, get says cancelled, a second cancel is 409", async () => {
    const { job_id } = await client.submit({ filename: "hold-v1.pdf", content: paper })
    const waiting = client.waitForCompletion(job_id, { initialDelayMs: 50 }).catch((error: unknown) => error)
    await client.cancel(job_id)
    expect(await waiting).toBeInstanceOf(JobCancelled)
    expect((await client.get(job_id)).status).toBe("cancelled")
    expect(await client.result(job_id).catch((error: unknown) => error)).toBeInstanceOf(JobCancelled)
    const again = await client.cancel(job_id).catch((error: unknown) => error)
    expect(again).toBeInstanceOf(JobAlreadyFinished)
    expect(again).toMatchObject({ job_id, status: "cancelled" })
  })

  it("result of a failed job is JobFailed; of an unknown one, JobNotFound", async () => {
    const { job_id } = await client.submit({ filename: "fail-v1.pdf", content: paper })
    await client.waitForCompletion(job_id, { initialDelayMs: 50 }).catch(() => undefined)
    expect(await client.result(job_id).catch((error: unknown) => error)).toBeInstanceOf(JobFailed)
    expect(await client.get("no-such-job").catch((error: unknown) => error)).toBeInstanceOf(JobNotFound)
    expect(await client.cancel("no-such-job").catch((error: unknown) => error)).toBeInstanceOf(JobNotFound)
  })
})

describe("seed 000's concurrent batch, on /v1", () => {
  it("submits several corpus PDFs, waits for all of them at once, and reads each result", async () => {
    const batch = [
      { file: "docling_multi_page.pdf", phrase },
      { file: "docling_code_and_formula.pdf", phrase: "JavaScript Code Example" },
      { file: "docling_table_mislabeled_as_picture.pdf", phrase: "private practitioners" },
      { file: "docling_2305.03393v1-pg9.pdf", phrase: "Hyper Parameter Optimization" }
    ]
    const submitted = await Promise.all(batch.map((entry) =>
      client.submit({
        filename: entry.file,
        content: new Uint8Array(readFileSync(join(corpus, "pdfs-digital", entry.file)))
      })
    ))
    const results = await Promise.all(submitted.map(async ({ job_id }) => {
      await client.waitForCompletion(job_id, { timeoutMs: 120_000, initialDelayMs: 50, maxDelayMs: 500 })
      return client.result(job_id)
    }))
    results.forEach((result, index) => expect(folded(result.markdown)).toContain(batch[index]!.phrase))
  })
})
