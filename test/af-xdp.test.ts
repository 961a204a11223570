// net_af_xdp ports (issue 18): an XDP socket on a veth whose other end is in a
// network namespace of its own, real kernel traffic sent there from a raw
// socket. The driver receives into a mempool of its own (the kernel writes
// frames into it as the socket's memory) and the poll loop copies each frame
// into the pool; what it sends it copies into its socket's memory. 10,000
// frames of mixed sizes (60 to 1522 bytes; IPv4 and IPv6, untagged, 802.1Q
// and QinQ, ARP and malformed) go through firewall -> ttl and out of another
// XDP socket: every frame comes out as the references say, in order, counted,
// and the pool is full at the end.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addVethPair } from '../bench/idle.js';
import { REPO_ROOT } from './support/fixtures.js';
import { sendFrames } from './support/raw-send.js';
import { FirewallReference, type FwConfig } from './support/firewall-reference.js';
import { startNetvm, tempDir } from './support/netvm.js';
import { numberedTraffic } from './support/traffic.js';
import { ttlStep } from './support/ttl-reference.js';

const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');
const ns = `nvxdp${process.pid}`;
const [hostIn, peerIn, hostOut, peerOut] = ['nvxa', 'nvxb', 'nvxc', 'nvxd'].map((p) => `${p}${process.pid}`.slice(0, 15));
const sh = (...args: string[]): string => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });
const FRAMES = 10_000;

/** Writes what arrives at the namespace's end, one frame a line in hex, until told to stop.
 *  The veth strips a frame's outer VLAN tag into the socket's auxiliary data: put back. */
const RECEIVER = `
import socket, struct, sys, signal
SOL_PACKET, PACKET_AUXDATA, VLAN_VALID, TPID_VALID = 263, 8, 0x10, 0x40
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
s.settimeout(0.2)
out = open(sys.argv[2], 'w')
done = []
signal.signal(signal.SIGTERM, lambda *a: done.append(1))
print('ready', flush=True)
while not done:
    try:
        data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(32))
    except socket.timeout:
        continue
    for level, kind, aux in anc:
        if level == SOL_PACKET and kind == PACKET_AUXDATA:
            status, _, _, _, _, tci, tpid = struct.unpack('IIIHHHH', aux[:20])
            if status & VLAN_VALID:
                data = data[:12] + struct.pack('!HH', tpid if status & TPID_VALID else 0x8100, tci) + data[12:]
    out.write(data.hex() + '\\n')
out.close()
`;

const FIREWALL: FwConfig = {
  default: 'allow',
  non_ip: 'allow',
  rules: [{ action: 'deny', proto: 'udp', dport: '1030-1040' }, { action: 'deny', src: '10.0.0.0/8', proto: 'tcp', dport: 1050 }],
};

t.test('10,000 frames through firewall -> ttl between two XDP sockets, every one as the references say', async (t) => {
  sh('ip', 'netns', 'add', ns);
  t.teardown(() => void sh('ip', 'netns', 'del', ns)); // the veth pairs go with it
  for (const [host, peer] of [[hostIn, peerIn], [hostOut, peerOut]] as const) {
    addVethPair(ns, host!, peer!);
    // Room for a QinQ frame of 1522 bytes.
    sh('ip', 'link', 'set', host!, 'mtu', '1508');
    sh('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', peer!, 'mtu', '1508');
  }
  const frames = numberedTraffic(FRAMES).map((f) => f.frame);
  const ref = new FirewallReference(FIREWALL);
  const expected = frames.flatMap((f) => {
    if (!ref.decide(f)) return [];
    const step = ttlStep(f, 1);
    return step.verdict === 'pass' ? [hex(step.out)] : [];
  });
  const dir = tempDir();
  writeFileSync(join(dir, 'receive.py'), RECEIVER);
  const receiver = spawn('ip', ['netns', 'exec', ns, 'python3', join(dir, 'receive.py'), peerOut!, join(dir, 'out.hex')], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => receiver.stdout.once('data', resolve));
  const run = startNetvm({
    cores: { poll: 1, workers: [0] },
    ports: { in: `net_af_xdp0,iface=${hostIn}`, out: `net_af_xdp1,iface=${hostOut}` },
    nfs: {
      fw: { module: join(REPO_ROOT, 'nf-modules/build/firewall.wasm'), config: FIREWALL },
      ttl: { module: join(REPO_ROOT, 'nf-modules/build/ttl.wasm') },
    },
    chains: [{ from: 'in', through: ['fw', 'ttl'], to: 'out' }],
  }, ['--until-idle', '2000', '--control', 'off'], dir);
  await run.waitFor(/(^|\n)\[/);
  sendFrames(ns, peerIn!, frames, dir);
  const r = await run.done;
  receiver.kill('SIGTERM');
  await new Promise((resolve) => receiver.once('exit', resolve));
  t.equal(r.code, 0, r.stderr);
  const s = r.summary!;
  const chain = s.chains[0]!;
  t.equal(s.ports[0]!.rx, FRAMES, 'every frame sent was received');
  t.equal(chain.in, FRAMES);
  t.equal(s.ports[1]!.tx, expected.length, 'as many went out as the references let through');
  const out = readFileSync(join(dir, 'out.hex'), 'utf8').split('\n').filter((l) => l !== '');
  t.equal(out.length, expected.length, 'and as many arrived at the other end');
  t.same(out, expected, 'each as the references say, in order');
  t.equal(s.unaccounted, 0, 'in = out + counted drops');
  t.equal(s.pool.available, s.pool.mbufs, 'the pool is full again');
});
