/**
 * Seed 001's API through real HTTP: an in-process server on a free port over SQLite and a local directory in a temp
 * folder, with a real Worker (support/TestStack.ts). Requests go through Node's fetch, FormData and Blob, as a client
 * would send them.
 *
 * The submissions go through the real PDF admission check, and the worker runs the real document pipeline, except
 * for files whose name asks for something else (core's scenario handler): `hold-*` stays processing until cancelled,
 * `fail-*` fails; and this suite's own `layout-*` also writes, after the pipeline, a layout PDF and images of known
 * bytes over its outputs. That gives every state a route can meet (pending, processing, completed, failed,
 * cancelled) on demand.
 */
import { BlobStore, JobFiles, type JobHandler, OcrEngine, PdfEngine, Scriptorium, Worker } from "@scriptorium/core"
import type { ScenarioServices } from "@scriptorium/core/testing"
import { LocalBlobStore } from "@scriptorium/storage-local"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { HttpTransport } from "@scriptorium/transport-http"
import { Effect, Layer } from "effect"
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  blob as pdf,
  digitalPdf,
  expectError as expectErrorShape,
  json,
  scenarios,
  type Stack,
  start,
  terminal,
  token
} from "./support/TestStack.js"

const corpus = join(import.meta.dirname, "../../../../shared/corpus")
const encryptedPdf = readFileSync(join(corpus, "pdfs-real/issue6010_1.pdf"))
const corruptPdf = readFileSync(join(corpus, "pdfs-real/bug1020226.pdf"))
// one scanned page (core's DocumentHandler test reads the 8-page scanned book; here the route is what is tested)
const scannedPdf = readFileSync(join(corpus, "pdfs-real/scan-bad.pdf"))

const maxUploadBytes = 2 * 1024 * 1024

// ---------------------------------------------------------------------------------------------------------------------
// The stack

/** Writes a layout PDF (the uploaded paper itself) and four one-marker JPEGs as the job's outputs, known bytes. */
const writeLayoutOutputs = (id: string) =>
  Effect.gen(function*() {
    const blobs = yield* BlobStore
    yield* blobs.put(yield* JobFiles.outputKey(id, "layout.pdf"), new Uint8Array(digitalPdf))
    for (const image of ["10_0.jpg", "2_0.jpg", "0_1.jpg", "0_0.jpg"]) {
      yield* blobs.put(yield* JobFiles.outputKey(id, `images/${image}`), new Uint8Array([0xff, 0xd8, 0xff, 0xd9]))
    }
  })

/** The stack's scenario handler, plus this suite's own `layout-*` (see the module comment). */
const handler: JobHandler<ScenarioServices> = (context) =>
  Effect.zipRight(
    scenarios.handler(context),
    context.job.filename.startsWith("layout-") ? writeLayoutOutputs(context.job.job_id) : Effect.void
  )

let stack: Stack
/** The API without authentication, served by `HttpTransport.layer`. */
let open = ""
/** The same API with TestStack's `token`, mounted in a plain node:http server. */
let secured = ""
/** The stack's data folder: `jobs.db` and `blobs/`. */
let dataDir = ""

beforeAll(async () => {
  stack = await start({ maxUploadBytes }, { handler, worker: { pollMs: 100 } })
  open = stack.open
  secured = stack.secured
  dataDir = stack.dataDir
})

afterAll(async () => {
  await stack?.stop()
})

// ---------------------------------------------------------------------------------------------------------------------
// Helpers

const form = (file: Blob, filename: string, field = "file") => {
  const body = new FormData()
  body.append(field, file, filename)
  return body
}

const upload = (base: string, file: Blob, filename: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/process_pdf`, { method: "POST", body: form(file, filename), headers })

/** Submits a PDF under `filename` and returns its job id. */
const submit = async (filename: string, base = open) => {
  const response = await upload(base, pdf(digitalPdf), filename)
  expect(response.status).toBe(200)
  return (await json(response)).job_id as string
}

/** Polls the status route until `until` holds. */
const waitFor = async (id: string, until: (job: Record<string, any>) => boolean, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const job = await json(await fetch(`${open}/result/${id}/status`))
    if (until(job)) return job
    if (Date.now() > deadline) throw new Error(`job ${id} stayed ${job.status}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** TestStack's check of an error answer, and the seed's own: its message is one line. */
const expectError = async (...answer: Parameters<typeof expectErrorShape>) => {
  const body = await expectErrorShape(...answer)
  expect(body.message).not.toContain("\n")
  return body
}

/** The server still answers, and still takes a good upload. */
const expectServing = async () => {
  expect((await fetch(`${open}/health`)).status).toBe(200)
  const response = await upload(open, pdf(digitalPdf), "still-serving.pdf")
  expect(response.status).toBe(200)
}

const seedStatusFields = [
  "job_id",
  "status",
  "filename",
  "total_pages",
  "processed_pages",
  "created_at",
  "updated_at",
  "error_message"
]

// ---------------------------------------------------------------------------------------------------------------------
// Seed 000's test cases

describe("seed 000's test cases", () => {
  it("POST /process_pdf returns immediately with status pending", async () => {
    const started = performance.now()
    const response = await upload(open, pdf(digitalPdf), "test.pdf")
    const elapsed = performance.now() - started
    expect(response.status).toBe(200)
    expect(elapsed).toBeLessThan(1_000)
    const body = await json(response)
    expect(body.status).toBe("pending")
  })

  it("the status endpoint exists: 200 or 404 for test-job-id", async () => {
    const response = await fetch(`${open}/result/test-job-id/status`)
    expect([200, 404]).toContain(response.status)
  })

  it("result endpoints return 202 for pending tasks", async () => {
    const response = await upload(open, pdf(digitalPdf), "hold-pending.pdf")
    const { job_id } = await json(response)
    const markdown = await fetch(`${open}/result/${job_id}/markdown`)
    expect(markdown.status).toBe(202)
    await fetch(`${open}/result/${job_id}`, { method: "DELETE" })
  })
})

// ---------------------------------------------------------------------------------------------------------------------
// Every route

describe("seed 001's routes", () => {
  it("POST /process_pdf answers with the seed's body", async () => {
    const response = await upload(open, pdf(digitalPdf), "document.pdf")
    expect(response.status).toBe(200)
    const body = await json(response)
    expect(Object.keys(body)).toEqual(["job_id", "status", "message"])
    expect(body.job_id).toMatch(/^[0-9a-f-]{36}$/)
    expect(body).toMatchObject({
      status: "pending",
      message: "PDF processing initiated. Use /result/{job_id}/status to check progress."
    })
  })

  it("GET /result/{id}/status has the seed's eight fields first, then ours, with ISO-8601 dates", async () => {
    const id = await submit("status.pdf")
    const job = await waitFor(id, terminal)
    expect(Object.keys(job).slice(0, 8)).toEqual(seedStatusFields)
    expect(job).toMatchObject({
      job_id: id,
      status: "completed",
      filename: "status.pdf",
      total_pages: 5,
      processed_pages: 5,
      error_message: null
    })
    expect(new Date(job.created_at).toISOString()).toBe(job.created_at)
    expect(new Date(job.updated_at).toISOString()).toBe(job.updated_at)
    expect(job).toHaveProperty("completed_at")
    expect(job).toHaveProperty("attempts")
  })

  it("the seed's curl session: upload, poll until completed, fetch markdown and markdown_det", async () => {
    const id = await submit("session.pdf")
    await waitFor(id, terminal)
    const markdown = await fetch(`${open}/result/${id}/markdown`)
    expect(markdown.status).toBe(200)
    const body = await json(markdown)
    expect(Object.keys(body)).toEqual(["job_id", "status", "content"])
    expect(body).toMatchObject({ job_id: id, status: "completed" })
    expect(body.content).toContain("The Evolution of the Word Processor")
    const det = await json(await fetch(`${open}/result/${id}/markdown_det`))
    expect(det).toMatchObject({ job_id: id, status: "completed" })
    expect(det.content.length).toBeGreaterThan(0)
  })

  it("a scanned PDF is read by OCR: its markdown holds the printed words", async () => {
    const response = await upload(open, pdf(scannedPdf), "scanned.pdf")
    expect(response.status).toBe(200)
    const id = (await json(response)).job_id as string
    expect((await waitFor(id, terminal, 60_000)).status).toBe("completed")
    const markdown = await fetch(`${open}/result/${id}/markdown`)
    expect(markdown.status).toBe(200)
    const body = await json(markdown)
    expect(body.content.toLowerCase()).toContain("pdf.js")
  }, 90_000)

  it("result routes: 202 with { job_id, status, message } while pending or processing", async () => {
    const id = await submit("hold-processing.pdf")
    const running = await waitFor(id, (job) => job.status === "processing")
    expect(running.processed_pages).toBeGreaterThanOrEqual(0)
    for (const route of ["markdown", "markdown_det", "layout_pdf", "images", "images/0_0.jpg"]) {
      const response = await fetch(`${open}/result/${id}/${route}`)
      await expectError(response, 202, "JobNotFinished", { job_id: id, status: "processing" })
    }
    await fetch(`${open}/result/${id}`, { method: "DELETE" })
  })

  it("result routes: 404 for an unknown id", async () => {
    for (const route of ["status", "markdown", "markdown_det", "layout_pdf", "images", "images/0_0.jpg"]) {
      await expectError(await fetch(`${open}/result/no-such-job/${route}`), 404, "JobNotFound", {
        job_id: "no-such-job"
      })
    }
    await expectError(await fetch(`${open}/result/no-such-job`, { method: "DELETE" }), 404, "JobNotFound")
  })

  it("result routes: 500 with the job's error when it failed", async () => {
    const id = await submit("fail-job.pdf")
    const job = await waitFor(id, terminal)
    expect(job.status).toBe("failed")
    expect(job.error_message).toBe("The page 1 could not be rendered.")
    for (const route of ["markdown", "markdown_det", "layout_pdf", "images"]) {
      const body = await expectError(await fetch(`${open}/result/${id}/${route}`), 500, "JobFailed", {
        job_id: id,
        error_message: "The page 1 could not be rendered."
      })
      expect(body.message).toContain("The page 1 could not be rendered.")
    }
  })

  it("result routes: 409 for a cancelled job", async () => {
    const id = await submit("hold-cancel.pdf")
    await waitFor(id, (job) => job.status === "processing")
    // no seed route cancels without deleting: cancel through the facade the server runs on
    await stack.run(Effect.flatMap(Scriptorium.Scriptorium, (s) => s.cancel(id)))
    expect((await waitFor(id, terminal)).status).toBe("cancelled")
    for (const route of ["markdown", "markdown_det", "layout_pdf", "images", "images/0_0.jpg"]) {
      await expectError(await fetch(`${open}/result/${id}/${route}`), 409, "JobCancelled", { job_id: id })
    }
  })

  it("layout_pdf is the PDF with its layout drawn; images an empty list for a text-only document", async () => {
    const id = await submit("plain.pdf")
    await waitFor(id, terminal)
    const layout = await fetch(`${open}/result/${id}/layout_pdf`)
    expect(layout.status).toBe(200)
    expect(layout.headers.get("content-type")).toBe("application/pdf")
    const drawn = Buffer.from(await layout.arrayBuffer())
    expect(drawn.subarray(0, 5).toString()).toBe("%PDF-")
    expect(drawn.equals(digitalPdf)).toBe(false)
    // (render/LayoutPdf's own tests check the drawing: one box per block, on the right marks, every page kept)
    const images = await fetch(`${open}/result/${id}/images`)
    expect(images.status).toBe(200)
    expect(await json(images)).toEqual({ job_id: id, status: "completed", images: [], count: 0 })
    await expectError(await fetch(`${open}/result/${id}/images/0_0.jpg`), 404, "BlobNotFound")
    await expectError(await fetch(`${open}/result/${id}/images/..%2F..%2Finput`), 404, "BlobNotFound")
  })

  it("layout_pdf and images are served once they exist", async () => {
    const id = await submit("layout-doc.pdf")
    await waitFor(id, terminal)
    const layout = await fetch(`${open}/result/${id}/layout_pdf`)
    expect(layout.status).toBe(200)
    expect(layout.headers.get("content-type")).toBe("application/pdf")
    expect(Buffer.from(await layout.arrayBuffer()).equals(digitalPdf)).toBe(true)
    const images = await json(await fetch(`${open}/result/${id}/images`))
    expect(images).toEqual({
      job_id: id,
      status: "completed",
      images: ["0_0.jpg", "0_1.jpg", "2_0.jpg", "10_0.jpg"],
      count: 4
    })
    const image = await fetch(`${open}/result/${id}/images/2_0.jpg`)
    expect(image.status).toBe(200)
    expect(image.headers.get("content-type")).toBe("image/jpeg")
    expect([...new Uint8Array(await image.arrayBuffer())]).toEqual([0xff, 0xd8, 0xff, 0xd9])
  })

  it("GET /tasks lists every job, and ?status= filters", async () => {
    const done = await submit("tasks-done.pdf")
    await waitFor(done, terminal)
    const all = await fetch(`${open}/tasks`)
    expect(all.status).toBe(200)
    const body = await json(all)
    expect(Object.keys(body)).toEqual(["tasks", "count"])
    expect(body.count).toBe(body.tasks.length)
    expect(body.tasks.map((task: any) => task.job_id)).toContain(done)
    for (const task of body.tasks) expect(Object.keys(task).slice(0, 8)).toEqual(seedStatusFields)
    const completed = await json(await fetch(`${open}/tasks?status=completed`))
    expect(completed.count).toBeGreaterThan(0)
    expect(completed.tasks.every((task: any) => task.status === "completed")).toBe(true)
    expect(completed.tasks.map((task: any) => task.job_id)).toContain(done)
    const failed = await json(await fetch(`${open}/tasks?status=failed`))
    expect(failed.tasks.every((task: any) => task.status === "failed")).toBe(true)
    await expectError(await fetch(`${open}/tasks?status=finished`), 400, "InvalidStatusFilter", {
      status: "finished"
    })
    await expectError(await fetch(`${open}/tasks?status=failed&status=completed`), 400, "InvalidStatusFilter", {
      status: "failed,completed"
    })
  })

  it("DELETE /result/{id} removes a finished job's record and files", async () => {
    const id = await submit("delete-me.pdf")
    await waitFor(id, terminal)
    expect(existsSync(join(dataDir, "blobs", id))).toBe(true)
    const response = await fetch(`${open}/result/${id}`, { method: "DELETE" })
    expect(response.status).toBe(200)
    expect(await json(response)).toEqual({ job_id: id, status: "deleted" })
    await expectError(await fetch(`${open}/result/${id}/status`), 404, "JobNotFound")
    expect(existsSync(join(dataDir, "blobs", id))).toBe(false)
    await expectError(await fetch(`${open}/result/${id}`, { method: "DELETE" }), 404, "JobNotFound")
  })

  it("DELETE /result/{id} cancels a running job first, then removes it", async () => {
    const id = await submit("hold-delete.pdf")
    await waitFor(id, (job) => job.status === "processing" && job.processed_pages === 1)
    const response = await fetch(`${open}/result/${id}`, { method: "DELETE" })
    expect(response.status).toBe(200)
    expect(await json(response)).toEqual({ job_id: id, status: "deleted" })
    await expectError(await fetch(`${open}/result/${id}/status`), 404, "JobNotFound")
    // the worker stopped: nothing of the job comes back
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(existsSync(join(dataDir, "blobs", id))).toBe(false)
    await expectServing()
  })

  it("GET /health answers healthy with model_loaded", async () => {
    const response = await fetch(`${open}/health`)
    expect(response.status).toBe(200)
    expect(await json(response)).toEqual({ status: "healthy", model_loaded: true })
  })

  it("GET /openapi.json describes every seed route; GET /docs loads nothing from elsewhere", async () => {
    const spec = await json(await fetch(`${open}/openapi.json`))
    // beside the /v1 routes and the event stream (V1Api.test.ts checks those)
    const seedPaths = Object.keys(spec.paths).filter((path) => !path.startsWith("/v1/") && !path.endsWith("/events"))
    expect(seedPaths.sort()).toEqual([
      "/health",
      "/process_pdf",
      "/result/{job_id}",
      "/result/{job_id}/images",
      "/result/{job_id}/images/{image_name}",
      "/result/{job_id}/layout_pdf",
      "/result/{job_id}/markdown",
      "/result/{job_id}/markdown_det",
      "/result/{job_id}/status",
      "/tasks"
    ])
    expect(spec.paths["/result/{job_id}/markdown"].get.responses).toHaveProperty("202")
    expect(spec.components.securitySchemes).toHaveProperty("bearer")
    const docs = await fetch(`${open}/docs`)
    expect(docs.status).toBe(200)
    expect(docs.headers.get("content-type")).toContain("text/html")
    const html = await docs.text()
    expect(html).toContain("SwaggerUIBundle")
    expect(html).not.toMatch(/<script[^>]+src=["']https?:/)
    expect(html).not.toMatch(/<link[^>]+href=["']https?:/)
  })

  it("an unknown route is a 404 with the same error shape", async () => {
    await expectError(await fetch(`${open}/nope`), 404, "RouteNotFound")
  })
})

// ---------------------------------------------------------------------------------------------------------------------
// Bad input

describe("bad input gets its own status and one sentence, and the server keeps serving", () => {
  it("not a PDF: 415 NotAPdf", async () => {
    const text = new Blob(["just some words, not a PDF at all"], { type: "text/plain" })
    await expectError(await upload(open, text, "notes.txt"), 415, "NotAPdf", { filename: "notes.txt" })
    await expectServing()
  })

  it("an empty upload: 400 EmptyFile", async () => {
    await expectError(await upload(open, pdf(new Uint8Array()), "empty.pdf"), 400, "EmptyFile", {
      filename: "empty.pdf"
    })
    await expectServing()
  })

  it("a file over the size limit: 413 FileTooLarge", async () => {
    const big = new Uint8Array(maxUploadBytes + 1024).fill(0x20)
    big.set(new TextEncoder().encode("%PDF-1.4\n"))
    const body = await expectError(await upload(open, pdf(big), "big.pdf"), 413, "FileTooLarge", {
      limit_bytes: maxUploadBytes
    })
    expect(body.message).toContain("2 MB")
    await expectServing()
  })

  it("a file exactly at the size limit is accepted past the size check", async () => {
    const exact = new Uint8Array(maxUploadBytes).fill(0x20)
    exact.set(new TextEncoder().encode("not a pdf"))
    await expectError(await upload(open, pdf(exact), "exact.pdf"), 415, "NotAPdf")
  })

  it("a missing file field: 400 MissingFile (other field, no body, JSON body)", async () => {
    const other = await fetch(`${open}/process_pdf`, {
      method: "POST",
      body: form(pdf(digitalPdf), "a.pdf", "document")
    })
    const body = await expectError(other, 400, "MissingFile", { field: "file" })
    expect(body.message).toContain(`curl -F "file=@document.pdf"`)
    await expectError(await fetch(`${open}/process_pdf`, { method: "POST" }), 400, "MissingFile")
    await expectError(
      await fetch(`${open}/process_pdf`, {
        method: "POST",
        body: JSON.stringify({ file: "x" }),
        headers: { "content-type": "application/json" }
      }),
      400,
      "MissingFile"
    )
    await expectError(
      await fetch(`${open}/process_pdf`, {
        method: "POST",
        body: "this is not multipart at all",
        headers: { "content-type": "multipart/form-data; boundary=xyz" }
      }),
      400,
      "MissingFile"
    )
    const field = new FormData()
    field.append("file", "not a file, a text field")
    await expectError(await fetch(`${open}/process_pdf`, { method: "POST", body: field }), 400, "MissingFile")
    await expectServing()
  })

  it("an encrypted PDF without its password: 422 EncryptedPdf", async () => {
    const body = await expectError(await upload(open, pdf(encryptedPdf), "locked.pdf"), 422, "EncryptedPdf", {
      filename: "locked.pdf"
    })
    expect(body.message).toContain("password")
    await expectServing()
  })

  it("a corrupt PDF: 422 CorruptPdf", async () => {
    await expectError(await upload(open, pdf(corruptPdf), "broken.pdf"), 422, "CorruptPdf", { filename: "broken.pdf" })
    await expectServing()
  })

  it("an image that cannot be decoded: 422 ImageUnreadable", async () => {
    const truncatedPng = new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0])])
    await expectError(await upload(open, truncatedPng, "scan.png"), 422, "ImageUnreadable", { filename: "scan.png" })
    await expectServing()
  })

  it("a refused upload leaves no job and no file behind", async () => {
    const before = await json(await fetch(`${open}/tasks`))
    const blobsBefore = readdirSync(join(dataDir, "blobs")).length
    await upload(open, new Blob(["nope"]), "nope.txt")
    await upload(open, pdf(new Uint8Array()), "empty.pdf")
    await upload(open, pdf(new Uint8Array(maxUploadBytes + 1)), "big.pdf")
    const after = await json(await fetch(`${open}/tasks`))
    expect(after.count).toBe(before.count)
    expect(readdirSync(join(dataDir, "blobs")).length).toBe(blobsBefore)
  })

  it("an unknown job id: 404 JobNotFound naming the id", async () => {
    const body = await expectError(await fetch(`${open}/result/123e4567-e89b/status`), 404, "JobNotFound", {
      job_id: "123e4567-e89b"
    })
    expect(body.message).toContain("123e4567-e89b")
    await expectServing()
  })
})

// ---------------------------------------------------------------------------------------------------------------------
// Authentication

describe("bearer authentication when a token is set", () => {
  const routes = (id: string): Array<[string, string]> => [
    ["GET", `/result/${id}/status`],
    ["GET", `/result/${id}/markdown`],
    ["GET", `/result/${id}/markdown_det`],
    ["GET", `/result/${id}/layout_pdf`],
    ["GET", `/result/${id}/images`],
    ["GET", `/result/${id}/images/0_0.jpg`],
    ["GET", "/tasks"],
    ["DELETE", `/result/${id}`]
  ]

  it("every job and result route refuses a missing token with 401", async () => {
    for (const [method, route] of [...routes("some-id"), ["POST", "/process_pdf"] as [string, string]]) {
      const body = await expectError(await fetch(`${secured}${route}`, { method }), 401, "Unauthorized", {
        reason: "missing"
      })
      expect(body.message).toContain("Authorization: Bearer")
    }
  })

  it("every job and result route refuses a wrong token with 401", async () => {
    for (const authorization of [`Bearer wrong-${token}`, "Bearer s3cret", `Basic ${btoa(`user:${token}`)}`]) {
      for (const [method, route] of routes("some-id")) {
        await expectError(
          await fetch(`${secured}${route}`, { method, headers: { authorization } }),
          401,
          "Unauthorized",
          { reason: "wrong" }
        )
      }
    }
    await expectError(
      await upload(secured, pdf(digitalPdf), "a.pdf", { authorization: "Bearer nope" }),
      401,
      "Unauthorized",
      { reason: "wrong" }
    )
  })

  it("the right token passes on every route: the seed's session works with it", async () => {
    const headers = { authorization: `Bearer ${token}` }
    const response = await upload(secured, pdf(digitalPdf), "authorized.pdf", headers)
    expect(response.status).toBe(200)
    const { job_id } = await json(response)
    for (;;) {
      const job = await json(await fetch(`${secured}/result/${job_id}/status`, { headers }))
      if (job.status === "completed") break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    for (const [method, route] of routes(job_id)) {
      const answer = await fetch(`${secured}${route}`, { method, headers })
      // no layout or images yet: 404 for those, 200 for the rest
      expect([200, 404]).toContain(answer.status)
      if (answer.status === 404) expect((await json(answer)).error).toBe("BlobNotFound")
    }
  })

  it("/health, /openapi.json and /docs need no token", async () => {
    expect(await json(await fetch(`${secured}/health`))).toEqual({ status: "healthy", model_loaded: true })
    expect((await fetch(`${secured}/openapi.json`)).status).toBe(200)
    expect((await fetch(`${secured}/docs`)).status).toBe(200)
  })

  it("without a token configured, no route asks for one", async () => {
    expect((await fetch(`${open}/tasks`)).status).toBe(200)
    expect((await fetch(`${open}/tasks`, { headers: { authorization: "Bearer anything" } })).status).toBe(200)
  })
})

// ---------------------------------------------------------------------------------------------------------------------
// Mounting from plain code

describe("toNodeHandler", () => {
  it("mounts the API in a node:http server from plain code, and disposes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "scriptorium-mount-"))
    const mounted = HttpTransport.toNodeHandler(
      Layer.provideMerge(
        Layer.merge(Scriptorium.layer, Worker.layer(handler, { pollMs: 100, shutdownGraceMs: 200 })),
        Layer.mergeAll(
          SqliteJobStore.layer({ filename: join(dir, "jobs.db") }),
          LocalBlobStore.layer({ root: join(dir, "blobs") }),
          PdfEngine.layer(),
          // the engine the file's runtime already built (loading the models again would cost half a second)
          Layer.effect(OcrEngine.OcrEngine, Effect.promise(() => stack.run(OcrEngine.OcrEngine)))
        )
      )
    )
    const server = createServer(mounted.handler)
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      expect((await fetch(`${base}/health`)).status).toBe(200)
      const response = await upload(base, pdf(digitalPdf), "mounted.pdf")
      expect(response.status).toBe(200)
      const { job_id } = await json(response)
      const deadline = Date.now() + 10_000
      let status = ""
      while (status !== "completed" && Date.now() < deadline) {
        status = (await json(await fetch(`${base}/result/${job_id}/status`))).status
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      expect(status).toBe("completed")
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await mounted.dispose()
    }
  })
})
