/** A loopback TCP proxy that refuses connections until `delayMs` have passed, then forwards them: a late server. */
import { createServer, type Server, connect } from "node:net"

export const startDelayedProxy = (port: number, targetPort: number, delayMs: number) =>
  new Promise<{ close: () => Promise<void> }>((resolve) => {
    let server: Server | undefined
    const listen = () => {
      server = createServer((socket) => {
        const upstream = connect(targetPort, "127.0.0.1")
        socket.pipe(upstream).pipe(socket)
        socket.on("error", () => upstream.destroy())
        upstream.on("error", () => socket.destroy())
      }).listen(port, "127.0.0.1")
    }
    const timer = setTimeout(listen, delayMs)
    resolve({
      close: () =>
        new Promise<void>((done) => {
          clearTimeout(timer)
          if (server === undefined) done()
          else server.close(() => done())
        })
    })
  })
