/**
 * @scriptorium/core: the engine. Services (JobStore, BlobStore), the job state machine, the Worker and the
 * Scriptorium facade; no storage or transport is chosen here.
 */
export * from "./Admission.js"
export * from "./BlobStore.js"
export * as JobLifecycle from "./JobLifecycle.js"
export type { JobRecord, RetryPolicy } from "./JobLifecycle.js"
export { defaultRetryPolicy, retryDelay } from "./JobLifecycle.js"
export * from "./JobStore.js"
export * from "./JobHandler.js"
export * as Worker from "./Worker.js"
export type { WorkerConfig, WorkerHandle } from "./Worker.js"
export * as JobFiles from "./JobFiles.js"
export * as Scriptorium from "./Scriptorium.js"
export type { ResultError, ScriptoriumPromise, SubmitInput, WaitOptions } from "./Scriptorium.js"
export * as DocumentHandler from "./DocumentHandler.js"
export * as PdfEngine from "./engine/PdfEngine.js"
export * as PdfAdmission from "./engine/PdfAdmission.js"
export * as TextLayout from "./engine/TextLayout.js"
export * as OcrEngine from "./engine/OcrEngine.js"
export * as PageRouting from "./engine/PageRouting.js"
export * as ImageInput from "./engine/ImageInput.js"
