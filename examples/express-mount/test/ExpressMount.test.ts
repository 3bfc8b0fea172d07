/**
 * Scriptorium mounted under /ocr in an Express 5 app (the example's `start`) and in a plain node:http server, each on
 * a free port with its own data folder, the real pipeline and a worker: the app's own routes still answer, and a
 * corpus PDF goes through upload, status, a WebSocket lifecycle and its markdown, all through the mount.
 */
import { Config, coreLayer } from "@scriptorium/example-server"
import { Mount, type NodeMount } from "@scriptorium/transport-ws"
import { Either } from "effect"
import express from "express"
import { mkdtempSync, readFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import WebSocket from "ws"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningExample, start } from "../src/index.js"

const corpus = join(import.meta.dirname, "../../../../shared/corpus")
const pdf = readFileSync(join(corpus, "pdfs-digital/docling_multi_page.pdf"))
const env = { WORKER_CONCURRENCY: "1", OCR_THREADS: "1", SHUTDOWN_GRACE_SECONDS: "0" }

/** Uploads the corpus PDF as `curl -F file=@...` would. */
const upload = (base: string, headers: Record<string, string> = {}) => {
  const form = new FormData()
  form.append("file", new Blob([pdf], { type: "application/pdf" }), "multi_page.pdf")
  return fetch(`${base}/ocr/process_pdf`, { method: "POST", body: form, headers })
}

/** Opens a WebSocket and resolves with its messages and close code once closed. */
const watch = (url: string) =>
  new Promise<{ messages: Array<Record<string, unknown>>; code: number }>((resolve, reject) => {
    const socket = new WebSocket(url)
    const messages: Array<Record<string, unknown>> = []
    socket.on("message", (data) => messages.push(JSON.parse(data.toString())))
    socket.once("error", reject)
    socket.once("close", (code) => resolve({ messages, code }))
  })

/** Upload, WebSocket to the end, status and markdown, through the mount at `base`. */
const lifecycle = async (base: string, headers: Record<string, string>, wsQuery: string) => {
  const submitted = await upload(base, headers)
  expect(submitted.status).toBe(200)
  const { job_id, status } = await submitted.json() as { job_id: string; status: string }
  expect(status).toBe("pending")

  const { messages, code } = await watch(`${base.replace("http", "ws")}/ocr/ws/${job_id}${wsQuery}`)
  expect(code).toBe(1000)
  expect(messages.length).toBeGreaterThanOrEqual(1)
  const last = messages.at(-1)!
  expect(last.status).toBe("completed")
  expect(last.processed_pages).toBe(5)

  const statusResponse = await fetch(`${base}/ocr/result/${job_id}/status`, { headers })
  expect(statusResponse.status).toBe(200)
  expect(await statusResponse.json()).toEqual(last)
  const markdown = await fetch(`${base}/ocr/result/${job_id}/markdown`, { headers })
  expect(markdown.status).toBe(200)
  expect((await markdown.text()).length).toBeGreaterThan(100)
}

describe("in an Express 5 app (the example)", () => {
  const token = "express-token"
  let running: RunningExample | undefined
  let base = ""
  beforeAll(async () => {
    running = await start({ port: 0, dataDir: mkdtempSync(join(tmpdir(), "scriptorium-express-")), authToken: token, env })
    base = `http://127.0.0.1:${running.port}`
  })
  afterAll(() => running?.close())

  it("the app's own routes still answer, beside /ocr", async () => {
    const hello = await fetch(`${base}/hello`)
    expect(hello.status).toBe(200)
    expect(await hello.json()).toEqual({ hello: "world", ocr: "/ocr/docs" })
    // outside the prefix, Express answers (its own 404 page), not Scriptorium
    const missing = await fetch(`${base}/nothing-here`)
    expect(missing.status).toBe(404)
    expect(missing.headers.get("content-type")).toContain("text/html")
  })

  it("upload, status, a WebSocket lifecycle and the markdown, through /ocr (with the token)", async () => {
    await lifecycle(base, { authorization: `Bearer ${token}` }, `?token=${token}`)
  })

  it("inside /ocr: the contract's 401, 404, OpenAPI and docs", async () => {
    const refused = await upload(base)
    expect(refused.status).toBe(401)
    expect((await refused.json() as { error: string }).error).toBe("Unauthorized")
    const unknown = await fetch(`${base}/ocr/nope`, { headers: { authorization: `Bearer ${token}` } })
    expect(unknown.status).toBe(404)
    expect((await unknown.json() as { error: string }).error).toBe("RouteNotFound")
    const openapi = await fetch(`${base}/ocr/openapi.json`)
    expect(openapi.status).toBe(200)
    expect(Object.keys((await openapi.json() as { paths: object }).paths)).toContain("/process_pdf")
    expect((await fetch(`${base}/ocr/docs`)).status).toBe(200)
  })

  it("the /v1 job views give URLs under /ocr, and they answer", async () => {
    const form = new FormData()
    form.append("file", new Blob([pdf], { type: "application/pdf" }), "mounted.pdf")
    const auth = { authorization: `Bearer ${token}` }
    const submitted = await fetch(`${base}/ocr/v1/jobs`, { method: "POST", body: form, headers: auth })
    expect(submitted.status).toBe(202)
    const job = await submitted.json() as { job_id: string; status_url: string; events_url: string }
    expect(job.status_url).toBe(`/ocr/v1/jobs/${job.job_id}`)
    expect(job.events_url).toBe(`/ocr/result/${job.job_id}/events`)
    const followed = await fetch(`${base}${job.status_url}?wait=30`, { headers: auth })
    expect(followed.status).toBe(200)
    expect((await followed.json() as { job_id: string }).job_id).toBe(job.job_id)
  })

  it("a WebSocket without the token is refused with 401 before the upgrade", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(`${base.replace("http", "ws")}/ocr/ws`)
      socket.once("open", () => reject(new Error("accepted")))
      socket.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0))
    })
    expect(status).toBe(401)
  })
})

describe("in a plain node:http server", () => {
  let ocr: NodeMount | undefined
  let server: Server | undefined
  let base = ""
  beforeAll(async () => {
    const config = Config.fromEnv({ ...env, SCRIPTORIUM_DATA_DIR: mkdtempSync(join(tmpdir(), "scriptorium-nodehttp-")) })
    if (Either.isLeft(config)) throw config.left
    const mounted = Mount.toNodeMount(coreLayer(config.right), { prefix: "/ocr" })
    ocr = mounted
    server = createServer((req, res) =>
      mounted.handler(req, res, () => {
        res.statusCode = req.url === "/hello" ? 200 : 404
        res.end(req.url === "/hello" ? "hello from node:http" : "not mine")
      })
    )
    server.on("upgrade", (req, socket, head) => mounted.upgrade(req, socket, head))
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await ocr?.dispose()
    await new Promise<void>((resolve) => {
      server?.close(() => resolve())
      server?.closeAllConnections()
    })
  })

  it("the server's own routes still answer; /ocr is Scriptorium", async () => {
    const hello = await fetch(`${base}/hello`)
    expect(await hello.text()).toBe("hello from node:http")
    expect((await fetch(`${base}/ocrx`)).status).toBe(404)
    expect(await (await fetch(`${base}/ocrx`)).text()).toBe("not mine")
    const health = await fetch(`${base}/ocr/health`)
    expect(health.status).toBe(200)
  })

  it("upload, status, a WebSocket lifecycle and the markdown, through /ocr", async () => {
    await lifecycle(base, {}, "")
  })

  it("an upgrade outside /ocr is answered 404", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(`${base.replace("http", "ws")}/elsewhere`)
      socket.once("open", () => reject(new Error("accepted")))
      socket.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0))
    })
    expect(status).toBe(404)
  })
})

describe("Express's app.use(path, handler) form", () => {
  it("reaches the same routes, since the handler reads req.originalUrl", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "scriptorium-express-path-"))
    const config = Config.fromEnv({ ...env, WORKER_CONCURRENCY: "0", SCRIPTORIUM_DATA_DIR: dataDir })
    if (Either.isLeft(config)) throw config.left
    const ocr = Mount.toNodeMount(coreLayer(config.right), { prefix: "/ocr" })
    const app = express()
    app.use("/ocr", ocr.handler)
    const server = createServer(app)
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/ocr/tasks`)
      expect(response.status).toBe(200)
      expect(await response.json()).toHaveProperty("tasks")
    } finally {
      await ocr.dispose()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
