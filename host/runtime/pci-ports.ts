// PCI ports, checked before EAL starts. DPDK drives a NIC only once the kernel
// has handed it to vfio-pci or uio_pci_generic, and which one decides how the
// NIC's DMA reaches the pool (docs/deploy.md, "PCI NICs"): behind an IOMMU
// (vfio-pci) by virtual addresses, which netvm maps for the device; without
// one (uio, or vfio's no-IOMMU mode) by physical addresses, which only the
// pool's 2 MiB pages have. EAL would find the same later, as a probe failure.
// `root` is where /sys and /dev are (a test's fake tree).
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PCI_ADDRESS } from '../config/eal-args.js';

const UIO_DRIVERS = new Set(['uio_pci_generic', 'igb_uio']);
const BIND = 'bind it to vfio-pci (or uio_pci_generic) for DPDK to drive it (docs/deploy.md, "PCI NICs")';

/** The PCI address (with its domain) that the devargs name, if they name one. */
function pciAddress(devargs: string): string | undefined {
  const match = PCI_ADDRESS.exec(devargs);
  if (match === null) return undefined;
  return (match[1] === undefined ? `0000:${match[0]}` : match[0]).toLowerCase();
}

/** Why the port of these devargs cannot run, if it is a PCI device that cannot. */
export function pciPortProblem(devargs: string, hugepages: boolean, root = '/'): string | undefined {
  const address = pciAddress(devargs);
  if (address === undefined) return undefined;
  const device = join(root, 'sys/bus/pci/devices', address);
  if (!existsSync(device)) return `no PCI device at ${address}`;
  const driver = linkName(join(device, 'driver'));
  if (driver === undefined) return `${address} has no driver: ${BIND}`;
  if (driver !== 'vfio-pci' && !UIO_DRIVERS.has(driver)) {
    return `${address} is bound to the kernel's ${driver} driver: ${BIND}, or reach it through its kernel interface (net_af_xdp, net_af_packet)`;
  }
  const noIommu = UIO_DRIVERS.has(driver) || existsSync(join(root, `dev/vfio/noiommu-${linkName(join(device, 'iommu_group'))}`));
  if (noIommu && !hugepages) {
    return `${address} is bound to ${driver}${driver === 'vfio-pci' ? ' in no-IOMMU mode' : ''}, so its DMA needs the pool's physical addresses, ` +
      'which only 2 MiB hugepages have, and this run has none: reserve hugepages (pool.hugepages), or bind it to vfio-pci with the IOMMU on';
  }
  return undefined;
}

/** A warning when the port's NIC sits on another NUMA node than some of the CPUs that handle its
 *  packets (the poll core and the workers): each packet would then cross between nodes. */
export function pciPortNumaWarning(port: { name: string; devargs: string }, cpus: number[], root = '/'): string | undefined {
  const address = pciAddress(port.devargs);
  if (address === undefined) return undefined;
  const node = Number(readOr(join(root, 'sys/bus/pci/devices', address, 'numa_node'), '-1'));
  if (!(node >= 0)) return undefined; // a machine of one node says -1
  const away = cpus.filter((cpu) => {
    const other = cpuNode(cpu, root);
    return other !== undefined && other !== node;
  });
  if (away.length === 0) return undefined;
  return `WARNING: ports.${port.name}: its NIC (${address}) is on NUMA node ${node}, and ${away.length > 1 ? 'CPUs' : 'CPU'} ${away.join(', ')} of cores on another: ` +
    'each packet crosses between nodes; give the poll core and the workers CPUs of the NIC\'s node (docs/deploy.md, "NUMA")';
}

function cpuNode(cpu: number, root: string): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync(join(root, `sys/devices/system/cpu/cpu${cpu}`));
  } catch {
    return undefined;
  }
  const node = entries.find((e) => /^node\d+$/.test(e));
  return node === undefined ? undefined : Number(node.slice(4));
}

function linkName(path: string): string | undefined {
  try {
    return basename(readlinkSync(path));
  } catch {
    return undefined;
  }
}

function readOr(path: string, otherwise: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return otherwise;
  }
}
