// A client for DPDK's telemetry socket (<runtime dir>/dpdk_telemetry.v2, a unix
// SEQPACKET socket: one JSON message per request). Node has no SEQPACKET
// sockets, so the few libc calls go through koffi. Used to read the port
// counters of a DPDK program we do not control (the skeleton example).
import koffi from 'koffi';

const AF_UNIX = 1;
const SOCK_SEQPACKET = 5;
const SUN_PATH_MAX = 108;

const libc = koffi.load('libc.so.6');
const socket = libc.func('int socket(int domain, int type, int protocol)');
const connect = libc.func('int connect(int fd, const uint8_t *addr, uint32_t len)');
const send = libc.func('long send(int fd, const uint8_t *buf, size_t len, int flags)');
const recv = libc.func('long recv(int fd, _Out_ uint8_t *buf, size_t len, int flags)');
const close = libc.func('int close(int fd)');

export class Telemetry {
  private readonly buf = new Uint8Array(65536);

  private constructor(private readonly fd: number) {
    this.receive(); // the greeting: versions and limits
  }

  static connect(path: string): Telemetry {
    const fd = socket(AF_UNIX, SOCK_SEQPACKET, 0) as number;
    if (fd < 0) throw new Error('telemetry: cannot create a socket');
    const addr = new Uint8Array(2 + SUN_PATH_MAX);
    addr[0] = AF_UNIX;
    addr.set(new TextEncoder().encode(path).subarray(0, SUN_PATH_MAX - 1), 2);
    if (connect(fd, addr, addr.length) !== 0) {
      close(fd);
      throw new Error(`telemetry: cannot connect to ${path}`);
    }
    return new Telemetry(fd);
  }

  private receive(): unknown {
    const n = recv(this.fd, this.buf, this.buf.length, 0) as number;
    if (n <= 0) throw new Error('telemetry: connection closed');
    return JSON.parse(new TextDecoder().decode(this.buf.subarray(0, n)));
  }

  query(command: string): unknown {
    const bytes = new TextEncoder().encode(command);
    if ((send(this.fd, bytes, bytes.length, 0) as number) !== bytes.length) throw new Error('telemetry: send failed');
    return (this.receive() as Record<string, unknown>)[command.split(',')[0]!];
  }

  /** Packets a port has sent. */
  opackets(port: number): number {
    return (this.query(`/ethdev/stats,${port}`) as { opackets: number }).opackets;
  }

  close(): void {
    close(this.fd);
  }
}
