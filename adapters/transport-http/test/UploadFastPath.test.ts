/**
 * The upload fast path (internal/UploadFastPath.ts) takes `POST /process_pdf` beside the router: each of its answers
 * must be the router's, byte for byte (the job id aside), the job it answers for must exist with its file, and every
 * request it cannot take whole must reach the router with its body unread. Accepted files are named `fail-*`, so the
 * stack's worker ends their jobs at once instead of reading 14 pages each.
 */
import { BlobStore, readBytes, Scriptorium } from "@scriptorium/core"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as UploadFastPath from "../src/internal/UploadFastPath.js"
import { type Stack, start, token } from "./support/TestStack.js"

const corpus = join(import.meta.dirname, "../../../../shared/corpus")
const paper = readFileSync(join(corpus, "pdfs-digital/pdfjs_tracemonkey.pdf"))
const encrypted = readFileSync(join(corpus, "pdfs-real/issue6010_1.pdf"))
const corrupt = readFileSync(join(corpus, "pdfs-real/bug1020226.pdf"))
const maxUploadBytes = 2 * 1024 * 1024

let stack: Stack
const probes: Array<Server> = []
/** The requests a probe handed on, and whether their body was still unread then. */
let handedOn: Array<{ readonly url: string; readonly unread: boolean }> = []

/** The fast path alone, in front of a `next` that records what reached it; its base URL. */
const probe = async (probeToken: string | undefined): Promise<string> => {
  const handler = await stack.run(Effect.gen(function*() {
    return UploadFastPath.make(
      yield* Scriptorium.Scriptorium,
      { token: probeToken, maxUploadBytes },
      yield* Effect.runtime<never>(),
      (req: IncomingMessage, res) => {
        handedOn.push({ url: req.url ?? "", unread: req.readableFlowing === null })
        req.resume()
        res.writeHead(599)
        res.end()
      }
    )
  }))
  const server = createServer(handler)
  probes.push(server)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

let open: string
let secured: string

beforeAll(async () => {
  stack = await start({ maxUploadBytes })
  open = await probe(undefined)
  secured = await probe(token)
})

afterAll(async () => {
  for (const server of probes) {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  await stack?.stop()
})

const form = (bytes: Uint8Array | string, filename: string | undefined, field = "file") => {
  const body = new FormData()
  if (filename === undefined) body.append(field, typeof bytes === "string" ? bytes : Buffer.from(bytes).toString())
  else body.append(field, new Blob([typeof bytes === "string" ? bytes : new Uint8Array(bytes)]), filename)
  return body
}

const post = (base: string, body: BodyInit | undefined, headers: Record<string, string> = {}, path = "/process_pdf") =>
  fetch(`${base}${path}`, {
    method: "POST",
    body,
    headers,
    // a streamed body must say so
    ...(body instanceof ReadableStream ? { duplex: "half" } : {})
  })

/** Status, every header but the connection's, and the body with job ids masked. */
const answer = async (response: Response) => {
  const headers = Object.fromEntries(
    [...response.headers].filter(([name]) => !["date", "connection", "keep-alive", "transfer-encoding"].includes(name))
  )
  const body = (await response.text()).replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<id>")
  return { status: response.status, headers, body }
}

/** The router's answer (the open API, no fast path) and the probe's to the same request. */
const both = async (make: () => BodyInit | undefined, headers: Record<string, string> = {}) => {
  const routed = await answer(await post(stack.open, make(), headers))
  const fast = await answer(await post(open, make(), headers))
  return { routed, fast }
}

const boundary = "upload-fast-path-test"

/** A multipart body with `bytes` as its file, framed by hand (to be streamed). */
const multipart = (bytes: Uint8Array) =>
  Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n\r\n%PDF-1.4\n`),
    bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`)
  ])

/** A body streamed in chunks, so it is sent without a Content-Length. */
const chunked = (bytes: Uint8Array) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (let at = 0; at < bytes.length; at += 256 * 1024) controller.enqueue(bytes.subarray(at, at + 256 * 1024))
      controller.close()
    }
  })

describe("POST /process_pdf beside the router", () => {
  it("answers an accepted upload as the router does; its job exists with the file and page count", async () => {
    handedOn = []
    const { routed, fast } = await both(() => form(paper, "fail-tracemonkey.pdf"))
    expect(routed.status).toBe(200)
    expect(fast).toEqual(routed)
    const response = await post(open, form(paper, "fail-paper.pdf"))
    const { job_id } = (await response.json()) as { job_id: string }
    const job = await stack.run(Effect.flatMap(Scriptorium.Scriptorium, (s) => s.status(job_id)))
    expect(job).toMatchObject({ filename: "fail-paper.pdf", total_pages: 14 })
    const stored = await stack.run(
      Effect.flatMap(BlobStore, (blobs) => readBytes(blobs, `${job_id}/input`)) as Effect.Effect<Uint8Array>
    )
    expect(Buffer.compare(Buffer.from(stored), paper)).toBe(0)
    expect(handedOn).toEqual([])
  })

  it("refuses as the router does: not a PDF, empty, encrypted, corrupt, no file part, too large", async () => {
    handedOn = []
    const cases: Array<[string, () => BodyInit, number]> = [
      ["not a PDF", () => form("just words", "notes.txt"), 415],
      ["empty", () => form(new Uint8Array(0), "empty.pdf"), 400],
      ["encrypted", () => form(encrypted, "locked.pdf"), 422],
      ["corrupt", () => form(corrupt, "broken.pdf"), 422],
      ["another field", () => form(paper, "a.pdf", "document"), 400],
      ["a text field named file", () => form("not a file", undefined), 400],
      ["a body that is not multipart", () => new Blob(["this is not multipart"]), 400]
    ]
    for (const [name, make, status] of cases) {
      const headers: Record<string, string> = name === "a body that is not multipart"
        ? { "content-type": "multipart/form-data; boundary=xyz" }
        : {}
      const { routed, fast } = await both(make, headers)
      expect({ name, status: routed.status }).toEqual({ name, status })
      expect({ name, ...fast }).toEqual({ name, ...routed })
    }
    // streamed (no Content-Length), a body over the limit is refused as soon as it is: the router closes such a
    // connection, so its answer is taken with the length declared (which it refuses before reading)
    const big = multipart(Buffer.alloc(maxUploadBytes + 100 * 1024))
    const framing = { "content-type": `multipart/form-data; boundary=${boundary}` }
    const routed = await answer(await post(stack.open, new Blob([new Uint8Array(big)]), framing))
    expect(routed.status).toBe(413)
    expect(await answer(await post(open, chunked(big), framing))).toEqual(routed)
    expect(handedOn).toEqual([])
  })

  it("hands on, body unread, what it cannot take whole (other routes, not multipart, too long, no token)", async () => {
    handedOn = []
    const upload = () => form(paper, "fail-paper.pdf")
    const statuses = [
      (await post(open, upload(), {}, "/process_pdfs")).status,
      (await post(open, upload(), {}, "/v1/jobs")).status,
      (await fetch(`${open}/process_pdf`)).status,
      (await post(open, JSON.stringify({ file: "x" }), { "content-type": "application/json" })).status,
      (await post(open, new Blob([Buffer.alloc(maxUploadBytes + 100 * 1024)]), {
        "content-type": "multipart/form-data; boundary=xyz"
      })).status,
      (await post(secured, upload())).status,
      (await post(secured, upload(), { authorization: "Bearer wrong" })).status
    ]
    expect(statuses).toEqual(Array(7).fill(599))
    expect(handedOn.map((h) => h.url)).toEqual([
      "/process_pdfs",
      "/v1/jobs",
      "/process_pdf",
      "/process_pdf",
      "/process_pdf",
      "/process_pdf",
      "/process_pdf"
    ])
    expect(handedOn.every((h) => h.unread)).toBe(true)
    // with the token, and a query, it takes the upload
    expect((await post(secured, upload(), { authorization: `Bearer ${token}` }, "/process_pdf?x=1")).status).toBe(200)
    expect(handedOn).toHaveLength(7)
    // through the mounted handler, the router gives those their usual answers
    expect((await post(stack.secured, upload())).status).toBe(401)
    expect((await post(stack.secured, upload(), { authorization: `Bearer ${token}` })).status).toBe(200)
  })

  it("takes 50 uploads at once, each answered with its own job", async () => {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => post(open, form(paper, `fail-wave-${i}.pdf`)).then((r) => r.json()))
    ) as Array<{ job_id: string; status: string }>
    expect(new Set(answers.map((a) => a.job_id)).size).toBe(50)
    const jobs = await stack.run(
      Effect.flatMap(Scriptorium.Scriptorium, (s) => Effect.forEach(answers, (a) => s.status(a.job_id)))
    )
    const names = Array.from({ length: 50 }, (_, i) => `fail-wave-${i}.pdf`)
    expect(jobs.map((j) => j.filename).sort()).toEqual(names.sort())
  })
})
