/**
 * Runs the Express example: `node examples/express-mount/dist/main.js`, configured by PORT (default 3000), DATA_DIR
 * (default ./data) and AUTH_TOKEN (default none); the standalone server's other variables (WORKER_CONCURRENCY,
 * OCR_THREADS...) apply too. SIGTERM or SIGINT stops it gracefully.
 */
import { resolve } from "node:path"
import { start } from "./index.js"

const port = Number(process.env["PORT"] ?? 3000)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a whole number from 0 to 65535, but is '${process.env["PORT"]}'.`)
  process.exit(1)
}

start({
  port,
  dataDir: resolve(process.env["DATA_DIR"] ?? "data"),
  env: process.env
}).then(
  (running) => {
    console.log(`Express app on http://localhost:${running.port}: GET /hello, Scriptorium under /ocr (docs: /ocr/docs)`)
    const stop = () => {
      running.close().then(() => process.exit(0), () => process.exit(1))
    }
    process.once("SIGTERM", stop)
    process.once("SIGINT", stop)
  },
  (error: unknown) => {
    console.error(`The example cannot start: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  }
)
