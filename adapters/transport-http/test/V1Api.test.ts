/**
 * The /v1 jobs API through real HTTP: every route, status code and shape, against a real Worker running the real
 * pipeline over SQLite (see support/TestStack.ts); `file_url` submissions against a local node:http server that
 * serves corpus files, redirects, errors and stalls.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  digitalPdf,
  expectError,
  holds,
  json,
  jobFields,
  longPdf,
  shortPdf,
  type Stack,
  start,
  submitFile,
  submitJson,
  submitMultipart,
  terminal,
  token,
  waitFor
} from "./support/TestStack.js"

const maxUploadBytes = 2 * 1024 * 1024
const syncMaxPages = 5
const syncWaitMs = 3_000
const fileUrlTimeoutMs = 1_500

// ---------------------------------------------------------------------------------------------------------------------
// The file server a file_url names

/** The Host header of every request the file server got. */
const fileRequests: Array<string> = []
let files: Server
let filesPort = 0
/** A port nothing listens on. */
let closedPort = 0

const startFileServer = async () => {
  files = createServer((req, res) => {
    fileRequests.push(`${req.headers.host}${req.url}`)
    const port = filesPort
    switch (req.url) {
      case "/docs/report%20one.pdf":
        return res.writeHead(200, { "content-type": "application/pdf" }).end(digitalPdf)
      case "/redirect-here":
        return res.writeHead(302, { location: "/docs/report%20one.pdf" }).end()
      case "/redirect-away":
        return res.writeHead(302, { location: `http://localhost:${port}/docs/report%20one.pdf` }).end()
      case "/redirect-loop":
        return res.writeHead(307, { location: "/redirect-loop" }).end()
      case "/notes.txt":
        return res.writeHead(200, { "content-type": "text/plain" }).end("just some words, not a document")
      case "/huge.pdf": {
        // no Content-Length: the limit must hold while reading
        res.writeHead(200, { "content-type": "application/pdf" })
        const chunk = Buffer.alloc(64 * 1024, 0x20)
        let sent = 0
        const write = () => {
          while (sent <= maxUploadBytes * 2) {
            sent += chunk.length
            if (!res.write(chunk)) return res.once("drain", write)
          }
          res.end()
        }
        return write()
      }
      case "/stall.pdf":
        // headers, then nothing
        res.writeHead(200, { "content-type": "application/pdf" })
        return res.write("%PDF-1.4\n")
      default:
        return res.writeHead(404).end("not here")
    }
  })
  await new Promise<void>((resolve) => files.listen(0, "127.0.0.1", resolve))
  filesPort = (files.address() as AddressInfo).port
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve))
  closedPort = (probe.address() as AddressInfo).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))
}

const fileUrl = (path: string, host = "127.0.0.1") => `http://${host}:${filesPort}${path}`

// ---------------------------------------------------------------------------------------------------------------------
// The stack

let stack: Stack
let base = ""

beforeAll(async () => {
  await startFileServer()
  stack = await start({
    maxUploadBytes,
    syncMaxPages,
    syncWaitMs,
    fileUrlTimeoutMs,
    fileUrlAllowedHosts: [`127.0.0.1:${filesPort}`, `127.0.0.1:${closedPort}`]
  })
  base = stack.open
})

afterAll(async () => {
  await stack?.stop()
  files?.closeAllConnections()
  await new Promise<void>((resolve) => files ? files.close(() => resolve()) : resolve())
})

const get = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, init)
const cancel = (id: string) => get(`/v1/jobs/${id}`, { method: "DELETE" })
const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64")

/** The fields every JobView has, in order. */
const viewFields = [...jobFields, "status_url", "result_url", "events_url", "webhook"]

const expectView = (view: Record<string, any>, id: string) => {
  expect(Object.keys(view).slice(0, viewFields.length)).toEqual(viewFields)
  expect(view).toMatchObject({
    job_id: id,
    status_url: `/v1/jobs/${id}`,
    result_url: `/v1/jobs/${id}/result`,
    events_url: `/result/${id}/events`
  })
}

// ---------------------------------------------------------------------------------------------------------------------
// Submitting

describe("POST /v1/jobs", () => {
  it("multipart, async by default: 202 with the pending job, its URLs and async: true", async () => {
    const started = performance.now()
    const response = await submitMultipart(base, digitalPdf, "report.pdf")
    expect(performance.now() - started).toBeLessThan(1_000)
    expect(response.status).toBe(202)
    const body = await json(response)
    expectView(body, body.job_id)
    expect(Object.keys(body).slice(viewFields.length)).toEqual(["async", "async_reason"])
    expect(body).toMatchObject({
      status: "pending",
      filename: "report.pdf",
      total_pages: 5,
      webhook: null,
      async: true,
      async_reason: null,
      idempotency_key: null
    })
    expect(body).not.toHaveProperty("result")
    // and it runs: the URLs it gave lead to the result
    const done = await waitFor(base, body.job_id, terminal)
    expect(done.status).toBe("completed")
    expect(done.result.markdown).toContain("The Evolution of the Word Processor")
  })

  it("multipart fields: webhook_url into the job's options and its webhook record, priority", async () => {
    const response = await submitMultipart(base, digitalPdf, "hooked.pdf", {
      fields: { webhook_url: "https://hooks.example.com/done?x=1", priority: "7" }
    })
    expect(response.status).toBe(202)
    const body = await json(response)
    expect(body.options).toEqual({ webhook_url: "https://hooks.example.com/done?x=1" })
    expect(body.priority).toBe(7)
    expect(body.webhook).toEqual({
      url: "https://hooks.example.com/done?x=1",
      state: "pending",
      next_attempt_at: null,
      attempts: []
    })
    const again = await json(await get(`/v1/jobs/${body.job_id}`))
    expect(again.webhook.url).toBe("https://hooks.example.com/done?x=1")
  })

  it("refuses unusable fields with 400 InvalidParameter naming them", async () => {
    for (const webhook_url of ["ftp://hooks.example.com/x", "/relative/hook", "not a url"]) {
      await expectError(
        await submitMultipart(base, digitalPdf, "a.pdf", { fields: { webhook_url } }),
        400,
        "InvalidParameter",
        { name: "webhook_url", value: webhook_url }
      )
      await expectError(await submitJson(base, { content_base64: base64(digitalPdf), webhook_url }), 400,
        "InvalidParameter", { name: "webhook_url" })
    }
    for (const priority of ["high", "1.5", "99999999999999999999"]) {
      await expectError(
        await submitMultipart(base, digitalPdf, "a.pdf", { fields: { priority } }),
        400,
        "InvalidParameter",
        { name: "priority", value: priority }
      )
    }
    for (const query of ["?async=maybe", "?async=1", "?async="]) {
      await expectError(await submitMultipart(base, digitalPdf, "a.pdf", { query }), 400, "InvalidParameter", {
        name: "async"
      })
    }
  })

  it("JSON with content_base64: 202, the file as sent, with its filename and options", async () => {
    const response = await submitJson(base, {
      filename: "inline.pdf",
      content_base64: base64(digitalPdf),
      priority: 3,
      options: { language: "en" }
    })
    expect(response.status).toBe(202)
    const body = await json(response)
    expect(body).toMatchObject({ filename: "inline.pdf", total_pages: 5, priority: 3, options: { language: "en" } })
    const done = await waitFor(base, body.job_id, terminal)
    expect(done.status).toBe("completed")
    expect(done.result.markdown).toContain("The Evolution of the Word Processor")
    // URL-safe base64 without padding is read too; the name defaults to document.pdf
    const urlSafe = Buffer.from(digitalPdf).toString("base64url")
    const second = await json(await submitJson(base, { content_base64: urlSafe }))
    expect(second).toMatchObject({ filename: "document.pdf", total_pages: 5 })
  })

  it("JSON that cannot be used: 400 InvalidParameter; a file that is not a document: its own error", async () => {
    await expectError(await submitJson(base, { content_base64: "not base64!!" }), 400, "InvalidParameter", {
      name: "content_base64"
    })
    await expectError(await submitJson(base, { content_base64: "QUJDR" }), 400, "InvalidParameter", {
      name: "content_base64"
    })
    await expectError(
      await submitJson(base, { content_base64: base64(digitalPdf), file_url: fileUrl("/docs/report%20one.pdf") }),
      400,
      "InvalidParameter",
      { name: "file_url" }
    )
    await expectError(await submitJson(base, { filename: "nothing.pdf" }), 400, "InvalidParameter", {
      name: "content_base64"
    })
    await expectError(await submitJson(base, "{ not json"), 400, "InvalidParameter", { name: "body" })
    await expectError(await submitJson(base, "[1, 2]"), 400, "InvalidParameter", { name: "body" })
    await expectError(
      await submitJson(base, { content_base64: base64(digitalPdf), priority: "high" }),
      400,
      "InvalidParameter",
      { name: "priority" }
    )
    await expectError(await submitJson(base, { content_base64: "" }), 400, "EmptyFile")
    await expectError(await submitJson(base, { content_base64: base64(Buffer.from("plain words")) }), 415, "NotAPdf")
    const big = Buffer.alloc(maxUploadBytes + 1024, 0x20)
    await expectError(await submitJson(base, { content_base64: base64(big) }), 413, "FileTooLarge", {
      limit_bytes: maxUploadBytes
    })
  })

  it("no file at all: 400 MissingFile; too large a file: 413", async () => {
    await expectError(await get("/v1/jobs", { method: "POST" }), 400, "MissingFile", { field: "file" })
    await expectError(
      await get("/v1/jobs", { method: "POST", body: "words", headers: { "content-type": "text/plain" } }),
      400,
      "MissingFile"
    )
    const form = new FormData()
    form.append("document", new Blob([new Uint8Array(digitalPdf)]), "a.pdf")
    await expectError(await get("/v1/jobs", { method: "POST", body: form }), 400, "MissingFile")
    await expectError(
      await submitMultipart(base, Buffer.alloc(maxUploadBytes + 1024, 0x20), "big.pdf"),
      413,
      "FileTooLarge"
    )
  })

  it("Idempotency-Key: the same key and file give the same job (202 again); another file is 409", async () => {
    const key = `key-${Date.now()}`
    const headers = { "idempotency-key": key }
    const first = await submitMultipart(base, digitalPdf, "same.pdf", { headers })
    expect(first.status).toBe(202)
    const job = await json(first)
    expect(job.idempotency_key).toBe(key)
    const again = await submitMultipart(base, digitalPdf, "same.pdf", { headers })
    expect(again.status).toBe(202)
    expect((await json(again)).job_id).toBe(job.job_id)
    // as JSON, the same file under the same name is the same submission
    const asJson = await submitJson(base, { filename: "same.pdf", content_base64: base64(digitalPdf) }, "", headers)
    expect((await json(asJson)).job_id).toBe(job.job_id)
    await expectError(
      await submitMultipart(base, shortPdf, "same.pdf", { headers }),
      409,
      "IdempotencyConflict",
      { idempotency_key: key, job_id: job.job_id }
    )
    const otherKey = { "idempotency-key": `${key}-2` }
    const other = await json(await submitMultipart(base, digitalPdf, "same.pdf", { headers: otherKey }))
    expect(other.job_id).not.toBe(job.job_id)
  })
})

describe("POST /v1/jobs with file_url", () => {
  it("an allowed host: fetched at submit, named after its path, processed", async () => {
    const response = await submitJson(base, { file_url: fileUrl("/docs/report%20one.pdf") })
    expect(response.status).toBe(202)
    const body = await json(response)
    expect(body).toMatchObject({ filename: "report one.pdf", total_pages: 5, status: "pending" })
    expect((await waitFor(base, body.job_id, terminal)).status).toBe("completed")
  })

  it("a redirect within the allowed host is followed", async () => {
    const response = await submitJson(base, { file_url: fileUrl("/redirect-here"), filename: "moved.pdf" })
    expect(response.status).toBe(202)
    expect(await json(response)).toMatchObject({ filename: "moved.pdf", total_pages: 5 })
  })

  it("a host not on the list, a redirect to one, another scheme: 403 FileUrlNotAllowed, never requested", async () => {
    fileRequests.length = 0
    const other = await expectError(
      await submitJson(base, { file_url: fileUrl("/docs/report%20one.pdf", "localhost") }),
      403,
      "FileUrlNotAllowed"
    )
    expect(other.reason).toContain(`localhost:${filesPort}`)
    const away = await expectError(await submitJson(base, { file_url: fileUrl("/redirect-away") }), 403,
      "FileUrlNotAllowed")
    expect(away.reason).toContain("redirects to")
    for (const file_url of ["file:///etc/passwd", "ftp://127.0.0.1/x.pdf", "just-a-name.pdf"]) {
      await expectError(await submitJson(base, { file_url }), 403, "FileUrlNotAllowed")
    }
    // only the redirecting URL itself was requested; the host it pointed to never was
    expect(fileRequests).toEqual([`127.0.0.1:${filesPort}/redirect-away`])
  })

  it("unreachable, an HTTP error, a redirect loop, a stall: 502 FileUrlFetchFailed", async () => {
    const refused = await expectError(
      await submitJson(base, { file_url: `http://127.0.0.1:${closedPort}/a.pdf` }),
      502,
      "FileUrlFetchFailed"
    )
    expect(refused.reason).toContain("ECONNREFUSED")
    const missing = await expectError(await submitJson(base, { file_url: fileUrl("/gone.pdf") }), 502,
      "FileUrlFetchFailed")
    expect(missing.reason).toContain("404")
    const loop = await expectError(await submitJson(base, { file_url: fileUrl("/redirect-loop") }), 502,
      "FileUrlFetchFailed")
    expect(loop.reason).toContain("redirects")
    const started = performance.now()
    const stalled = await expectError(await submitJson(base, { file_url: fileUrl("/stall.pdf") }), 502,
      "FileUrlFetchFailed")
    expect(stalled.reason).toContain(`${fileUrlTimeoutMs} ms`)
    expect(performance.now() - started).toBeLessThan(fileUrlTimeoutMs + 1_000)
  })

  it("a file that is not a document: 415; larger than the limit: 413, while reading", async () => {
    await expectError(await submitJson(base, { file_url: fileUrl("/notes.txt") }), 415, "NotAPdf", {
      filename: "notes.txt"
    })
    await expectError(await submitJson(base, { file_url: fileUrl("/huge.pdf") }), 413, "FileTooLarge", {
      limit_bytes: maxUploadBytes
    })
  })

  it("a server with no allow-list refuses every file_url", async () => {
    const body = await expectError(
      await submitJson(stack.secured, { file_url: fileUrl("/docs/report%20one.pdf") }, "", {
        authorization: `Bearer ${token}`
      }),
      403,
      "FileUrlNotAllowed"
    )
    expect(body.reason).toContain("allow-list is empty")
  })
})

describe("POST /v1/jobs?async=false", () => {
  it("waits and answers 200 with the result inline", async () => {
    const response = await submitMultipart(base, digitalPdf, "sync.pdf", { query: "?async=false" })
    expect(response.status).toBe(200)
    const body = await json(response)
    expectView(body, body.job_id)
    expect(body).toMatchObject({ status: "completed", async: false, async_reason: null, processed_pages: 5 })
    expect(body.completed_at).not.toBeNull()
    expect(body.result.markdown).toContain("The Evolution of the Word Processor")
    expect(body.result.markdown_det.length).toBeGreaterThan(0)
    expect(body.result.outputs).toContain("markdown.md")
    // the same as GET /result/{id}/markdown
    const markdown = await json(await get(`/result/${body.job_id}/markdown`))
    expect(body.result.markdown).toBe(markdown.content)
  })

  it("more pages than the sync limit: 202 at once, async_reason page_count", async () => {
    const started = performance.now()
    const response = await submitJson(base, { filename: "long.pdf", content_base64: base64(longPdf) }, "?async=false")
    // answered without waiting for the 13 pages to be processed
    expect(performance.now() - started).toBeLessThan(5_000)
    expect(response.status).toBe(202)
    const body = await json(response)
    expect(body).toMatchObject({ total_pages: 13, async: true, async_reason: "page_count" })
    expect(body.total_pages).toBeGreaterThan(syncMaxPages)
    expect((await cancel(body.job_id)).status).toBe(204)
  })

  it("not finished within the sync wait: 202 with the running job, async_reason timeout", async () => {
    const started = performance.now()
    const response = await submitMultipart(base, shortPdf, "hold-sync.pdf", { query: "?async=false" })
    const elapsed = performance.now() - started
    expect(response.status).toBe(202)
    expect(elapsed).toBeGreaterThanOrEqual(syncWaitMs - 50)
    expect(elapsed).toBeLessThan(syncWaitMs + 1_500)
    const body = await json(response)
    expect(body).toMatchObject({ status: "processing", async: true, async_reason: "timeout" })
    expect(body).not.toHaveProperty("result")
    expect((await cancel(body.job_id)).status).toBe(204)
  })

  it("a job that fails: 500 JobFailed with its error", async () => {
    await expectError(await submitMultipart(base, shortPdf, "fail-sync.pdf", { query: "?async=false" }), 500,
      "JobFailed", { error_message: "The page 1 could not be rendered." })
  })

  it("a job cancelled while the request waits: 409 JobCancelled", async () => {
    const answer = submitMultipart(base, shortPdf, "hold-sync-cancel.pdf", { query: "?async=false" })
    // find the job, then cancel it through the API while the submission still waits
    let id: string | undefined
    while (id === undefined) {
      const page = await json(await get("/v1/jobs?status=processing&limit=1000"))
      id = page.jobs.find((job: any) => job.filename === "hold-sync-cancel.pdf")?.job_id
      if (id === undefined) await new Promise((resolve) => setTimeout(resolve, 25))
    }
    expect((await cancel(id)).status).toBe(204)
    await expectError(await answer, 409, "JobCancelled", { job_id: id })
  })
})

// ---------------------------------------------------------------------------------------------------------------------
// Reading

describe("GET /v1/jobs/{id}", () => {
  it("an unknown id: 404 JobNotFound; an unusable wait: 400 InvalidParameter", async () => {
    await expectError(await get("/v1/jobs/no-such-job"), 404, "JobNotFound", { job_id: "no-such-job" })
    await expectError(await get("/v1/jobs/no-such-job?wait=5"), 404, "JobNotFound")
    const id = await submitFile(base, shortPdf, "wait-params.pdf")
    for (const wait of ["abc", "61", "-1", "1e3", ""]) {
      await expectError(await get(`/v1/jobs/${id}?wait=${wait}`), 400, "InvalidParameter", { name: "wait" })
    }
  })

  it("a running job: no result; ?wait= holds until the timeout, then answers the job as it stands", async () => {
    const id = await submitFile(base, shortPdf, "hold-get.pdf")
    await waitFor(base, id, (job) => job.status === "processing")
    const started = performance.now()
    const response = await get(`/v1/jobs/${id}?wait=1`)
    const elapsed = performance.now() - started
    expect(response.status).toBe(200)
    expect(elapsed).toBeGreaterThanOrEqual(950)
    expect(elapsed).toBeLessThan(3_000)
    const body = await json(response)
    expectView(body, id)
    expect(body).toMatchObject({ status: "processing", processed_pages: 1, completed_at: null })
    expect(body).not.toHaveProperty("result")
    expect((await cancel(id)).status).toBe(204)
  })

  it("?wait= long-polls: it answers as the job completes, with the result inline", async () => {
    const id = await submitFile(base, digitalPdf, "slow-poll.pdf")
    const started = Date.now()
    const response = await get(`/v1/jobs/${id}?wait=30`)
    const answeredAt = Date.now()
    expect(response.status).toBe(200)
    const body = await json(response)
    expect(body.status).toBe("completed")
    expect(body.result.markdown).toContain("The Evolution of the Word Processor")
    // held while the job ran (it sleeps 1.5 s first), answered soon after it completed
    expect(answeredAt - started).toBeGreaterThanOrEqual(1_400)
    expect(answeredAt - new Date(body.completed_at).getTime()).toBeLessThan(1_500)
    // a finished job answers at once, whatever the wait
    const again = performance.now()
    expect((await get(`/v1/jobs/${id}?wait=60`)).status).toBe(200)
    expect(performance.now() - again).toBeLessThan(1_000)
  })
})

describe("GET /v1/jobs/{id}/result", () => {
  it("200 with the result once completed; 202, 500, 409 and 404 otherwise", async () => {
    const done = await submitFile(base, digitalPdf, "result.pdf")
    await waitFor(base, done, terminal)
    const response = await get(`/v1/jobs/${done}/result`)
    expect(response.status).toBe(200)
    const result = await json(response)
    expect(Object.keys(result)).toEqual(["markdown", "markdown_det", "outputs"])
    expect(result.markdown).toContain("The Evolution of the Word Processor")
    expect(result.outputs).toEqual(expect.arrayContaining(["markdown.md"]))

    const running = await submitFile(base, shortPdf, "hold-result.pdf")
    await waitFor(base, running, (job) => job.status === "processing")
    await expectError(await get(`/v1/jobs/${running}/result`), 202, "JobNotFinished", {
      job_id: running,
      status: "processing"
    })
    expect((await cancel(running)).status).toBe(204)
    await expectError(await get(`/v1/jobs/${running}/result`), 409, "JobCancelled", { job_id: running })

    const failed = await submitFile(base, shortPdf, "fail-result.pdf")
    await waitFor(base, failed, terminal)
    await expectError(await get(`/v1/jobs/${failed}/result`), 500, "JobFailed", {
      error_message: "The page 1 could not be rendered."
    })
    await expectError(await get("/v1/jobs/no-such-job/result"), 404, "JobNotFound")
  })
})

describe("GET /v1/jobs", () => {
  it("refuses an unknown status, an unusable limit and a garbage cursor with 400", async () => {
    await expectError(await get("/v1/jobs?status=finished"), 400, "InvalidStatusFilter", { status: "finished" })
    for (const limit of ["0", "1001", "abc", "-5", "2.5"]) {
      await expectError(await get(`/v1/jobs?limit=${limit}`), 400, "InvalidParameter", { name: "limit" })
    }
    for (const cursor of ["garbage", "eyJub3QiOiJhIGN1cnNvciJ9", "%00%01"]) {
      await expectError(await get(`/v1/jobs?cursor=${cursor}`), 400, "InvalidCursor")
    }
  })

  it("a parameter given twice: 400 InvalidParameter in the one error shape, on every /v1 route", async () => {
    await expectError(await get("/v1/jobs?limit=1&limit=2"), 400, "InvalidParameter", { name: "limit", value: "1,2" })
    await expectError(await get("/v1/jobs?cursor=a&cursor=b"), 400, "InvalidParameter", { name: "cursor" })
    await expectError(await get("/v1/jobs/some-id?wait=1&wait=2"), 400, "InvalidParameter", { name: "wait" })
    await expectError(
      await submitMultipart(base, shortPdf, "twice.pdf", { query: "?async=true&async=false" }),
      400,
      "InvalidParameter",
      { name: "async", value: "true,false" }
    )
  })

  it("pages through every job newest first, in a stable order, even while jobs are added", async () => {
    for (let i = 0; i < 4; i++) await submitFile(base, shortPdf, `page-${i}.pdf`)
    const all = await json(await get("/v1/jobs?limit=1000"))
    expect(all.next_cursor).toBeNull()
    const ids = all.jobs.map((job: any) => job.job_id)
    expect(ids.length).toBeGreaterThanOrEqual(7)
    const created = all.jobs.map((job: any) => new Date(job.created_at).getTime())
    expect([...created].sort((a, b) => b - a)).toEqual(created)
    for (const job of all.jobs) {
      expectView(job, job.job_id)
      expect(job).not.toHaveProperty("result")
    }

    const paged: Array<string> = []
    let cursor: string | null = null
    let pages = 0
    do {
      const page: Record<string, any> = await json(
        await get(`/v1/jobs?limit=3${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`)
      )
      expect(page.jobs.length).toBeLessThanOrEqual(3)
      paged.push(...page.jobs.map((job: any) => job.job_id))
      cursor = page.next_cursor
      // newer jobs arriving mid-way do not shift the pages after the cursor
      if (pages++ === 0) await submitFile(base, shortPdf, "page-late.pdf")
    } while (cursor !== null)
    expect(paged).toEqual(ids)
    expect(pages).toBe(Math.ceil(ids.length / 3))
  })

  it("?status= filters", async () => {
    const failed = await submitFile(base, shortPdf, "fail-list.pdf")
    await waitFor(base, failed, terminal)
    const page = await json(await get("/v1/jobs?status=failed&limit=1000"))
    expect(page.jobs.length).toBeGreaterThan(0)
    expect(page.jobs.every((job: any) => job.status === "failed")).toBe(true)
    expect(page.jobs.map((job: any) => job.job_id)).toContain(failed)
  })
})

// ---------------------------------------------------------------------------------------------------------------------
// Cancelling

describe("DELETE /v1/jobs/{id}", () => {
  it("cancels a running job: 204, cancelled everywhere, and its work stops within a second", async () => {
    const id = await submitFile(base, shortPdf, "hold-cancel.pdf")
    await waitFor(base, id, (job) => job.status === "processing" && job.processed_pages === 1)
    const progress = holds.get(id)!
    expect(progress.ticks).toBeGreaterThan(0)
    const response = await cancel(id)
    const cancelledAt = Date.now()
    expect(response.status).toBe(204)
    expect(await response.text()).toBe("")
    expect((await json(await get(`/v1/jobs/${id}`))).status).toBe("cancelled")
    expect((await json(await get(`/result/${id}/status`))).status).toBe("cancelled")
    const events = await (await get(`/result/${id}/events`)).text()
    expect(events).toContain(`"status":"cancelled"`)
    expect(events.trimEnd().split("\n\n").at(-1)).toMatch(/^event: end\n/)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(progress.stoppedAt).toBeDefined()
    expect(progress.stoppedAt! - cancelledAt).toBeLessThan(1_000)
    const ticks = progress.ticks
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(progress.ticks).toBe(ticks)
  })

  it("a finished job: 409 JobAlreadyFinished with its status; an unknown id: 404", async () => {
    const id = await submitFile(base, shortPdf, "finished.pdf")
    await waitFor(base, id, terminal)
    const body = await expectError(await cancel(id), 409, "JobAlreadyFinished", { job_id: id, status: "completed" })
    expect(body.message).toContain(`DELETE /result/${id}`)
    const cancelled = await submitFile(base, shortPdf, "hold-twice.pdf")
    expect((await cancel(cancelled)).status).toBe(204)
    await expectError(await cancel(cancelled), 409, "JobAlreadyFinished", { status: "cancelled" })
    await expectError(await cancel("no-such-job"), 404, "JobNotFound")
  })
})

// ---------------------------------------------------------------------------------------------------------------------
// Authentication and the document

describe("authentication and OpenAPI", () => {
  const routes: Array<[string, string]> = [
    ["POST", "/v1/jobs"],
    ["GET", "/v1/jobs"],
    ["GET", "/v1/jobs/some-id"],
    ["GET", "/v1/jobs/some-id/result"],
    ["DELETE", "/v1/jobs/some-id"],
    ["GET", "/result/some-id/events"]
  ]

  it("every /v1 route and the event stream refuse a missing or wrong token with 401", async () => {
    for (const [method, route] of routes) {
      await expectError(await fetch(`${stack.secured}${route}`, { method }), 401, "Unauthorized", { reason: "missing" })
      await expectError(
        await fetch(`${stack.secured}${route}`, { method, headers: { authorization: "Bearer nope" } }),
        401,
        "Unauthorized",
        { reason: "wrong" }
      )
    }
  })

  it("with the token, the /v1 routes work", async () => {
    const headers = { authorization: `Bearer ${token}` }
    const submitted = await submitMultipart(stack.secured, shortPdf, "secured.pdf", { headers })
    expect(submitted.status).toBe(202)
    const { job_id } = await json(submitted)
    const done = await json(await fetch(`${stack.secured}/v1/jobs/${job_id}?wait=30`, { headers }))
    expect(done.status).toBe("completed")
    expect((await fetch(`${stack.secured}/v1/jobs/${job_id}/result`, { headers })).status).toBe(200)
    expect((await fetch(`${stack.secured}/v1/jobs`, { headers })).status).toBe(200)
    expect((await fetch(`${stack.secured}/v1/jobs/${job_id}`, { method: "DELETE", headers })).status).toBe(409)
  })

  it("/openapi.json lists every route of both families; /docs serves it", async () => {
    const spec = await json(await get("/openapi.json"))
    expect(Object.keys(spec.paths).sort()).toEqual([
      "/health",
      "/process_pdf",
      "/result/{job_id}",
      "/result/{job_id}/events",
      "/result/{job_id}/images",
      "/result/{job_id}/images/{image_name}",
      "/result/{job_id}/layout_pdf",
      "/result/{job_id}/markdown",
      "/result/{job_id}/markdown_det",
      "/result/{job_id}/status",
      "/tasks",
      "/v1/jobs",
      "/v1/jobs/{job_id}",
      "/v1/jobs/{job_id}/result"
    ])
    expect(Object.keys(spec.paths["/v1/jobs"]).sort()).toEqual(["get", "post"])
    expect(Object.keys(spec.paths["/v1/jobs/{job_id}"]).sort()).toEqual(["delete", "get"])
    expect(spec.paths["/v1/jobs"].post.requestBody.content).toHaveProperty("application/json")
    expect(spec.paths["/v1/jobs"].post.requestBody.content).toHaveProperty("multipart/form-data")
    expect(spec.paths["/result/{job_id}/events"].get.responses["200"].content).toHaveProperty("text/event-stream")
    const docs = await get("/docs")
    expect(docs.status).toBe(200)
    expect(await docs.text()).toContain("SwaggerUIBundle")
  })
})
