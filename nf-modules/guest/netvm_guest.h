/* Writing a vm NF: an NF that runs in a QEMU guest and talks to the host over
 * an ivshmem-plain device (native-dpdk/netvm_vm.h is the wire contract).
 *
 * The NF is a C file that defines the two functions below; it is linked with
 * the agent (netvm_guest.c), which owns main(): it finds the device, hands the
 * NF its config, and then calls nf_process once per packet of every burst the
 * host sends. Everything runs on one thread, so the NF needs no locking.
 * scripts/build-guest turns nf-modules/guest/NAME.c into a kernel + initramfs
 * pair that boots straight into the agent. */
#ifndef NETVM_GUEST_H
#define NETVM_GUEST_H

#include <stdint.h>

/* Verdicts (ABI v1, as for a Wasm NF). */
#define NETVM_NEXT 0u /* on to the chain's next NF (after the last, the chain's output port) */
#define NETVM_DROP 1u /* free the packet */
#define NETVM_OUT_PORT(port) ((1u << 16) | (uint16_t)(port)) /* out of port index `port` at once */

/* Called once, before the first packet. `config` is the NF's config from the
 * data-plane YAML as JSON text, `len` bytes, NUL-terminated, and stays valid
 * for the life of the process; an NF given none gets "null" (or "", len 0).
 * Return 0 to accept it. Otherwise write a reason into `error` (at most
 * `error_max` bytes with its NUL) and return non-zero: the host shows the
 * reason and the NF does not start. */
int nf_configure(const char *config, uint32_t len, char *error, uint32_t error_max);

/* Called once per packet. `packet` is its first byte (the Ethernet header),
 * `*len` its length; the NF may rewrite the bytes and set `*len` to anything
 * from 1 to `room` (the bytes available from `packet` on). `port` is the index
 * of the port it arrived on. Returns a verdict. The bytes are in memory shared
 * with the host and belong to the NF only during the call: keep no pointer
 * into them. */
uint32_t nf_process(uint8_t *packet, uint32_t *len, uint32_t room, uint16_t port);

/* Optional: a message for the NF (docs/abi.md, "Messages"), between two bursts: `len` bytes
 * (a copy, the NF's during the call), `from` the sender's chain position, or -1 for the
 * operator (`netvm send`). It may write an answer for the operator into `answer` (at most
 * `answer_max` bytes) and return its length; 0 for none. An NF without it takes no messages. */
uint32_t nf_message(const uint8_t *message, uint32_t len, int32_t from, char *answer, uint32_t answer_max) __attribute__((weak));

#endif
