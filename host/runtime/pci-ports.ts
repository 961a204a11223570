// PCI ports, checked before EAL starts. DPDK drives a NIC only once the kernel
// has handed it to vfio-pci or uio_pci_generic, and which one decides how the
// NIC's DMA reaches the pool (docs/deploy.md, "PCI NICs"): behind an IOMMU
// (vfio-pci) by virtual addresses, which netvm maps for the device; without
// one (uio, or vfio's no-IOMMU mode) by physical addresses, which only the
// pool's 2 MiB pages have. EAL would find the same later, as a probe failure.
import { existsSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PCI_ADDRESS } from '../config/eal-args.js';

const DEVICES = '/sys/bus/pci/devices';
const UIO_DRIVERS = new Set(['uio_pci_generic', 'igb_uio']);
const BIND = 'bind it to vfio-pci (or uio_pci_generic) for DPDK to drive it (docs/deploy.md, "PCI NICs")';

/** Why the port of these devargs cannot run, if it is a PCI device that cannot. */
export function pciPortProblem(devargs: string, hugepages: boolean): string | undefined {
  const match = PCI_ADDRESS.exec(devargs);
  if (match === null) return undefined;
  const address = match[1] === undefined ? `0000:${match[0]}` : match[0];
  const device = join(DEVICES, address.toLowerCase());
  if (!existsSync(device)) return `no PCI device at ${address}`;
  const driver = linkName(join(device, 'driver'));
  if (driver === undefined) return `${address} has no driver: ${BIND}`;
  if (driver !== 'vfio-pci' && !UIO_DRIVERS.has(driver)) {
    return `${address} is bound to the kernel's ${driver} driver: ${BIND}, or reach it through its kernel interface (net_af_xdp, net_af_packet)`;
  }
  const noIommu = UIO_DRIVERS.has(driver) || existsSync(`/dev/vfio/noiommu-${linkName(join(device, 'iommu_group'))}`);
  if (noIommu && !hugepages) {
    return `${address} is bound to ${driver}${driver === 'vfio-pci' ? ' in no-IOMMU mode' : ''}, so its DMA needs the pool's physical addresses, ` +
      'which only 2 MiB hugepages have, and this run has none: reserve hugepages (pool.hugepages), or bind it to vfio-pci with the IOMMU on';
  }
  return undefined;
}

function linkName(path: string): string | undefined {
  try {
    return basename(readlinkSync(path));
  } catch {
    return undefined;
  }
}
