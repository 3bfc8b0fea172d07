/**
 * The load generator's child process (`Load.start()` forks it): runs the load runs its parent sends over the IPC
 * channel, one at a time, and answers each with its result. Exits when the parent disconnects or dies. Not meant to
 * be run by hand.
 */
import { type FromLoad, generate, type ToLoad } from "./Load.js"

const send = (message: FromLoad) => process.send?.(message)

let queue = Promise.resolve()
process.on("message", (message: ToLoad) => {
  if (message.type !== "run") return
  queue = queue.then(() =>
    generate(message.spec).then(
      (result) => void send({ type: "result", id: message.id, result }),
      (error: unknown) =>
        void send({
          type: "failed",
          id: message.id,
          message: error instanceof Error ? error.stack ?? error.message : String(error)
        })
    )
  )
})

// an orphan (the parent died) must not keep running
process.on("disconnect", () => process.exit(0))

send({ type: "ready" })
