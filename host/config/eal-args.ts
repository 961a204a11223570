// EAL arguments. netvm writes the ones that follow from the config (cores,
// hugepages, ports, file prefix); a config may add others from `eal:`, which
// are checked here first, because EAL exits the process on --help and on some
// usage errors, and rte_eal_init cannot be retried in a process.
import { availableParallelism } from 'node:os';
import type { DataPlaneConfig } from './config-types.js';

/** The EAL lcore that runs the poll loop (lcore 0 is Node's main thread). */
export const POLL_LCORE = 1;

const LOG_LEVEL = /^([A-Za-z0-9_.*]+:)?(emerg|alert|crit|critical|err|error|warning|notice|info|debug|[1-8])$/;
const NUMBER_LIST = /^\d+(,\d+)*$/;
const DEVICE = /^[\w:.,=-]+$/;
const PATH = /^\S+$/;

/** Options a config may pass, with the form of their value. */
const VALUE_OPTIONS: Readonly<Record<string, RegExp>> = {
  '--log-level': LOG_LEVEL,
  '--socket-mem': NUMBER_LIST,
  '--socket-limit': NUMBER_LIST,
  '--iova-mode': /^(va|pa)$/,
  '--allow': DEVICE,
  '-a': DEVICE,
  '--block': DEVICE,
  '-b': DEVICE,
  '-d': PATH,
  '-m': /^\d+$/,
  '-n': /^\d+$/,
  '--huge-dir': PATH,
  '--force-max-simd-bitwidth': /^\d+$/,
};
const FLAG_OPTIONS = ['--no-hpet', '--vmware-tsc-map', '--match-allocations'];

/** Options netvm sets itself, and where to say what you want instead. */
const OWNED: Readonly<Record<string, string>> = {
  '-l': 'cores', '-c': 'cores', '--lcores': 'cores', '--main-lcore': 'cores', '-s': 'cores', '-S': 'cores',
  '--file-prefix': 'the --file-prefix option of netvm run',
  '--in-memory': 'pool.hugepages', '--no-huge': 'pool.hugepages', '--no-shconf': 'pool.hugepages',
  '--legacy-mem': 'pool.hugepages', '--single-file-segments': 'pool.hugepages', '--huge-unlink': 'pool.hugepages',
  '--vdev': 'ports', '--no-pci': 'ports', '--proc-type': 'netvm (it is always the primary process)',
  '--telemetry': 'netvm', '--no-telemetry': 'netvm',
  '-h': 'nothing: it exits the process', '--help': 'nothing: it exits the process', '-v': 'nothing',
};

/** Problems with the extra EAL arguments of a config, as [index, problem]. */
export function checkExtraEalArgs(args: readonly string[]): [number, string][] {
  const problems: [number, string][] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (name in OWNED) {
      problems.push([i, `'${name}' is set by netvm from ${OWNED[name]}`]);
    } else if (FLAG_OPTIONS.includes(arg)) {
      continue;
    } else if (name in VALUE_OPTIONS) {
      const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined) problems.push([i - 1, `'${name}' needs a value`]);
      else if (!VALUE_OPTIONS[name]!.test(value)) problems.push([eq > 0 ? i : i - 1, `'${value}' is not a valid value for ${name}`]);
    } else {
      const known = [...Object.keys(VALUE_OPTIONS), ...FLAG_OPTIONS].join(' ');
      problems.push([i, `unknown or unsupported EAL option '${arg}' (supported: ${known})`]);
    }
  }
  return problems;
}

/** A port's devargs that name a PCI device (domain:bus:device.function, the domain optional). */
export const PCI_ADDRESS = /^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]/;

/** The whole EAL command line for a config. */
export function buildEalArgs(cfg: DataPlaneConfig, filePrefix: string, hugepages: boolean): string[] {
  // Node's main thread (lcore 0) may run on every CPU but the poll core.
  const others = Array.from({ length: availableParallelism() }, (_, cpu) => cpu).filter((cpu) => cpu !== cfg.cores.poll);
  const pci = cfg.ports.filter((p) => PCI_ADDRESS.test(p.devargs));
  return [
    'netvm',
    `--lcores=0@(${others.join(',')}),${POLL_LCORE}@${cfg.cores.poll}`,
    `--file-prefix=${filePrefix}`,
    '--no-telemetry',
    '--log-level=lib.eal:error',
    '--log-level=lib.vhost.config:warning', // a vm guest's vhost-user handshake: dozens of lines each
    ...(hugepages ? ['--in-memory'] : ['--no-huge', '--no-shconf']),
    // Only the config's PCI devices: EAL would otherwise take every one bound to uio or vfio.
    ...(pci.length > 0 ? pci.map((p) => `--allow=${p.devargs}`) : ['--no-pci']),
    ...cfg.eal,
  ];
}
