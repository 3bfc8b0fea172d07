/**
 * A child-process server for the durability test: the HTTP API's Node handler (with its upload fast path) over
 * SQLite and a local blob folder in the data folder given as argv[2], the real PDF admission check, no worker. Prints
 * `listening <port>` once it accepts requests. Plain JavaScript on the built packages, so node runs it as it is.
 */
import { PdfAdmission, PdfEngine, Scriptorium } from "@scriptorium/core"
import { LocalBlobStore } from "@scriptorium/storage-local"
import { SqliteJobStore } from "@scriptorium/store-sqlite"
import { HttpTransport } from "@scriptorium/transport-http"
import { Layer } from "effect"
import { createServer } from "node:http"
import { join } from "node:path"

const dataDir = process.argv[2]
const core = Layer.provideMerge(
  Scriptorium.layer,
  Layer.mergeAll(
    SqliteJobStore.layer({ filename: join(dataDir, "jobs.db") }),
    LocalBlobStore.layer({ root: join(dataDir, "blobs") }),
    PdfAdmission.layer().pipe(Layer.provideMerge(PdfEngine.layer()))
  )
)
const { handler } = HttpTransport.toNodeHandler(core)
const server = createServer(handler)
server.listen(0, "127.0.0.1", () => process.stdout.write(`listening ${server.address().port}\n`))
