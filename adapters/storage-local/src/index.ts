/**
 * @scriptorium/storage-local: the BlobStore on a local directory, with atomic writes; the embedded default.
 */

/** `LocalBlobStore.make` and `LocalBlobStore.layer`: a BlobStore on a directory. */
export * as LocalBlobStore from "./LocalBlobStore.js"
