/**
 * The HTTP benchmark's peer: a bare node:http server that answers every request with one constant JSON body (the
 * same bytes the Scriptorium server answers for a job's status), with keep-alive. A request with a body (an upload)
 * is read whole into memory first, as any server must before it can answer: the floor of an upload's cost. Forked by `http.ts`: the parent sends
 * `{ type: "serve", body }` over IPC, the child listens on 127.0.0.1 (any free port) and answers
 * `{ type: "listening", port }`. Exits when the parent disconnects. Not meant to be run by hand.
 */
import { createServer } from "node:http"

/** Messages from the parent. */
export type ToBare = { readonly type: "serve"; readonly body: string }

/** Messages to the parent. */
export type FromBare = { readonly type: "listening"; readonly port: number }

process.on("message", (message: ToBare) => {
  if (message.type !== "serve") return
  const body = Buffer.from(message.body, "utf8")
  const server = createServer((req, res) => {
    const answer = () => {
      res.writeHead(200, { "content-type": "application/json", "content-length": body.length })
      res.end(body)
    }
    if (req.method === "GET") return answer()
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      // the body whole, as one buffer: what a server needs before it can parse it
      Buffer.concat(chunks)
      answer()
    })
  })
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    process.send?.({ type: "listening", port } satisfies FromBare)
  })
})

process.on("disconnect", () => process.exit(0))
