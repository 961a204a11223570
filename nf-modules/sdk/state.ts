// State handover (hot-swap): an NF that keeps state across packets (flows,
// mappings) may export it from the old instance and import it into the new
// one. Both halves are optional exports of the NF:
//   netvm_state_export(): usize   the address of [u32 length][length bytes],
//                                 or 0 when it has nothing to give
//   netvm_state_import(ptr: usize, len: i32): i32   0 accepted; else refused
//                                 (log why); the bytes are at netvm_state_buffer(len)
// The host calls them between bursts, after the new instance's configure; it
// hands the old instance's bytes over as they are. The bytes are the NF's own
// format: StateWriter starts them with a header (a magic, the NF's kind and a
// format version) that StateReader.expect checks, so a module never takes
// another kind's state, or a format it does not know, for its own.
// Header: u32 'NVST', u16 kind length, kind (UTF-8), u32 version. Numbers are
// little-endian.

import { LogLevel, log } from './host';

const MAGIC: u32 = 0x5453564e; // "NVST"

// The last export's area, reused by the next export when it fits.
let exportArea: usize = 0;
let exportCapacity: usize = 0;

/** Writes a state blob of a known size: header, then the NF's records. Size
 *  it with payloadBytes (the records' bytes); writing past it fails the
 *  export (finish returns 0) rather than writing out of bounds. */
@final export class StateWriter {
  private at: usize;
  private end: usize;
  private overflow: bool = false;

  constructor(kind: string, version: u32, payloadBytes: usize) {
    const name = String.UTF8.encode(kind);
    const need: usize = <usize>14 + <usize>name.byteLength + payloadBytes;
    if (need > exportCapacity) {
      exportArea = heap.alloc(need);
      exportCapacity = need;
    }
    this.at = exportArea + 4;
    this.end = exportArea + need;
    this.u32(MAGIC);
    this.u16(<u16>name.byteLength);
    this.bytes(changetype<usize>(name), <usize>name.byteLength);
    this.u32(version);
  }

  @inline private room(n: usize): bool {
    if (this.at + n > this.end) {
      this.overflow = true;
      return false;
    }
    return true;
  }

  u8(v: u8): void {
    if (this.room(1)) { store<u8>(this.at, v); this.at += 1; }
  }

  u16(v: u16): void {
    if (this.room(2)) { store<u16>(this.at, v); this.at += 2; }
  }

  u32(v: u32): void {
    if (this.room(4)) { store<u32>(this.at, v); this.at += 4; }
  }

  u64(v: u64): void {
    if (this.room(8)) { store<u64>(this.at, v); this.at += 8; }
  }

  bytes(src: usize, n: usize): void {
    if (this.room(n)) { memory.copy(this.at, src, n); this.at += n; }
  }

  /** What netvm_state_export returns: the blob's address (its length first),
   *  or 0 when a write did not fit. */
  finish(): usize {
    if (this.overflow) return 0;
    store<u32>(exportArea, <u32>(this.at - exportArea - 4));
    return exportArea;
  }
}

/** Reads a state blob: expect() its header, then the records. A read past
 *  the end returns 0 and makes ok() false; nothing is read out of bounds. */
@final export class StateReader {
  private at: usize;
  private end: usize;
  private short: bool = false;
  /** Why expect() refused the blob. */
  error: string = '';
  /** The blob's format version, once expect() took it. */
  version: u32 = 0;

  constructor(ptr: usize, len: i32) {
    this.at = ptr;
    this.end = ptr + <usize>max(len, 0);
  }

  /** Whether the blob is state of this kind, in this format version (or one from oldest up to it). */
  expect(kind: string, version: u32, oldest: u32 = version): bool {
    if (this.u32() != MAGIC) {
      this.error = 'not NetVM NF state (bad magic)';
      return false;
    }
    const n = <usize>this.u16();
    if (!this.ok() || this.remaining() < n) {
      this.error = 'state header cut short';
      return false;
    }
    const theirs = String.UTF8.decodeUnsafe(this.at, n);
    this.at += n;
    const theirVersion = this.u32();
    if (!this.ok()) {
      this.error = 'state header cut short';
      return false;
    }
    if (theirs != kind) {
      this.error = `state of a '${theirs}' NF, not '${kind}'`;
      return false;
    }
    if (theirVersion < oldest || theirVersion > version) {
      const formats = oldest == version ? `format ${version}` : `formats ${oldest} to ${version}`;
      this.error = `'${kind}' state format ${theirVersion}; this module reads ${formats}`;
      return false;
    }
    this.version = theirVersion;
    return true;
  }

  /** A u32 count of records of recordBytes each, which must fill the rest of
   *  the blob; -1 (and the reason logged) when they do not. */
  records(what: string, recordBytes: usize): i64 {
    return this.count(what, recordBytes, true);
  }

  /** A u32 count of records of recordBytes each that the rest of the blob has
   *  room for (a section that more follow); -1 (and the reason logged) when not. */
  section(what: string, recordBytes: usize): i64 {
    return this.count(what, recordBytes, false);
  }

  private count(what: string, recordBytes: usize, exact: bool): i64 {
    const n = this.u32();
    const need = <usize>n * recordBytes;
    const rest = this.remaining();
    if (!this.ok() || (exact ? rest != need : rest < need)) {
      log(LogLevel.ERROR, `state of ${n} ${what} should be ${need} bytes, not ${rest}`);
      return -1;
    }
    return <i64>n;
  }

  /** Bytes not read yet. */
  remaining(): usize {
    return this.end - this.at;
  }

  /** False once a read went past the end. */
  ok(): bool {
    return !this.short;
  }

  @inline private take(n: usize): usize {
    if (this.end - this.at < n) {
      this.short = true;
      return 0;
    }
    const a = this.at;
    this.at += n;
    return a;
  }

  u8(): u8 {
    const a = this.take(1);
    return a == 0 ? 0 : load<u8>(a);
  }

  u16(): u16 {
    const a = this.take(2);
    return a == 0 ? 0 : load<u16>(a);
  }

  u32(): u32 {
    const a = this.take(4);
    return a == 0 ? 0 : load<u32>(a);
  }

  u64(): u64 {
    const a = this.take(8);
    return a == 0 ? 0 : load<u64>(a);
  }

  /** Copies n bytes to dst (zeros when the blob is short). */
  bytes(dst: usize, n: usize): void {
    const a = this.take(n);
    if (a == 0) memory.fill(dst, 0, n);
    else memory.copy(dst, a, n);
  }
}

/** A reader over the state blob at ptr if it is state of this kind and
 *  version (or one from oldest up to it: its version() says which); null
 *  (and the reason logged) if not. */
export function openState(ptr: usize, len: i32, kind: string, version: u32, oldest: u32 = version): StateReader | null {
  const r = new StateReader(ptr, len);
  if (!r.expect(kind, version, oldest)) {
    log(LogLevel.ERROR, r.error);
    return null;
  }
  return r;
}

/** Where the host writes the state bytes before calling netvm_state_import. */
export function netvm_state_buffer(len: i32): usize {
  return heap.alloc(<usize>max(len, 1));
}
