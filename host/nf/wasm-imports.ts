// Reads the limits of a module's imported memory from its import section: the
// JS API names imports but does not give their limits, and the host must size
// the memory it creates for a module before instantiating it.

export interface MemoryLimits {
  minPages: number;
  maxPages: number | undefined;
  shared: boolean;
}

class Reader {
  pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  byte(): number {
    if (this.pos >= this.bytes.length) throw new Error('unexpected end of module');
    return this.bytes[this.pos++]!;
  }

  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
    }
    throw new Error('bad LEB128 number');
  }

  skip(n: number): void {
    this.pos += n;
  }

  name(): string {
    const len = this.u32();
    const s = new TextDecoder().decode(this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }
}

function skipLimits(r: Reader): void {
  const flags = r.byte();
  r.u32();
  if (flags & 1) r.u32();
}

/** The limits of the memory a module imports as module.name, or undefined. */
export function importedMemoryLimits(bytes: Uint8Array, module: string, name: string): MemoryLimits | undefined {
  const r = new Reader(bytes);
  r.skip(8); // magic and version, checked by WebAssembly.Module already
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    if (id !== 2) {
      r.skip(size);
      continue;
    }
    for (let count = r.u32(); count > 0; count--) {
      const mod = r.name();
      const field = r.name();
      const kind = r.byte();
      if (kind === 0) r.u32(); // function: type index
      else if (kind === 1) { r.byte(); skipLimits(r); } // table: elem type, limits
      else if (kind === 3) r.skip(2); // global: type, mutability
      else if (kind === 2) {
        const flags = r.byte();
        const minPages = r.u32();
        const maxPages = flags & 1 ? r.u32() : undefined;
        if (mod === module && field === name) return { minPages, maxPages, shared: (flags & 2) !== 0 };
      } else throw new Error(`unknown import kind ${kind}`);
    }
    return undefined;
  }
  return undefined;
}
