// The functions the host grants an NF instance (ABI v1 imports), with the
// instance's own state: the metrics it defined and its log budget.
import { performance } from 'node:perf_hooks';
import { MAX_METRICS, MESSAGE_NO_RECEIVER, METRIC_KINDS } from './abi.js';
import type { LinearMemory } from './engine.js';
import { log } from '../log.js';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
/** Log lines an instance may print per second; the rest are counted and said. */
const LOG_LINES_PER_SECOND = 20;
const MAX_LOG_BYTES = 4096;

export interface Metric {
  name: string;
  kind: (typeof METRIC_KINDS)[number];
}

/** Where an instance stands: the names of its chain's NFs, in order, and its own position. */
export interface ChainPlace {
  names: readonly string[];
  position: number;
}

/** Where an NF's messages go: its chain's mailboxes (host/chain/mailroom.ts). */
export interface MessageSender {
  /** A buffer's address in the sender's memory, or 0. */
  alloc(from: number, len: number): number;
  /** What netvm_message_send answers. */
  send(from: number, to: number, addr: number, len: number): number;
}

export class HostImports {
  readonly metrics: Metric[] = [];
  /** The last error an NF logged: given as the reason when it refuses its config. */
  lastError = '';
  /** Its chain's messages (host/chain/mailroom.ts), once it runs in a chain. */
  mail?: MessageSender;
  /** What it answered (netvm_message_answer) to the operator's message being delivered. */
  answer?: string;
  private memory!: LinearMemory;
  private logWindowStart = 0;
  private logLines = 0;
  private suppressed = 0;

  constructor(
    private readonly label: string,
    /** Where its log lines go: the run's log by default, at the NF's level. */
    private readonly write: (line: string, level: (typeof LEVELS)[number]) => void = (l, level) => log()[level]({ nf: label }, l),
    private readonly place: ChainPlace = { names: [label], position: 0 },
  ) {}

  /** The memory the functions read from; known once the instance has it. */
  bind(memory: LinearMemory): void {
    this.memory = memory;
  }

  private text(ptr: number, len: number): string {
    const bytes = new Uint8Array(this.memory.buffer);
    if (ptr < 0 || len < 0 || len > MAX_LOG_BYTES || ptr + len > bytes.length) return `<bad text at ${ptr}+${len}>`;
    return Buffer.from(bytes.subarray(ptr, ptr + len)).toString('utf8');
  }

  private log(level: number, ptr: number, len: number): void {
    const name = LEVELS[level] ?? 'info';
    const message = this.text(ptr, len);
    if (name === 'error') this.lastError = message;
    const now = performance.now();
    if (now - this.logWindowStart >= 1000) {
      if (this.suppressed > 0) this.write(`nf ${this.label}: ${this.suppressed} log lines suppressed`, 'warn');
      [this.logWindowStart, this.logLines, this.suppressed] = [now, 0, 0];
    }
    if (++this.logLines > LOG_LINES_PER_SECOND) {
      this.suppressed++;
      return;
    }
    this.write(`nf ${this.label} ${name}: ${message}`, name);
  }

  private defineMetric(kind: number, ptr: number, len: number): number {
    const name = this.text(ptr, len);
    const existing = this.metrics.findIndex((m) => m.name === name);
    if (existing >= 0) return existing;
    if (this.metrics.length === MAX_METRICS || METRIC_KINDS[kind] === undefined) return -1;
    this.metrics.push({ name, kind: METRIC_KINDS[kind] });
    return this.metrics.length - 1;
  }

  /** The env functions, bound to this instance. */
  functions(): Record<string, (...args: never[]) => unknown> {
    return {
      netvm_log: (level: number, ptr: number, len: number) => this.log(level, ptr >>> 0, len),
      netvm_metric_define: (kind: number, ptr: number, len: number) => this.defineMetric(kind, ptr >>> 0, len),
      netvm_now_ns: () => process.hrtime.bigint(),
      // The position of the NF so named after this one in its chain, for TO_NF verdicts; -1 if none.
      netvm_nf_index: (ptr: number, len: number) => {
        const at = this.place.names.indexOf(this.text(ptr >>> 0, len));
        return at > this.place.position ? at : -1;
      },
      // The position of the NF so named in its chain (not itself), to send messages to; -1 if none.
      netvm_message_target: (ptr: number, len: number) => {
        const at = this.place.names.indexOf(this.text(ptr >>> 0, len));
        return at === this.place.position ? -1 : at;
      },
      netvm_message_alloc: (len: number) => this.mail?.alloc(this.place.position, len) ?? 0,
      netvm_message_send: (to: number, addr: number, len: number) => this.mail?.send(this.place.position, to, addr >>> 0, len) ?? MESSAGE_NO_RECEIVER,
      netvm_message_answer: (ptr: number, len: number) => {
        this.answer = this.text(ptr >>> 0, len);
      },
    };
  }
}
