// A vm NF as its chain sees it: an isolated NF whose memory is the region its
// guest shares (native-dpdk/netvm_vm.h). The C chain stages each burst into the
// region (records, and copies of the packets); netvm_process hands the burst to
// the guest and waits for its verdicts (native-dpdk/vm.c), and answers VM_DOWN
// instead when the guest is not there to take it: the chain's fail policy then
// applies to the burst. A message to the NF takes a round trip of its own.
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
/** The header's takes_messages and answer_len words, and where the answer is. */
const VM_TAKES_MESSAGES = 20;
const VM_ANSWER_LEN = 32;
const VM_ANSWER_OFF = VM_AREA_OFF + VM_MAX_BURST * 2176 + 2048;

/** What nv_vm_run answers when the guest did not take the burst (enum nv_vm_run_status; 0: it ran). */
export const VM_DOWN = 1;

/** How a worker reaches a vm NF's guest: the region's address in this process
 *  (mapped by the main thread, host/vm/guest.ts), and how long a burst may take. */
export function vmInstance(nf: VmNfModule, name: string, link: VmLink): NfInstance {
  const lib = native();
  const { region, timeoutNs } = link;
  const buffer = koffi.view(region, VM_REGION_BYTES);
  const header = new DataView(buffer);
  const host = new HostImports(name);
  // A message is copied where an isolated NF's goes (host/chain/mailroom.ts), which is the
  // region's NV_VM_MESSAGE_OFF; the guest's answer comes back at NV_VM_ANSWER_OFF.
  const message = (_ptr: number, len: number, from: number): void => {
    if (lib.vmMessage(region, len, from, timeoutNs) !== 0) return; // the guest was not there: the message is lost
    const n = Math.min(header.getUint32(VM_ANSWER_LEN, true), 4096);
    if (n > 0) host.answer = Buffer.from(buffer, VM_ANSWER_OFF, n).toString('utf8');
  };
  const exports: NfExports = {
    netvm_abi_version: () => 1,
    netvm_batch: () => VM_RECORDS_OFF,
    netvm_max_burst: () => VM_MAX_BURST,
    netvm_process: (n: number) => lib.vmRun(region, n, timeoutNs),
  };
  // netvm_message is there while the guest's NF takes messages (its agent says so at boot).
  Object.defineProperty(exports, 'netvm_message', { get: () => (header.getUint32(VM_TAKES_MESSAGES, true) === 1 ? message : undefined) });
  return {
    name, path: nf.path, memory: { buffer }, exports, windowOffset: VM_AREA_OFF,
    batchAddr: VM_RECORDS_OFF, recordBytes: RECORD_BYTES_V1, readsMeta: false, maxBurst: VM_MAX_BURST, host, metricsAddr: 0, clockAddr: 0, isolated: true, vm: link,
  };
}
