// Real kernel traffic for tests of ports on kernel interfaces: frames sent from
// a raw socket on an interface in a network namespace, a few at a time, and
// what arrives at another, caught by a raw socket there.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SENDER = `
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
for i, line in enumerate(open(sys.argv[2])):
    s.send(bytes.fromhex(line.strip()))
    if i % 16 == 15:
        time.sleep(0.002)
`;

/** Sends frames out of iface in namespace ns, in order (dir holds the script and the frames). */
export function sendFrames(ns: string, iface: string, frames: Uint8Array[], dir: string): void {
  writeFileSync(join(dir, 'frames.hex'), frames.map((f) => Buffer.from(f).toString('hex')).join('\n'));
  writeFileSync(join(dir, 'send.py'), SENDER);
  execFileSync('ip', ['netns', 'exec', ns, 'python3', join(dir, 'send.py'), iface, join(dir, 'frames.hex')]);
}

/** Writes each frame that arrives at the interface, one a line in hex, until told to stop or
 *  the interface goes (a tap whose QEMU exited). Frames the host sends out of it are not counted. The kernel strips a frame's outer VLAN
 *  tag into the socket's auxiliary data: put back. */
const RECEIVER = `
import socket, struct, sys, signal
SOL_PACKET, PACKET_AUXDATA, VLAN_VALID, TPID_VALID = 263, 8, 0x10, 0x40
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
# Room for the frames that arrive while Python is off the CPU (SO_RCVBUFFORCE, as root): the
# default 208 KiB lost a run of frames to a burst from the guest's NIC.
s.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)
s.settimeout(0.2)
out = open(sys.argv[2], 'w')
done = []
signal.signal(signal.SIGTERM, lambda *a: done.append(1))
print('ready', flush=True)
while not done:
    try:
        data, anc, _, addr = s.recvmsg(4096, socket.CMSG_SPACE(32))
    except socket.timeout:
        continue
    except OSError:
        break
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    for level, kind, aux in anc:
        if level == SOL_PACKET and kind == PACKET_AUXDATA:
            status, _, _, _, _, tci, tpid = struct.unpack('IIIHHHH', aux[:20])
            if status & VLAN_VALID:
                data = data[:12] + struct.pack('!HH', tpid if status & TPID_VALID else 0x8100, tci) + data[12:]
    out.write(data.hex() + '\\n')
out.close()
`;

export interface Receiver {
  /** Stops it; the frames it caught, in hex, in the order they came. */
  stop(): Promise<string[]>;
}

/** Starts catching what arrives at iface in namespace ns (dir holds the script and the frames). */
export async function startReceiver(ns: string, iface: string, dir: string): Promise<Receiver> {
  const script = join(dir, 'receive.py');
  const file = join(dir, 'received.hex');
  writeFileSync(script, RECEIVER);
  const child = spawn('ip', ['netns', 'exec', ns, 'python3', script, iface, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise((resolve) => child.stdout.once('data', resolve));
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
      return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
    },
  };
}
