/**
 * The client's failures against a real server: each rejection is an instance of the api's error class (or the
 * client's `ClientError` / `ServerUnreachable`), with the fields that say what happened, never a raw decoding error;
 * and `waitForCompletion`'s progress callback and timeout. The server is real (SQLite, a Worker, HTTP on a free port);
 * the "wrong server" cases are plain node:http servers that answer what no Scriptorium server would.
 */
import {
  JobCancelled,
  JobFailed,
  JobNotFinished,
  JobNotFound,
  Unauthorized,
  WaitTimedOut,
  type Job
} from "@scriptorium/api"
import { type Client, ClientError, createClient, ScriptoriumClient, ServerUnreachable } from "@scriptorium/client"
import { Effect } from "effect"
import { createServer, type RequestListener, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { paper, slowPages, startServer, type TestServer } from "./TestServer.js"

const token = "errors-token"

let server: TestServer
let client: Client

beforeAll(async () => {
  server = await startServer({ token })
  client = createClient({ baseUrl: server.baseUrl, token })
})

afterAll(async () => {
  await server?.close()
})

/** The rejection of `promise` (failing the test if it resolves). */
const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error("expected a rejection")
}

/** A plain node:http server answering every request with `listener`. */
const plainServer = async (listener: RequestListener): Promise<{ url: string; close: () => Promise<void> }> => {
  const plain: Server = createServer(listener)
  await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(plain.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => plain.close(() => resolve()))
  }
}

const submit = async (filename: string) => (await client.processPdf(filename, paper)).job_id

describe("typed errors", () => {
  it("an unknown id rejects with JobNotFound, from status, markdown and waitForCompletion", async () => {
    for (const call of [client.status, client.markdown, (id: string) => client.waitForCompletion(id)]) {
      const error = await rejection(call("no-such-job"))
      expect(error).toBeInstanceOf(JobNotFound)
      expect(error).toMatchObject({ _tag: "JobNotFound", job_id: "no-such-job" })
      expect((error as JobNotFound).message).toContain("no-such-job")
    }
  })

  it("a wrong token rejects with Unauthorized 'wrong', no token with Unauthorized 'missing'", async () => {
    const id = await submit("auth.pdf")
    const wrong = await rejection(createClient({ baseUrl: server.baseUrl, token: "not-the-token" }).status(id))
    expect(wrong).toBeInstanceOf(Unauthorized)
    expect(wrong).toMatchObject({ reason: "wrong" })
    const missing = await rejection(createClient({ baseUrl: server.baseUrl }).waitForCompletion(id))
    expect(missing).toBeInstanceOf(Unauthorized)
    expect(missing).toMatchObject({ reason: "missing" })
  })

  it("a failed job rejects waitForCompletion and markdown with JobFailed and the job's error message", async () => {
    const id = await submit("fail-render.pdf")
    const error = await rejection(client.waitForCompletion(id, { initialDelayMs: 50 }))
    expect(error).toBeInstanceOf(JobFailed)
    expect(error).toMatchObject({ job_id: id, error_message: "The page 1 could not be rendered." })
    const markdown = await rejection(client.markdown(id))
    expect(markdown).toBeInstanceOf(JobFailed)
    expect(markdown).toMatchObject({ job_id: id, error_message: "The page 1 could not be rendered." })
  })

  it("a job cancelled while being waited for rejects with JobCancelled", async () => {
    const id = await submit("hold-cancel.pdf")
    const waiting = rejection(client.waitForCompletion(id, { initialDelayMs: 50, maxDelayMs: 200 }))
    await waitUntil(async () => (await client.status(id)).status === "processing")
    await server.facade((scriptorium) => scriptorium.cancel(id))
    const error = await waiting
    expect(error).toBeInstanceOf(JobCancelled)
    expect(error).toMatchObject({ job_id: id })
  })

  it("a job still running when the timeout passes rejects with WaitTimedOut, after about the timeout", async () => {
    const id = await submit("hold-timeout.pdf")
    const started = performance.now()
    const error = await rejection(client.waitForCompletion(id, { timeoutMs: 600 }))
    const elapsed = performance.now() - started
    expect(error).toBeInstanceOf(WaitTimedOut)
    expect(error).toMatchObject({ job_id: id, timeout_ms: 600 })
    expect(elapsed).toBeGreaterThanOrEqual(590)
    expect(elapsed).toBeLessThan(2_000)
    // the result of a running job is the contract's 202, as a typed error too
    expect(await rejection(client.markdown(id))).toBeInstanceOf(JobNotFinished)
    await server.facade((scriptorium) => scriptorium.cancel(id))
  })

  it("a server that is not there rejects with ServerUnreachable (connection refused)", async () => {
    const gone = await plainServer((_request, response) => response.end())
    await gone.close()
    const error = await rejection(createClient({ baseUrl: gone.url }).status("any"))
    expect(error).toBeInstanceOf(ServerUnreachable)
    expect(error).toMatchObject({ url: gone.url, reason: "ECONNREFUSED" })
  })

  it("an answer outside the contract rejects with ClientError naming the status and the server's words", async () => {
    const other = await plainServer((request, response) => {
      if (request.url?.startsWith("/result/")) {
        response.writeHead(200, { "content-type": "text/plain" }).end("hello, I am not Scriptorium")
      } else {
        const message = "There is no route GET /v1/jobs/x; the routes are listed at /docs."
        response.writeHead(404, { "content-type": "application/json" })
          .end(JSON.stringify({ error: "RouteNotFound", message, detail: message }))
      }
    })
    try {
      const plainText = await rejection(createClient({ baseUrl: other.url }).status("x"))
      expect(plainText).toBeInstanceOf(ClientError)
      expect(plainText).toMatchObject({ status: 200, error: null })
      const unknownRoute = await rejection(createClient({ baseUrl: other.url }).get("x"))
      expect(unknownRoute).toBeInstanceOf(ClientError)
      expect(unknownRoute).toMatchObject({ status: 404, error: "RouteNotFound" })
      expect((unknownRoute as ClientError).message).toContain("There is no route GET /v1/jobs/x")
    } finally {
      await other.close()
    }
  })
})

describe("waitForCompletion", () => {
  it("calls onProgress with the first state and on each change, and resolves with the completed job", async () => {
    const id = await submit("slow-progress.pdf")
    const seen: Array<Job> = []
    const job = await client.waitForCompletion(id, {
      onProgress: (progress) => seen.push(progress),
      initialDelayMs: 40,
      maxDelayMs: 80
    })
    expect(job).toMatchObject({ job_id: id, status: "completed", processed_pages: slowPages })
    expect(seen.at(-1)).toEqual(job)
    expect(["pending", "processing"]).toContain(seen[0]!.status)
    // every call is a change, and pages only go up
    for (let index = 1; index < seen.length; index++) {
      const [before, after] = [seen[index - 1]!, seen[index]!]
      expect([before.status, before.processed_pages, before.total_pages])
        .not.toEqual([after.status, after.processed_pages, after.total_pages])
      expect(after.processed_pages).toBeGreaterThanOrEqual(before.processed_pages)
    }
    // pages are 300 ms apart and the poll is at most 80 ms apart: the pages in between were seen too (on a loaded
    // machine a request can take longer than a page, so one may be missed)
    const pages = new Set(seen.map((progress) => progress.processed_pages))
    expect(pages.size).toBeGreaterThanOrEqual(3)
  })
})

describe("the Effect API", () => {
  it("fails with the contract's errors in the error channel", async () => {
    const program = Effect.gen(function*() {
      const client = yield* ScriptoriumClient.ScriptoriumClient
      const id = (yield* client.processPdf("effect.pdf", paper)).job_id
      const job = yield* client.waitForCompletion(id, { initialDelayMs: 50 })
      const missing = yield* Effect.flip(client.status("no-such-job"))
      return { job, missing }
    })
    const { job, missing } = await Effect.runPromise(
      Effect.provide(program, ScriptoriumClient.layer({ baseUrl: server.baseUrl, token }))
    )
    expect(job.status).toBe("completed")
    expect(missing).toBeInstanceOf(JobNotFound)
  })
})

const waitUntil = async (condition: () => Promise<boolean>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("the condition never held")
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
