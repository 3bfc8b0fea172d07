/**
 * Reads the upload of `POST /process_pdf`: the request body, collected up to a bound, and its `file` part found by
 * the multipart boundary (MultipartBody). The body is held whole because the admission check reads the whole file
 * before a job exists (a PDF's trailer is at its end); the bound keeps that memory to the configured limit. The byte
 * limit, the empty file and the missing field are checked here, each with its own error.
 */
import { EmptyFile, FileTooLarge, MissingFile } from "@scriptorium/api"
import { Effect, Stream } from "effect"
import * as MultipartBody from "./MultipartBody.js"

/** The multipart field that carries the PDF (the seed's `-F "file=@document.pdf"`). */
export const fileField = "file"

/** The file of an upload. */
export interface Upload {
  readonly filename: string
  readonly content: Uint8Array
}

/** Room for the multipart framing and small fields beside a file of the largest size accepted. */
const FRAMING_BYTES = 64 * 1024

/**
 * The first file part named `file` of a multipart request. Fails with MissingFile when the request is not
 * multipart, is cut short, or has no such part; FileTooLarge as soon as the body is larger than the limit allows
 * (by its Content-Length before a byte is read, when it has one); EmptyFile when the file has no bytes.
 */
export const readUpload = <E>(
  request: {
    readonly contentType: string | undefined
    readonly contentLength: string | undefined
    readonly body: Stream.Stream<Uint8Array, E>
  },
  maxBytes: number
): Effect.Effect<Upload, FileTooLarge | EmptyFile | MissingFile> =>
  Effect.gen(function*() {
    const boundary = MultipartBody.boundaryOf(request.contentType)
    if (boundary === undefined) return yield* new MissingFile({ field: fileField })
    const bodyLimit = maxBytes + FRAMING_BYTES
    if (Number(request.contentLength) > bodyLimit) return yield* new FileTooLarge({ limit_bytes: maxBytes })
    const body = yield* collect(request.body, bodyLimit, maxBytes)
    const parts = MultipartBody.parse(body, boundary)
    const file = parts?.find((part) => part.name === fileField && part.filename !== undefined)
    if (file === undefined) return yield* new MissingFile({ field: fileField })
    const filename = file.filename || "document.pdf"
    if (file.content.length > maxBytes) return yield* new FileTooLarge({ limit_bytes: maxBytes })
    if (file.content.length === 0) return yield* new EmptyFile({ filename })
    return { filename, content: file.content }
  })

/** The body in one buffer; FileTooLarge past `limit` bytes, MissingFile when the request breaks off. */
const collect = <E>(
  body: Stream.Stream<Uint8Array, E>,
  limit: number,
  maxBytes: number
): Effect.Effect<Uint8Array, FileTooLarge | MissingFile> =>
  Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let total = 0
    return body.pipe(
      Stream.runForEachChunk((chunk) =>
        Effect.suspend(() => {
          for (const bytes of chunk) {
            total += bytes.length
            chunks.push(bytes)
          }
          return total > limit ? Effect.fail(new FileTooLarge({ limit_bytes: maxBytes })) : Effect.void
        })
      ),
      Effect.mapError((e) => e instanceof FileTooLarge ? e : new MissingFile({ field: fileField })),
      Effect.map(() => Buffer.concat(chunks, total))
    )
  })
