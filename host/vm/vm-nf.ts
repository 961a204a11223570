// A vm NF as its chain sees it: an isolated NF whose memory is the region its
// guest shares (native-dpdk/netvm_vm.h). The C chain stages each burst into the
// region (records, and copies of the packets); netvm_process hands the burst to
// the guest and waits for its verdicts (native-dpdk/vm.c), and answers VM_DOWN
// instead when the guest is not there to take it: the chain's fail policy then
// applies to the burst.
import koffi from 'koffi';
import { RECORD_BYTES_V1, type NfExports } from '../nf/abi.js';
import { HostImports } from '../nf/host-imports.js';
import type { NfInstance, VmLink } from '../nf/instance-types.js';
import type { VmNfModule } from '../nf/module-types.js';
import { native } from '../dataplane/native.js';

/** The region's layout (netvm_vm.h). */
export const VM_REGION_BYTES = 2 << 20;
const VM_RECORDS_OFF = 0x10000;
const VM_AREA_OFF = 0x100000;
const VM_MAX_BURST = 256;

/** What nv_vm_run answers when the guest did not take the burst (enum nv_vm_run_status; 0: it ran). */
export const VM_DOWN = 1;

/** How a worker reaches a vm NF's guest: the region's address in this process
 *  (mapped by the main thread, host/vm/guest.ts), and how long a burst may take. */
export function vmInstance(nf: VmNfModule, name: string, link: VmLink): NfInstance {
  const lib = native();
  const { region, timeoutNs } = link;
  const exports: NfExports = {
    netvm_abi_version: () => 1,
    netvm_batch: () => VM_RECORDS_OFF,
    netvm_max_burst: () => VM_MAX_BURST,
    netvm_process: (n: number) => lib.vmRun(region, n, timeoutNs),
  };
  return {
    name, path: nf.path, memory: { buffer: koffi.view(region, VM_REGION_BYTES) }, exports, windowOffset: VM_AREA_OFF,
    batchAddr: VM_RECORDS_OFF, recordBytes: RECORD_BYTES_V1, readsMeta: false, maxBurst: VM_MAX_BURST, host: new HostImports(name), metricsAddr: 0, clockAddr: 0, isolated: true, vm: link,
  };
}
