// The QEMU command line of a vm NF's guest: Debian's cloud kernel, the NF's
// initramfs, its link's devices (host/vm/guest.ts), the serial console to a
// file. KVM is tried first; where it cannot run the guest (a nested
// kvm_pvm, say), TCG runs it: nothing depends on the guest's speed.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../paths.js';

export type Accel = 'kvm' | 'tcg';

const GUEST_KERNEL = join(PROJECT_ROOT, 'nf-modules', 'build', 'guest', 'vmlinuz');
const QEMU = 'qemu-system-x86_64';
const QBOOT = '/usr/share/qemu/qboot.rom';
const GUEST_MEMORY_MB = 128;

/** What is missing on this host for a guest to run, if anything. */
export function guestPrerequisites(): string | undefined {
  if (!existsSync(GUEST_KERNEL)) return `no guest kernel at ${GUEST_KERNEL} (scripts/build-guest makes it)`;
  if (!['/usr/bin', '/usr/local/bin'].some((d) => existsSync(join(d, QEMU)))) return `${QEMU} is not installed (scripts/setup installs it)`;
  return undefined;
}

/** The command (setpriv kills QEMU with its parent: a run killed outright leaves no guest behind). */
export function qemuCommand(accel: Accel, image: string, consolePath: string, devices: string[]): string[] {
  return [
    'setpriv', '--pdeathsig', 'KILL', '--', QEMU,
    ...(accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg']),
    ...(existsSync(QBOOT) ? ['-bios', QBOOT] : []),
    '-machine', 'pc', '-m', String(GUEST_MEMORY_MB), '-smp', '1',
    '-nodefaults', '-no-user-config', '-nographic', '-no-reboot',
    '-serial', `file:${consolePath}`,
    // No IPv6: a guest's kernel sends nothing of its own on the interfaces it forwards between.
    '-kernel', GUEST_KERNEL, '-initrd', image, '-append', 'console=ttyS0 quiet panic=-1 ipv6.disable=1',
    ...devices,
  ];
}
