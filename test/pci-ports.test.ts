// What netvm checks of a PCI port before EAL starts (host/runtime/pci-ports.ts),
// on a fake /sys and /dev: each way a NIC cannot run names its address and what
// to do, and a NIC on another NUMA node than the cores that handle it is
// warned about. test/pci-nic.test.ts runs the real thing in a guest.
import t from 'tap';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pciPortNumaWarning, pciPortProblem } from '../host/runtime/pci-ports.js';
import { tempDir } from './support/netvm.js';

/** A machine with one NIC at 0000:03:00.0, bound to driver (none if undefined), in IOMMU group
 *  7 (a no-IOMMU group if noIommu), on NUMA node 1; CPUs 0-1 on node 0, 2-3 on node 1. */
function machine(driver: string | undefined, noIommu = false): string {
  const root = tempDir();
  const device = join(root, 'sys/bus/pci/devices/0000:03:00.0');
  mkdirSync(device, { recursive: true });
  if (driver !== undefined) symlinkSync(`../../../bus/pci/drivers/${driver}`, join(device, 'driver'));
  symlinkSync('../../../kernel/iommu_groups/7', join(device, 'iommu_group'));
  writeFileSync(join(device, 'numa_node'), '1\n');
  mkdirSync(join(root, 'dev/vfio'), { recursive: true });
  writeFileSync(join(root, 'dev/vfio', noIommu ? 'noiommu-7' : '7'), '');
  for (const cpu of [0, 1, 2, 3]) mkdirSync(join(root, `sys/devices/system/cpu/cpu${cpu}/node${cpu < 2 ? 0 : 1}`), { recursive: true });
  return root;
}

t.test('a virtual device is none of its business', async (t) => {
  t.equal(pciPortProblem('net_null0', false, machine(undefined)), undefined);
  t.equal(pciPortNumaWarning({ name: 'in', devargs: 'net_null0' }, [0], machine(undefined)), undefined);
});

t.test('a PCI NIC that DPDK cannot drive is refused, with what to do', async (t) => {
  t.equal(pciPortProblem('0000:04:00.0', true, machine('vfio-pci')), 'no PCI device at 0000:04:00.0');
  t.match(pciPortProblem('03:00.0', true, machine(undefined)), /^0000:03:00\.0 has no driver: bind it to vfio-pci \(or uio_pci_generic\)/);
  t.match(pciPortProblem('0000:03:00.0,rxq_size=512', true, machine('ixgbe')),
    /^0000:03:00\.0 is bound to the kernel's ixgbe driver: bind it to vfio-pci .* or reach it through its kernel interface \(net_af_xdp, net_af_packet\)$/);
});

t.test('behind an IOMMU a NIC runs with or without hugepages; without one it needs them', async (t) => {
  t.equal(pciPortProblem('0000:03:00.0', false, machine('vfio-pci')), undefined, 'vfio-pci, IOMMU: 4 KiB pages will do');
  t.equal(pciPortProblem('0000:03:00.0', true, machine('uio_pci_generic')), undefined, 'uio on hugepages');
  t.match(pciPortProblem('0000:03:00.0', false, machine('uio_pci_generic')),
    /^0000:03:00\.0 is bound to uio_pci_generic, so its DMA needs the pool's physical addresses, which only 2 MiB hugepages have, and this run has none/);
  t.match(pciPortProblem('0000:03:00.0', false, machine('vfio-pci', true)), /^0000:03:00\.0 is bound to vfio-pci in no-IOMMU mode, so its DMA needs/);
  t.equal(pciPortProblem('0000:03:00.0', true, machine('vfio-pci', true)), undefined, 'vfio no-IOMMU on hugepages');
});

t.test('cores on another NUMA node than the NIC are warned about, by CPU', async (t) => {
  const root = machine('vfio-pci');
  const port = { name: 'wan', devargs: '0000:03:00.0' };
  t.equal(pciPortNumaWarning(port, [2, 3], root), undefined, 'all on the NIC\'s node');
  t.match(pciPortNumaWarning(port, [2, 0, 1], root), /^WARNING: ports\.wan: its NIC \(0000:03:00\.0\) is on NUMA node 1, and CPUs 0, 1 of cores on another/);
  writeFileSync(join(root, 'sys/bus/pci/devices/0000:03:00.0/numa_node'), '-1\n');
  t.equal(pciPortNumaWarning(port, [0], root), undefined, 'a machine of one node says -1: nothing to warn about');
});
