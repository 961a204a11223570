// Real kernel traffic for tests of kernel-interface ports: frames sent from a
// raw socket on an interface in a network namespace, a few at a time.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
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
