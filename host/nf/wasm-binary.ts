// Reads from a module's binary what the JS API does not give: the limits of its
// imported memory (the host sizes the memory before instantiating the module)
// and the types of the functions it imports and exports (a JS function takes
// any arguments, so a mistyped import or export would fail only when called).

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

function readLimits(r: Reader): { min: number; max: number | undefined; flags: number } {
  const flags = r.byte();
  const min = r.u32();
  return { min, max: flags & 1 ? r.u32() : undefined, flags };
}

const VALUE_TYPES: Record<number, string> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };

function valueTypes(r: Reader): string[] {
  const types: string[] = [];
  for (let n = r.u32(); n > 0; n--) {
    const t = r.byte();
    types.push(VALUE_TYPES[t] ?? `type 0x${t.toString(16)}`);
  }
  return types;
}

interface Import {
  /** module.name */
  name: string;
  /** A function's type, written as "(i32, i32) -> (i32)". */
  type?: string;
  memory?: MemoryLimits;
}

/** What the host reads of a module: its imports, and the types of its exported functions. */
interface ModuleShape {
  imports: Import[];
  exportTypes: Map<string, string>;
}

/** Walks the type, import, function and export sections (the module compiled: they are well formed). */
function readShape(bytes: Uint8Array): ModuleShape {
  const r = new Reader(bytes);
  r.skip(8); // magic and version
  const types: string[] = [];
  const functions: string[] = []; // types by function index: imported ones first
  const shape: ModuleShape = { imports: [], exportTypes: new Map() };
  while (r.pos < bytes.length) {
    const id = r.byte();
    const end = r.u32() + r.pos;
    if (id === 1) {
      for (let count = r.u32(); count > 0; count--) {
        if (r.byte() !== 0x60) throw new Error('a type that is not a function type');
        types.push(`(${valueTypes(r).join(', ')}) -> (${valueTypes(r).join(', ')})`);
      }
    } else if (id === 2) {
      for (let count = r.u32(); count > 0; count--) {
        const name = `${r.name()}.${r.name()}`;
        const kind = r.byte();
        if (kind === 0) {
          const type = types[r.u32()]!;
          functions.push(type);
          shape.imports.push({ name, type });
        } else if (kind === 1) {
          r.byte(); // table: element type, limits
          readLimits(r);
          shape.imports.push({ name });
        } else if (kind === 2) {
          const { min, max, flags } = readLimits(r);
          shape.imports.push({ name, memory: { minPages: min, maxPages: max, shared: (flags & 2) !== 0 } });
        } else if (kind === 3) {
          r.skip(2); // global: type, mutability
          shape.imports.push({ name });
        } else throw new Error(`unknown import kind ${kind}`);
      }
    } else if (id === 3) {
      for (let count = r.u32(); count > 0; count--) functions.push(types[r.u32()]!);
    } else if (id === 7) {
      for (let count = r.u32(); count > 0; count--) {
        const name = r.name();
        const kind = r.byte();
        const index = r.u32();
        if (kind === 0) shape.exportTypes.set(name, functions[index]!);
      }
    }
    r.pos = end;
  }
  return shape;
}

/** The limits of the memory a module imports as module.name, or undefined. */
export function importedMemoryLimits(bytes: Uint8Array, module: string, name: string): MemoryLimits | undefined {
  return readShape(bytes).imports.find((i) => i.name === `${module}.${name}`)?.memory;
}

/** Function types, written as "(i32, i32) -> (i32)": those a module imports (by module.name) and exports (by name). */
export interface FunctionSignatures {
  imports: Map<string, string>;
  exports: Map<string, string>;
}

/** The types of the functions a module imports and exports. */
export function functionSignatures(bytes: Uint8Array): FunctionSignatures {
  const shape = readShape(bytes);
  return { imports: new Map(shape.imports.flatMap((i) => (i.type === undefined ? [] : [[i.name, i.type]]))), exports: shape.exportTypes };
}
