/* The region a vm NF's guest shares with the host (NetVM's ivshmem path).
 *
 * The host keeps one hugepage-backed file per guest; QEMU gives it to the guest
 * as an ivshmem-plain device (BAR 2), and the host maps the same file. The
 * guest never sees the packet pool: the host copies each burst the NF must see
 * into the region's packet area (the layout of an isolated NF: slot j at
 * j * NV_VM_SLOT_BYTES + NV_VM_HEADROOM) and copies back what it passes on.
 *
 * One burst at a time, a doorbell each way: the host writes the records and
 * `count`, then increments `kick`; the guest runs the NF over the records
 * (writing each one's len and verdict) and then sets `done` to `kick`. Both
 * words are free-running and on cache lines of their own. The host kicks only
 * while `guest_state` is NV_VM_READY and `done == kick`, so a guest that died
 * or fell behind never has a burst's records changed under it.
 *
 * A message (host/chain/mailroom.ts) rides a kick of its own: the host writes
 * it at NV_VM_MESSAGE_OFF, `message_len` (non-zero) and `message_from`, and a
 * `count` of 0; a guest whose NF takes messages (`takes_messages`, set at
 * boot) hands it to the NF and writes its answer, if any, at NV_VM_ANSWER_OFF
 * (`answer_len` bytes) before `done`.
 *
 * This header is the whole contract between the host (native-dpdk/vm.c) and
 * the guest library (nf-modules/guest/netvm_guest.c); both are C11. */
#ifndef NETVM_VM_H
#define NETVM_VM_H

#include <stdint.h>

#define NV_VM_MAGIC 0x4d564e4eu /* "NNVM", little-endian */
#define NV_VM_VERSION 1u
#define NV_VM_REGION_BYTES (2u << 20) /* one 2 MiB hugepage; ivshmem wants a power of two */

#define NV_VM_CONFIG_OFF 0x1000u /* the NF's config text (JSON), config_len bytes */
#define NV_VM_CONFIG_MAX 0xe000u
#define NV_VM_ERROR_OFF 0xf000u /* the guest's reason for refusing its config, NUL-terminated */
#define NV_VM_ERROR_MAX 0x1000u
#define NV_VM_RECORDS_OFF 0x10000u /* NV_VM_MAX_BURST records (struct nv_vm_record) */
#define NV_VM_AREA_OFF 0x100000u   /* packet slots; a record's pool_off is from here */
#define NV_VM_MAX_BURST 256u
#define NV_VM_SLOT_BYTES 2176u /* the pool's element: headroom + data room */
#define NV_VM_HEADROOM 128u
#define NV_VM_DATA_ROOM 2048u
/* After the packet slots: a message to the NF, and its answer to one from the operator. */
#define NV_VM_MESSAGE_OFF (NV_VM_AREA_OFF + NV_VM_MAX_BURST * NV_VM_SLOT_BYTES)
#define NV_VM_MESSAGE_MAX 2048u
#define NV_VM_ANSWER_OFF (NV_VM_MESSAGE_OFF + NV_VM_MESSAGE_MAX)
#define NV_VM_ANSWER_MAX 4096u

/* guest_state */
enum { NV_VM_BOOTING = 0, NV_VM_READY = 1, NV_VM_REFUSED = 2 };

/* A packet record: the layout of struct nv_desc (netvm_dp.h) and of ABI v1's records. */
struct nv_vm_record {
	uint32_t pool_off; /* first byte of the packet, from NV_VM_AREA_OFF */
	uint32_t len;      /* the guest may change it (1..room) */
	uint16_t port;     /* input port */
	uint16_t room;     /* bytes from the first byte to the slot's end */
	uint32_t verdict;  /* ABI v1 verdicts: 0 next, 1 drop, (1 << 16) | port, (2 << 16) | position */
};

struct nv_vm_header {
	uint32_t magic;       /* host: NV_VM_MAGIC once the config is in place */
	uint32_t version;     /* host: NV_VM_VERSION */
	uint32_t config_len;  /* host */
	uint32_t boots;       /* guest: +1 each time an agent starts on this region */
	uint32_t guest_state; /* guest: NV_VM_BOOTING, NV_VM_READY or NV_VM_REFUSED */
	uint32_t takes_messages; /* guest: 1 when its NF defines nf_message */
	uint32_t message_len;    /* host: with this kick, a message of this many bytes (0: a burst) */
	int32_t message_from;    /* host: the sender's chain position, -1 for the operator */
	uint32_t answer_len;     /* guest: its NF's answer to the message, in bytes */
	uint32_t reserved[7];
	uint32_t kick;        /* host: +1 per burst, after the records and count */
	uint32_t count;       /* host: records in the burst */
	uint32_t host_pad[14];
	uint32_t done;        /* guest: = kick once the burst's verdicts are written */
	uint32_t guest_pad[15];
};

_Static_assert(sizeof(struct nv_vm_record) == 16, "records are 16 bytes");
_Static_assert(sizeof(struct nv_vm_header) == 192, "three cache lines");
_Static_assert(NV_VM_ANSWER_OFF + NV_VM_ANSWER_MAX <= NV_VM_REGION_BYTES, "the slots, the message and the answer fit");

#endif
