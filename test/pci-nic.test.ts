// A PCI NIC, end to end (issue 18), on a machine without one: a QEMU guest
// (TCG) with an emulated virtio-net PCI NIC, whose backend is a tap device here
// in a network namespace. The guest (scripts/build-guest: Debian's full kernel
// and test/fixtures/nic-guest/init) takes this machine's root read-only over
// 9p and runs this very netvm on the NIC through DPDK's own driver,
// net_virtio, with the device bound
//  - to uio_pci_generic: IOVA as PA, the pool's 2 MiB pages by their
//    physical addresses (and a run without hugepages, whose pool has none,
//    refused before EAL starts);
//  - to vfio-pci behind the guest's IOMMU: IOVA as VA, the pool mapped for
//    the device.
// 10,000 frames of mixed sizes (60 to 1522 bytes; IPv4 and IPv6, untagged,
// 802.1Q and QinQ, ARP and malformed) sent into the tap go through firewall ->
// ttl and back out of the NIC: every one as the references say, in order,
// counted, and the pool full at the end.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { RunSummary } from '../host/observe/stats.js';
import { REPO_ROOT } from './support/fixtures.js';
import { FW_TTL_FIREWALL, fwTtlTraffic } from './support/fw-ttl-traffic.js';
import { tempDir } from './support/netvm.js';
import { sendFrames, startReceiver } from './support/raw-socket.js';

const GUEST = join(REPO_ROOT, 'test/fixtures/build/nic-guest');
const QBOOT = '/usr/share/qemu/qboot.rom';
const NIC = '0000:00:05.0';
const FRAMES = 10_000;
const sh = (...args: string[]): string => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });


const config = (hugepages: 'on' | 'off'): object => ({
  cores: { poll: 1, workers: [0] },
  ports: { nic: NIC },
  pool: { mbufs: 8192, hugepages },
  nfs: {
    fw: { module: join(REPO_ROOT, 'nf-modules/build/firewall.wasm'), config: FW_TTL_FIREWALL },
    ttl: { module: join(REPO_ROOT, 'nf-modules/build/ttl.wasm') },
  },
  chains: [{ from: 'nic', through: ['fw', 'ttl'], to: 'nic' }],
});

type Driver = 'uio_pci_generic' | 'vfio-pci';

/** What the guest runs (with the host's /bin/sh), from the test's folder: binds the NIC to
 *  the driver, then runs netvm on it, each run's exit status into a file of the folder. */
function guestScript(dir: string, driver: Driver, refusal: boolean): string {
  const netvm = `node ${join(REPO_ROOT, 'dist/host/cli.js')} run`;
  return `nic=/sys/bus/pci/devices/${NIC}
echo ${driver} >$nic/driver_override
echo ${NIC} >$nic/driver/unbind
echo ${NIC} >/sys/bus/pci/drivers_probe
echo "nic-guest: NIC bound to $(basename $(readlink $nic/driver))"
${refusal ? `${netvm} ${dir}/small-pages.yaml --duration 1 --control off --file-prefix refused 2>${dir}/refused.err
echo $? >${dir}/refused.code
ls -A /run/dpdk >${dir}/refused.left 2>/dev/null` : ''}
${netvm} ${dir}/config.yaml --until-idle 5000 --control off --stats-json ${dir}/stats.json --file-prefix nic
echo $? >${dir}/run.code
`;
}

interface Guest {
  /** Resolves once the console shows the pattern (rejects if the guest ends first). */
  waitFor(pattern: RegExp): Promise<void>;
  /** Resolves with the whole console once QEMU has exited. */
  done: Promise<string>;
}

/** Boots the guest in namespace ns, its NIC's backend the tap device tap there. */
function bootGuest(ns: string, tap: string, dir: string, iommu: boolean): Guest {
  const cmdline = `console=ttyS0 quiet panic=-1 ipv6.disable=1 netvm.work=${dir}${iommu ? ' intel_iommu=on' : ''}`;
  const qemu = [
    'setpriv', '--pdeathsig', 'KILL', '--', 'qemu-system-x86_64',
    // -cpu max: node needs more than the default model's instructions.
    '-accel', 'tcg,thread=multi', '-cpu', 'max', '-machine', 'q35', '-m', '1024', '-smp', '2',
    ...(existsSync(QBOOT) ? ['-bios', QBOOT] : []),
    '-nodefaults', '-no-user-config', '-nographic', '-no-reboot', '-serial', 'stdio',
    '-kernel', join(GUEST, 'vmlinuz'), '-initrd', join(GUEST, 'initrd'), '-append', cmdline,
    // 48-bit I/O addresses: IOVA as VA takes user space's (39 by default).
    ...(iommu ? ['-device', 'intel-iommu,aw-bits=48'] : []),
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${dir},mount_tag=work,security_model=none`,
    '-netdev', `tap,id=n0,ifname=${tap},script=no,downscript=no`,
    // Behind the IOMMU, the device's DMA goes through it only if it says so (iommu_platform).
    '-device', `virtio-net-pci,netdev=n0,addr=05,romfile=${iommu ? ',disable-legacy=on,iommu_platform=on' : ''}`,
  ];
  const child = spawn('ip', ['netns', 'exec', ns, ...qemu], { stdio: ['ignore', 'pipe', 'pipe'] });
  let console = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const onData = (d: Buffer): void => {
    console += d.toString();
    for (const w of waiters.filter((w) => w.pattern.test(console))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const done = new Promise<string>((resolve) => child.once('exit', () => resolve(console)));
  return {
    waitFor: (pattern) => Promise.race([
      new Promise<void>((resolve) => waiters.push({ pattern, resolve })),
      done.then((c) => Promise.reject(new Error(`the guest ended before ${pattern}:\n${c}`))),
    ]),
    done,
  };
}

async function throughTheNic(t: Tap.Test, driver: Driver, iommu: boolean, refusal: boolean): Promise<void> {
  const ns = `nvnic${process.pid}`;
  const tap = `nvtap${process.pid}`.slice(0, 15);
  sh('ip', 'netns', 'add', ns);
  t.teardown(() => void sh('ip', 'netns', 'del', ns)); // the tap goes with it
  // The namespace's own stack sends nothing on the tap.
  sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');

  const { frames, expected } = fwTtlTraffic(FRAMES);

  const dir = tempDir();
  writeFileSync(join(dir, 'config.yaml'), stringify(config('on')));
  writeFileSync(join(dir, 'small-pages.yaml'), stringify(config('off')));
  writeFileSync(join(dir, 'guest.sh'), guestScript(dir, driver, refusal));
  const guest = bootGuest(ns, tap, dir, iommu);
  await guest.waitFor(/nic-guest: up/);
  // QEMU made the tap; room for a QinQ frame of 1522 bytes.
  sh('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', tap, 'mtu', '1508', 'up');
  const receiver = await startReceiver(ns, tap, dir);
  await guest.waitFor(/nic-guest: NIC bound to/);
  await guest.waitFor(/\[ *1s\]/);
  sendFrames(ns, tap, frames, dir);
  const console = await guest.done;
  const out = await receiver.stop();
  if (refusal) {
    const err = readFileSync(join(dir, 'refused.err'), 'utf8');
    t.equal(readFileSync(join(dir, 'refused.code'), 'utf8').trim(), '1', 'a pool on 4 KiB pages: the run is refused');
    t.match(err, `ports.nic: ${NIC} is bound to uio_pci_generic, so its DMA needs the pool's physical addresses, which only 2 MiB hugepages have, and this run has none`);
    t.equal(readFileSync(join(dir, 'refused.left'), 'utf8'), '', 'and leaves nothing in /run/dpdk');
  }
  t.equal(readFileSync(join(dir, 'run.code'), 'utf8').trim(), '0', console);
  const s = JSON.parse(readFileSync(join(dir, 'stats.json'), 'utf8')) as RunSummary;
  t.equal(s.pool.iova, iommu ? 'va' : 'pa', `the NIC reached the pool by its ${iommu ? 'virtual' : 'physical'} addresses`);
  t.equal(s.ports[0]!.rx, FRAMES, 'every frame sent was received');
  t.equal(s.chains[0]!.in, FRAMES);
  t.equal(s.ports[0]!.tx, expected.length, 'as many went out as the references let through');
  t.equal(out.length, expected.length, 'and as many came back out of the tap');
  t.same(out, expected, 'each as the references say, in order');
  const wakes = s.ports[0]!.rx_intr_wakes;
  if (iommu) {
    // Frames come 16 at a time, 2 ms apart: between them the poll lcore goes idle and sleeps on
    // the NIC's interrupt. An eventfd left unread would wake it at once, every time: thousands.
    t.ok(wakes > 0 && wakes < FRAMES / 8, `idle, the poll lcore slept on the NIC's RX interrupts, woken ${wakes} times`);
  } else {
    t.equal(wakes, 0, 'no RX interrupts under uio: the idle poll lcore naps');
  }
  t.equal(s.unaccounted, 0, 'in = out + counted drops');
  t.equal(s.pool.available, s.pool.mbufs, 'the pool is full again');
}

t.test('uio_pci_generic, IOVA as PA: 10,000 frames through firewall -> ttl on the NIC, every one as the references say', { timeout: 240_000 }, (t) =>
  throughTheNic(t, 'uio_pci_generic', false, true));

t.test('vfio-pci behind an IOMMU, IOVA as VA: the same through the pool mapped for the NIC', { timeout: 240_000 }, (t) =>
  throughTheNic(t, 'vfio-pci', true, false));
