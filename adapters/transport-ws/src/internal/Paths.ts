/**
 * Where a request goes: the path prefix a mount lives under, and which WebSocket stream an upgrade asks for. Kept
 * apart from the transports so that the HTTP handler and the upgrade handler of a mount agree on the prefix.
 */
import { JobStatus } from "@scriptorium/api"
import { Schema } from "effect"

/**
 * A prefix as the transports use it: "" (none) or "/a/b", no trailing slash. Throws on one that cannot be a path
 * prefix, since that is a programming mistake found at start.
 */
export const normalizePrefix = (prefix: string | undefined): string => {
  const trimmed = (prefix ?? "").trim().replace(/\/+$/, "")
  if (trimmed === "") return ""
  if (!trimmed.startsWith("/") || /[?#\s]/.test(trimmed)) {
    throw new Error(`The path prefix '${prefix}' must start with '/' and contain no '?', '#' or spaces, e.g. "/ocr".`)
  }
  return trimmed
}

/** The URL with the prefix taken off ("/..." always), or undefined when the URL is not under the prefix. */
export const stripPrefix = (prefix: string, url: string): string | undefined => {
  if (prefix === "") return url
  if (!url.startsWith(prefix)) return undefined
  const rest = url.slice(prefix.length)
  if (rest === "") return "/"
  if (rest.startsWith("/")) return rest
  if (rest.startsWith("?")) return `/${rest}`
  return undefined
}

/** The stream an upgrade asks for. */
export type WsRoute =
  | { readonly _tag: "Job"; readonly jobId: string; readonly query: URLSearchParams }
  | { readonly _tag: "AllJobs"; readonly query: URLSearchParams }

/** The WebSocket route of a URL under `prefix` (`/ws/{job_id}` or `/ws`), or undefined when it is not one. */
export const wsRoute = (prefix: string, url: string): WsRoute | undefined => {
  const rest = stripPrefix(prefix, url)
  if (rest === undefined) return undefined
  const queryAt = rest.indexOf("?")
  const path = queryAt === -1 ? rest : rest.slice(0, queryAt)
  const query = new URLSearchParams(queryAt === -1 ? "" : rest.slice(queryAt + 1))
  if (path === "/ws") return { _tag: "AllJobs", query }
  const match = /^\/ws\/([^/]+)$/.exec(path)
  if (match === null) return undefined
  try {
    return { _tag: "Job", jobId: decodeURIComponent(match[1]!), query }
  } catch {
    // a malformed %-escape cannot name a job: let it be answered as an unknown job, with the raw text
    return { _tag: "Job", jobId: match[1]!, query }
  }
}

const isJobStatus = Schema.is(JobStatus)

/** The `status` filter of `/ws`: none or one status, or the text that is not one. */
export type StatusFilter =
  | { readonly _tag: "Ok"; readonly status: JobStatus | undefined }
  | { readonly _tag: "Invalid"; readonly value: string }

/** The `status` filter of `/ws` (repeated parameters are joined with commas, and so refused). */
export const statusFilter = (query: URLSearchParams): StatusFilter => {
  const values = query.getAll("status")
  if (values.length === 0) return { _tag: "Ok", status: undefined }
  const value = values.join(",")
  return values.length === 1 && isJobStatus(value) ? { _tag: "Ok", status: value } : { _tag: "Invalid", value }
}
