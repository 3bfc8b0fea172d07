/**
 * The status fast path (internal/StatusFastPath.ts) answers `GET /result/{id}/status` beside the router: its answers
 * must be the router's, byte for byte, and everything it cannot answer exactly must reach the router.
 */
import { Scriptorium } from "@scriptorium/core"
import { Effect } from "effect"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as StatusFastPath from "../src/internal/StatusFastPath.js"
import { digitalPdf, json, type Stack, start, submitFile, submitMultipart, token, waitFor } from "./support/TestStack.js"

let stack: Stack
let probe: Server
let probeBase: string
/** The requests the probe's fast path handed on. */
let handedOn: Array<string> = []

beforeAll(async () => {
  stack = await start({ maxUploadBytes: 4 * 1024 * 1024 })
  // the fast path alone, in front of a `next` that only records what reached it
  const handler = await stack.run(Effect.gen(function*() {
    return StatusFastPath.make(yield* Scriptorium.Scriptorium, token, yield* Effect.runtime<never>(), (req, res) => {
      handedOn.push(req.url ?? "")
      res.writeHead(599)
      res.end()
    })
  }))
  probe = createServer(handler)
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve))
  probeBase = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`
})

afterAll(async () => {
  probe?.closeAllConnections()
  await new Promise<void>((resolve) => probe ? probe.close(() => resolve()) : resolve())
  await stack?.stop()
})

const bearer = { authorization: `Bearer ${token}` }

/** Status, content type and length, and the body as text. */
const answer = async (response: Response) => ({
  status: response.status,
  type: response.headers.get("content-type"),
  length: response.headers.get("content-length"),
  body: await response.text()
})

/** Jobs in several states: completed, failed (with its error), processing, with options and an idempotency key. */
const jobsInStates = async () => {
  const completed = await submitFile(stack.open, digitalPdf, "fast-completed.pdf")
  const failed = await submitFile(stack.open, digitalPdf, "fail-fast.pdf")
  const held = await submitFile(stack.open, digitalPdf, "hold-fast.pdf")
  const withOptions = (await json(
    await submitMultipart(stack.open, digitalPdf, "fast-options.pdf", {
      fields: { webhook_url: "http://127.0.0.1:9/hook", priority: "3" },
      headers: { "idempotency-key": "fast-path-key" }
    })
  )).job_id as string
  await waitFor(stack.open, completed, (job) => job.status === "completed")
  await waitFor(stack.open, failed, (job) => job.status === "failed")
  await waitFor(stack.open, held, (job) => job.processed_pages === 1)
  await waitFor(stack.open, withOptions, (job) => job.status === "completed")
  return [completed, failed, held, withOptions]
}

describe("GET /result/{id}/status beside the router", () => {
  it("answers exactly as the router does, in every state, and the probe shows it answered them itself", async () => {
    const ids = await jobsInStates()
    handedOn = []
    for (const id of ids) {
      const routed = await answer(await fetch(`${stack.open}/result/${id}/status`))
      expect(routed.status).toBe(200)
      // the mounted handler (with the fast path) and the fast path alone give the router's bytes
      expect(await answer(await fetch(`${stack.secured}/result/${id}/status`, { headers: bearer }))).toEqual(routed)
      expect(await answer(await fetch(`${probeBase}/result/${id}/status?x=1`, { headers: bearer }))).toEqual(routed)
    }
    expect(handedOn).toEqual([])
  })

  it("hands on what it cannot answer exactly: other routes, no or a wrong token, unknown ids, bad escapes", async () => {
    const [id] = await jobsInStates()
    handedOn = []
    const paths = [
      `/result/${id}/markdown`,
      `/result/${id}/status/extra`,
      `/result//status`,
      `/result/%E0%A4%A/status`,
      `/result/${crypto.randomUUID()}/status`
    ]
    for (const path of paths) expect((await fetch(`${probeBase}${path}`, { headers: bearer })).status).toBe(599)
    expect((await fetch(`${probeBase}/result/${id}/status`)).status).toBe(599)
    expect((await fetch(`${probeBase}/result/${id}/status`, { headers: { authorization: "Bearer wrong" } })).status)
      .toBe(599)
    expect((await fetch(`${probeBase}/result/${id}/status`, { method: "DELETE", headers: bearer })).status).toBe(599)
    expect(handedOn).toHaveLength(paths.length + 3)
    // through the mounted handler, the router gives those their usual answers
    expect((await fetch(`${stack.secured}/result/${id}/status`)).status).toBe(401)
    const unknown = await fetch(`${stack.secured}/result/nope/status`, { headers: bearer })
    expect(await answer(unknown)).toEqual(await answer(await fetch(`${stack.open}/result/nope/status`)))
  })
})
