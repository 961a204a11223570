// Loading an NF module: read, compile, and check it against the host ABI before
// any data plane exists, so that a bad module is refused with its path and the
// reason, and nothing has started.
import { readFileSync, statSync } from 'node:fs';
import { GRANTED_IMPORTS, MAX_MODULE_BYTES, NF_MEMORY_BASE, OPTIONAL_EXPORTS, REQUIRED_EXPORTS } from './abi.js';
import { compile, moduleExports, moduleImports, type CompiledModule } from './engine.js';
import { runTrial } from './trial.js';
import { JS_NF_PAGES, isJsNfPath, jsNfFactory } from './js-nf.js';
import { NATIVE_NF_PAGES, isNativeNfPath, nativeNfLibrary } from './native-nf.js';
import { functionSignatures, importedMemoryLimits, type FunctionSignatures, type MemoryLimits } from './wasm-binary.js';

export { NfModuleError, type JsNfModule, type NativeNfModule, type NfModule, type VmNfModule, type WasmNfModule } from './module-types.js';
import { NfModuleError, type NfModule, type VmNfModule, type WasmNfModule } from './module-types.js';

/** Checks a vm NF's guest image; its config is checked by the guest when it boots. */
export function loadVmNfModule(path: string): VmNfModule {
  try {
    const bytes = readFileSync(path);
    // An initramfs is a gzip'd (1f 8b) or plain newc ("070701") cpio archive.
    const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b;
    if (!gzip && bytes.subarray(0, 6).toString('latin1') !== '070701') throw new Error('not an initramfs (gzip or newc cpio)');
  } catch (err) {
    throw new NfModuleError(path, `cannot be a vm NF's guest image: ${(err as Error).message} (build one with scripts/build-guest)`);
  }
  return { path, vm: true, memory: { minPages: 0, maxPages: 0, shared: false } };
}

function checkImports(path: string, module: CompiledModule, signatures: FunctionSignatures): void {
  for (const imp of moduleImports(module)) {
    const name = `${imp.module}.${imp.name}`;
    const granted = GRANTED_IMPORTS[name];
    if (granted === undefined) {
      throw new NfModuleError(path, `imports ${name} (${imp.kind}), which the host does not grant (granted: ${Object.keys(GRANTED_IMPORTS).join(', ')})`);
    }
    const given = imp.kind === 'function' ? signatures.imports.get(name)! : imp.kind;
    if (given !== granted) throw new NfModuleError(path, `imports ${name} as ${given}; the host grants ${granted}`);
  }
}

function checkExports(path: string, module: CompiledModule, signatures: FunctionSignatures): void {
  const exports = new Map(moduleExports(module).map((e) => [e.name, e.kind]));
  for (const name of Object.keys(REQUIRED_EXPORTS)) {
    if (exports.get(name) !== 'function') {
      throw new NfModuleError(path, `does not export function ${name} (is it an NF built with nf-modules/sdk?)`);
    }
  }
  for (const [name, type] of Object.entries({ ...REQUIRED_EXPORTS, ...OPTIONAL_EXPORTS })) {
    const kind = exports.get(name);
    if (kind === undefined) continue;
    if (kind !== 'function') throw new NfModuleError(path, `exports ${name} as a ${kind}; the host calls it as a function ${type}`);
    const given = signatures.exports.get(name)!;
    if (given !== type) throw new NfModuleError(path, `${name} has type ${given}, not ${type}`);
  }
}

function checkMemory(path: string, limits: MemoryLimits | undefined): MemoryLimits {
  if (limits === undefined) {
    throw new NfModuleError(path, 'does not import its memory as env.memory (build it with asc --importMemory, see asconfig.json)');
  }
  if (limits.shared) throw new NfModuleError(path, 'imports a shared memory; NF memories are not shared');
  if (limits.minPages * 65536 < NF_MEMORY_BASE) {
    throw new NfModuleError(path, `its data starts below ${NF_MEMORY_BASE} (the pool window's region): build it with asc --memoryBase ${NF_MEMORY_BASE}`);
  }
  return limits;
}

/** Loads and checks an NF module; a JavaScript NF must have been preloaded (preloadJsNf). */
export function loadNfModule(path: string): NfModule {
  if (isJsNfPath(path)) {
    jsNfFactory(path); // imported, with createNf: its config is checked by the trial instance
    return { path, js: true, memory: { minPages: JS_NF_PAGES, maxPages: JS_NF_PAGES, shared: false } };
  }
  if (isNativeNfPath(path)) {
    try {
      nativeNfLibrary(path); // its config is checked by the trial instance
    } catch (err) {
      throw new NfModuleError(path, (err as Error).message);
    }
    return { path, native: true, memory: { minPages: NATIVE_NF_PAGES, maxPages: NATIVE_NF_PAGES, shared: false } };
  }
  let bytes: Uint8Array;
  try {
    const size = statSync(path).size;
    if (size > MAX_MODULE_BYTES) throw new NfModuleError(path, `is ${size} bytes; a module may have at most ${MAX_MODULE_BYTES}`);
    bytes = readFileSync(path);
  } catch (err) {
    if (err instanceof NfModuleError) throw err;
    throw new NfModuleError(path, `cannot read the module: ${(err as Error).message}`);
  }
  let module: CompiledModule;
  try {
    module = compile(bytes);
  } catch (err) {
    throw new NfModuleError(path, `not a valid WebAssembly module: ${(err as Error).message}`);
  }
  const signatures = functionSignatures(bytes);
  checkImports(path, module, signatures);
  checkExports(path, module, signatures);
  const nf: WasmNfModule = { path, module, memory: checkMemory(path, importedMemoryLimits(bytes, 'env', 'memory')) };
  // A trial instance, with no pool window, checks what only running code can tell.
  runTrial(nf, 'check');
  return nf;
}

/** Whether instances of a module take a config (a Wasm module that exports netvm_configure). */
export function takesConfig(module: NfModule): boolean {
  return !module.js && !module.native && !module.vm && moduleExports(module.module).some((e) => e.name === 'netvm_configure');
}
