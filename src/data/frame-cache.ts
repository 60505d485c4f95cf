// A decoded-frame cache in shared memory: loader workers see each other's letterboxed frames (direct-mapped).

/** What a worker needs to attach to the cache (SharedArrayBuffers pass between threads without copying). */
export interface FrameCacheHandle {
  readonly tags: SharedArrayBuffer;
  readonly data: SharedArrayBuffer;
  readonly frameBytes: number;
}

/**
 * Fixed-size frames keyed by an integer id, slot = id mod slots. A writer marks its slot busy (-1), copies,
 * then publishes the id; a reader copies and re-checks the id, so a torn read is never returned. Frames are
 * deterministic per id, so a reader racing a rewrite of the same id still gets the right bytes.
 */
export class FrameCache {
  private readonly tags: BigInt64Array;
  private readonly data: Uint8Array;
  readonly slots: number;

  private constructor(readonly handle: FrameCacheHandle) {
    this.tags = new BigInt64Array(handle.tags);
    this.data = new Uint8Array(handle.data);
    this.slots = this.tags.length;
  }

  /** A cache of about `bytes` for frames of `frameBytes` each (0 bytes: a cache that never holds anything). */
  static create(bytes: number, frameBytes: number): FrameCache {
    const slots = Math.max(0, Math.floor(bytes / frameBytes));
    const tags = new SharedArrayBuffer(8 * slots);
    new BigInt64Array(tags).fill(-1n);
    return new FrameCache({ tags, data: new SharedArrayBuffer(slots * frameBytes), frameBytes });
  }

  static attach(handle: FrameCacheHandle): FrameCache {
    return new FrameCache(handle);
  }

  /** Copies frame `id` into `out` at `offset`; false on a miss. */
  read(id: number, out: Uint8Array, offset: number): boolean {
    if (this.slots === 0) return false;
    const slot = id % this.slots;
    const tag = BigInt(id);
    if (Atomics.load(this.tags, slot) !== tag) return false;
    const fb = this.handle.frameBytes;
    out.set(this.data.subarray(slot * fb, (slot + 1) * fb), offset);
    if (Atomics.load(this.tags, slot) !== tag) return false;
    return true;
  }

  /** Stores frame `id` (frameBytes long), evicting whatever shared its slot. */
  write(id: number, frame: Uint8Array): void {
    if (this.slots === 0) return;
    const slot = id % this.slots;
    const fb = this.handle.frameBytes;
    Atomics.store(this.tags, slot, -1n);
    this.data.set(frame.subarray(0, fb), slot * fb);
    Atomics.store(this.tags, slot, BigInt(id));
  }
}
