// Messages between NFs (docs/abi.md, "Messages"): an NF sends bytes to
// another NF of its chain, named as in the config; the receiver gets them in
// its netvm_message export (ptr, len, from), in the order sent, before its
// next burst. A message's buffer is a slot of the packet pool, in this NF's
// window: the receiver reads those very bytes, nothing is copied. Sending never
// blocks: a full mailbox drops the message, and the host counts it (both
// sides' messages_dropped and mailbox_full). The operator's messages (`netvm
// send`, POST /v1/nfs/<nf>/message) come the same way with from = -1, and an
// NF may answer them with answer(). For rare events, not for every packet.
//
//   const fw = messageTarget('fw');          // at configure: -1 when there is none
//   ...
//   const buf = messageBuffer(48);           // 0 when none is free
//   if (buf != 0) { store<u32>(buf, 1); ...; sendBuffer(fw, buf, 48); }

@external("env", "netvm_message_target")
declare function host_message_target(ptr: usize, len: i32): i32;

@external("env", "netvm_message_alloc")
declare function host_message_alloc(len: i32): usize;

@external("env", "netvm_message_send")
declare function host_message_send(to: i32, buf: usize, len: i32): i32;

@external("env", "netvm_message_answer")
declare function host_message_answer(ptr: usize, len: i32): void;

/** The most bytes in one message. */
export const MESSAGE_MAX: i32 = 2048;
/** What sendBuffer and sendMessage return. */
export const SENT: i32 = 0;
export const MAILBOX_FULL: i32 = 1; // dropped: the receiver had MAILBOX_ROOM (16) waiting
export const NO_RECEIVER: i32 = 2; // dropped: no such NF in this chain, or it takes no messages
export const NOT_A_BUFFER: i32 = 3; // dropped: buf was not one of this NF's buffers
export const NO_BUFFER: i32 = 4; // dropped: no buffer was free (sendMessage)

/** The NF of that name in this NF's chain (not itself), to send to: its id, or -1.
 *  Ask at configure time. */
export function messageTarget(name: string): i32 {
  const bytes = String.UTF8.encode(name);
  return host_message_target(changetype<usize>(bytes), bytes.byteLength);
}

/** A buffer for a message of len bytes (1 to MESSAGE_MAX), in this NF's memory; 0 when
 *  none is free or this NF holds 16 unsent already. Until sent, it is this NF's. */
export function messageBuffer(len: i32): usize {
  return host_message_alloc(len);
}

/** Sends a buffer from messageBuffer, len bytes of it, to a target: it is no longer
 *  this NF's. SENT, or why it was dropped. */
export function sendBuffer(to: i32, buf: usize, len: i32): i32 {
  return host_message_send(to, buf, len);
}

/** Sends len bytes at data to a target: a buffer, a copy into it, a send. */
export function sendMessage(to: i32, data: usize, len: i32): i32 {
  const buf = host_message_alloc(len);
  if (buf == 0) return NO_BUFFER;
  memory.copy(buf, data, <usize>len);
  return host_message_send(to, buf, len);
}

/** Answers the operator's message being delivered (in netvm_message, from = -1). */
export function answer(text: string): void {
  const bytes = String.UTF8.encode(text);
  host_message_answer(changetype<usize>(bytes), bytes.byteLength);
}
