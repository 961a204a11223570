// Before anything starts: every NF's module loaded once, and each NF's config
// checked on a trial instance, so that a bad module or config stops the run
// before EAL takes the hugepages and the cores.
import { runTrial } from '../nf/trial.js';
import { loadNfModule, loadVmNfModule, type NfModule } from '../nf/module.js';
import { guestPrerequisites } from '../vm/qemu.js';
import { isJsNfPath, preloadJsNf } from '../nf/js-nf.js';
import { ConfigError, nfConfigText, type DataPlaneConfig, type NfConfig } from '../config/config.js';

/** Loads every module once and checks each NF's config on a trial instance. */
export async function loadModules(cfg: DataPlaneConfig): Promise<Map<string, NfModule>> {
  const byPath = new Map<string, NfModule>();
  const problems: string[] = [];
  const loadOrReport = (nf: NfConfig, load: () => NfModule): boolean => {
    try {
      if (!byPath.has(nf.module)) byPath.set(nf.module, load());
      return true;
    } catch (err) {
      problems.push(`nfs.${nf.name}.module: ${(err as Error).message}`);
      return false;
    }
  };
  const guestsMissing = cfg.nfs.some((nf) => nf.trust === 'vm') ? guestPrerequisites() : undefined;
  for (const nf of cfg.nfs) {
    if (nf.trust === 'vm') {
      // Its config is checked by its guest, which refuses it when it boots.
      if (guestsMissing !== undefined) problems.push(`nfs.${nf.name}.trust: vm, but ${guestsMissing}`);
      else loadOrReport(nf, () => loadVmNfModule(nf.module));
      continue;
    }
    try {
      if (isJsNfPath(nf.module)) await preloadJsNf(nf.module);
    } catch (err) {
      problems.push(`nfs.${nf.name}.module: ${(err as Error).message}`);
      continue;
    }
    if (!loadOrReport(nf, () => loadNfModule(nf.module))) continue;
    const config = nfConfigText(nf);
    // The chain it stands in, so that netvm_nf_index answers as it will on the data plane.
    const chain = cfg.chains.find((c) => c.through.includes(nf.name));
    const place = chain ? { names: chain.through, position: chain.through.indexOf(nf.name) } : undefined;
    try {
      runTrial(byPath.get(nf.module)!, nf.name, { config, place, heapMb: nf.limits.heapMb });
    } catch (err) {
      problems.push(`nfs.${nf.name}.${config === undefined ? 'module' : 'config'}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError('modules', problems);
  return byPath;
}
