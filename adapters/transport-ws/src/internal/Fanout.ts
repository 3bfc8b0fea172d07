/**
 * The fan-out of one change feed to many sockets. A socket costs a small record in a map, not a stream or a fiber:
 * that is what keeps a thousand idle subscribers within a few megabytes. Each change is encoded once, whatever the
 * number of sockets it goes to.
 *
 * A socket watching one job is registered before its first state is read, so no change can fall between the read and
 * the registration; changes that arrive before that first state is sent are held, and those older than it dropped.
 * A change that says nothing new to a socket (same status, pages and attempts as its last message) is not sent.
 * A socket whose unsent bytes pass the bound is closed 4408: a client that does not read cannot make the server hold
 * its messages.
 */
import { isTerminal, Job, type JobStatus, WsCloseCode } from "@scriptorium/api"
import { Schema } from "effect"
import { WebSocket } from "ws"

/** One socket's subscription. */
export interface Subscriber {
  readonly socket: WebSocket
  /** The watched job; undefined for a socket following every job. */
  readonly jobId: string | undefined
  /** Every-job sockets: only changes that leave a job in this status. */
  readonly status: JobStatus | undefined
  /** What the last message sent said (see `keyOf`). */
  last: string | undefined
  /** Job sockets, until their first state is sent: the changes that arrived meanwhile. */
  early: Array<Job> | undefined
  /** Whether the socket answered the last ping. */
  alive: boolean
}

/** The fan-out's settings. */
export interface FanoutConfig {
  /** Unsent bytes a socket may have before it is closed 4408. */
  readonly maxBufferedBytes: number
  /** How long a socket closed for being slow gets to take its close frame before it is cut. */
  readonly slowCloseGraceMs: number
}

/** What a message says, for dropping messages that say nothing new. */
const keyOf = (job: Job): string => `${job.status}|${job.processed_pages}|${job.total_pages}|${job.attempts}`

const encodeJob = Schema.encodeSync(Job)

/**
 * A job as its status JSON, exactly as `GET /result/{job_id}/status` answers it, in UTF-8 once for all its sockets
 * (sent as a text frame).
 */
const encode = (job: Job): Buffer => Buffer.from(JSON.stringify(encodeJob(job)))

/** Buffers go out as text frames: the messages are JSON. */
const asText = { binary: false } as const

/** A close reason within the protocol's 123 bytes. */
export const closeReason = (text: string): string => {
  if (Buffer.byteLength(text) <= 123) return text
  let cut = text.slice(0, 120)
  while (Buffer.byteLength(`${cut}...`) > 123) cut = cut.slice(0, -1)
  return `${cut}...`
}

/** The reason sent with 1000 after a job's last message. */
const finishedReason = (job: Job) => `The job is ${job.status}; this was its last status.`

/** Changes held for a socket whose first state is still being read; beyond this only the newest are kept. */
const maxEarly = 64
/** Jobs whose last state the every-job sockets' de-duplication remembers. */
const maxRemembered = 10_000

/** True when `change` is older than `current` (so sending it after `current` would go back in time). */
const isBehind = (change: Job, current: Job): boolean => {
  const a = change.updated_at.getTime()
  const b = current.updated_at.getTime()
  return a < b || (a === b && change.status === current.status && change.processed_pages < current.processed_pages)
}

/** The registry of sockets and the delivery of changes to them. */
export const makeFanout = (config: FanoutConfig) => {
  const byJob = new Map<string, Set<Subscriber>>()
  const everyJob = new Set<Subscriber>()
  /** The last state of recently changed jobs, so that every-job sockets get no repeats either. */
  const lastByJob = new Map<string, string>()

  const remove = (sub: Subscriber): void => {
    if (sub.jobId === undefined) {
      everyJob.delete(sub)
      return
    }
    const subs = byJob.get(sub.jobId)
    if (subs === undefined) return
    subs.delete(sub)
    if (subs.size === 0) byJob.delete(sub.jobId)
  }

  /** Closes the socket with a code and reason and forgets it. */
  const close = (sub: Subscriber, code: number, reason: string): void => {
    remove(sub)
    if (sub.socket.readyState === WebSocket.OPEN || sub.socket.readyState === WebSocket.CONNECTING) {
      sub.socket.close(code, closeReason(reason))
    }
  }

  /** Sends unless the socket is too far behind, in which case it is closed 4408 and cut after a grace period. */
  const send = (sub: Subscriber, message: Buffer): boolean => {
    const socket = sub.socket
    if (socket.readyState !== WebSocket.OPEN) return false
    if (socket.bufferedAmount + message.length > config.maxBufferedBytes) {
      close(sub, WsCloseCode.tooSlow, "Too many unread messages; reconnect to get the current state.")
      setTimeout(() => socket.terminate(), config.slowCloseGraceMs).unref()
      return false
    }
    socket.send(message, asText)
    return true
  }

  /** Sends a job socket a change, unless it says nothing new; closes 1000 after a terminal status. */
  const deliver = (sub: Subscriber, job: Job, message: Buffer): void => {
    const key = keyOf(job)
    if (key === sub.last) return
    if (!send(sub, message)) return
    sub.last = key
    if (isTerminal(job.status)) close(sub, WsCloseCode.normal, finishedReason(job))
  }

  return {
    /** Registers a socket watching one job; it gets nothing until `start` gives it the job's current state. */
    addJob: (socket: WebSocket, jobId: string): Subscriber => {
      const sub: Subscriber = { socket, jobId, status: undefined, last: undefined, early: [], alive: true }
      let subs = byJob.get(jobId)
      if (subs === undefined) byJob.set(jobId, subs = new Set())
      subs.add(sub)
      return sub
    },

    /** Registers a socket following every job (with a status, only changes that leave a job in it). */
    addAll: (socket: WebSocket, status: JobStatus | undefined): Subscriber => {
      const sub: Subscriber = { socket, jobId: undefined, status, last: undefined, early: undefined, alive: true }
      everyJob.add(sub)
      return sub
    },

    /** Sends a job socket its first state, then the newer changes that arrived while it was read. */
    start: (sub: Subscriber, current: Job): void => {
      const early = sub.early ?? []
      sub.early = undefined
      deliver(sub, current, encode(current))
      for (const job of early) {
        if (sub.socket.readyState !== WebSocket.OPEN || sub.last === undefined) return
        if (!isBehind(job, current)) deliver(sub, job, encode(job))
      }
    },

    /** Hands one change to every socket that follows it. */
    publish: (job: Job): void => {
      let message: Buffer | undefined
      const subs = byJob.get(job.job_id)
      if (subs !== undefined) {
        for (const sub of subs) {
          if (sub.early !== undefined) {
            if (sub.early.length >= maxEarly) sub.early.shift()
            sub.early.push(job)
          } else {
            deliver(sub, job, message ??= encode(job))
          }
        }
      }
      const key = keyOf(job)
      const repeated = lastByJob.get(job.job_id) === key
      if (isTerminal(job.status)) lastByJob.delete(job.job_id)
      else {
        if (lastByJob.size >= maxRemembered) lastByJob.clear()
        lastByJob.set(job.job_id, key)
      }
      if (repeated) return
      for (const sub of everyJob) {
        if (sub.status === undefined || sub.status === job.status) send(sub, message ??= encode(job))
      }
    },

    remove,
    close,

    /** Every registered socket. */
    all: function*(): Generator<Subscriber> {
      for (const subs of byJob.values()) yield* subs
      yield* everyJob
    },

    /** How many sockets are registered. */
    size: (): number => {
      let n = everyJob.size
      for (const subs of byJob.values()) n += subs.size
      return n
    }
  }
}

/** The fan-out. */
export type Fanout = ReturnType<typeof makeFanout>
