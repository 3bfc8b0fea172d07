/**
 * MultipartBody: the parts of a `multipart/form-data` body held whole in memory (RFC 7578, RFC 2046 section 5.1).
 * Each part's content is a view into the body, not a copy, and the boundaries are found with `Buffer.indexOf`, so a
 * 1 MB upload is split in a few microseconds: the streaming parser of @effect/platform spent milliseconds of the
 * event loop per upload in stream stages, for a body the admission check needs whole anyway.
 */

/** One part: its form field name, its file name when it carries a file, and its bytes. */
export interface Part {
  readonly name: string | undefined
  /** Present (possibly empty) when the part is a file: its Content-Disposition has a `filename` parameter. */
  readonly filename: string | undefined
  readonly content: Uint8Array
}

/** The boundary of a multipart content type, or undefined when the type is not multipart with one. */
export const boundaryOf = (contentType: string | undefined): string | undefined => {
  if (contentType === undefined || !/^\s*multipart\/form-data\s*;/i.test(contentType)) return undefined
  const match = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))/i.exec(contentType)
  const boundary = match?.[1] ?? match?.[2]
  // RFC 2046: 1 to 70 characters
  return boundary !== undefined && boundary.length <= 70 ? boundary : undefined
}

const CRLF = Buffer.from("\r\n")
const HEADERS_END = Buffer.from("\r\n\r\n")

/**
 * The parts of `body`, in order; undefined when the body is not a complete multipart body for this boundary (no
 * opening delimiter, a part without its header block, or no closing delimiter: a truncated upload).
 */
export const parse = (body: Uint8Array, boundary: string): ReadonlyArray<Part> | undefined => {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  const opening = Buffer.from(`--${boundary}`)
  // every delimiter after the first starts on a new line: content may hold `--boundary` only at a line start
  const delimiter = Buffer.from(`\r\n--${boundary}`)
  const parts: Array<Part> = []
  let at = bytes.subarray(0, opening.length).equals(opening) ? 0 : bytes.indexOf(delimiter)
  if (at < 0) return undefined
  if (at > 0) at += CRLF.length
  for (;;) {
    const afterDelimiter = at + opening.length
    if (bytes[afterDelimiter] === 0x2d && bytes[afterDelimiter + 1] === 0x2d) return parts // "--": the close
    const lineEnd = bytes.indexOf(CRLF, afterDelimiter)
    if (lineEnd < 0) return undefined
    const headersEnd = bytes.indexOf(HEADERS_END, lineEnd)
    if (headersEnd < 0) return undefined
    const contentStart = headersEnd + HEADERS_END.length
    const next = bytes.indexOf(delimiter, contentStart)
    if (next < 0) return undefined
    const headers = bytes.toString("utf8", lineEnd + CRLF.length, headersEnd)
    const disposition = dispositionOf(headers)
    parts.push({ ...disposition, content: body.subarray(contentStart, next) })
    at = next + CRLF.length
  }
}

/** The `name` and `filename` of a part's Content-Disposition header. */
const dispositionOf = (headers: string): Pick<Part, "name" | "filename"> => {
  const line = headers.split("\r\n").find((h) => /^content-disposition\s*:/i.test(h))
  if (line === undefined) return { name: undefined, filename: undefined }
  const params = parameters(line.slice(line.indexOf(":") + 1))
  const extended = params.get("filename*")
  return { name: params.get("name"), filename: extended !== undefined ? decodeExtended(extended) : params.get("filename") }
}

/** The `key=value` parameters of a header value, quoted strings unescaped, keys lower-cased. */
const parameters = (value: string): Map<string, string> => {
  const out = new Map<string, string>()
  const pattern = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g
  for (const match of value.matchAll(pattern)) {
    const key = match[1]!.toLowerCase()
    if (!out.has(key)) out.set(key, match[2] !== undefined ? match[2].replace(/\\(.)/g, "$1") : match[3]!.trim())
  }
  return out
}

/** An RFC 5987 value (`UTF-8''na%C3%AFve.pdf`); the raw value when it is not one. */
const decodeExtended = (value: string): string => {
  const match = /^([\w-]+)'[^']*'(.*)$/.exec(value)
  if (match === null) return value
  try {
    return decodeURIComponent(match[2]!)
  } catch {
    return match[2]!
  }
}
