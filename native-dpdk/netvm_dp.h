/* netvm_dp: the one native library of NetVM, loaded from TypeScript through koffi.
 *
 * It owns the DPDK side of the data path: EAL, ports, the mbuf pool on a shared
 * memfd, and a poll loop on its own lcore that trades 16-byte descriptors with
 * the JS workers through SPSC rings. The rings live in JS SharedArrayBuffers;
 * their layout is fixed here and mirrored in host/dataplane/ring.ts.
 *
 * Every function returns a negative errno-style code on failure and leaves a
 * message for nv_last_error(); none of them exits the process. */
#ifndef NETVM_DP_H
#define NETVM_DP_H

#include <stdint.h>

#define NV_MAX_PORTS 32
#define NV_MAX_LANES 64
#define NV_PORT_DROP 0xFFFFu /* descriptor port value meaning "free this mbuf" */
/* Pool slots beyond the mbufs (and beyond an offline pool's slots) that hold
 * the NFs' messages (host/chain/mailroom.ts): no device ever reaches them. */
#define NV_MESSAGE_SLOTS 256u
#define NV_STEER_BUCKETS 256u /* buckets of an input port's flow steering table */
#define NV_MAX_RX_QUEUES 16u  /* RX queues of a port whose device hashes flows (RSS) */

/* A descriptor, 16 bytes. On the RX ring it has exactly the layout of an NF's
 * batch record (ABI v1, docs/abi.md), so that a worker hands a burst to the
 * first NF of a chain with one copy. On the return ring the worker writes
 * pool_off, len and port (an output port, or NV_PORT_DROP); room and verdict
 * are not read there. */
struct nv_desc {
	uint32_t pool_off; /* first byte of packet data, from the pool's base */
	uint32_t len;
	uint16_t port;     /* RX: input port; return: output port or NV_PORT_DROP */
	uint16_t room;     /* RX: bytes from the first byte to the buffer's end */
	uint32_t verdict;  /* RX: 0 (NEXT) */
};

/* ABI v2: what the chain's parse found in a packet (native-dpdk/parse.c), the
 * 16 bytes after each of a v2 NF's records (docs/abi.md). Offsets are from the
 * packet's first byte; l4 is 0 when no whole L4 header was found. */
struct nv_meta {
	uint16_t l3;            /* the L3 header (also for ARP and unknown ethertypes); 0: no ethertype */
	uint16_t l4;            /* the whole L4 header: TCP with options, UDP, ICMP's first 4 bytes */
	uint16_t ether_type;    /* after up to two VLAN tags */
	uint8_t ip_version;     /* 4 or 6 when the IP header is whole and sane, else 0 */
	uint8_t l4_proto;       /* after IPv6 extension headers */
	uint16_t ip_len;        /* bytes of the IP packet in the frame */
	uint16_t ip_header_len; /* IPv4 header, or IPv6 fixed header plus extension headers */
	uint8_t vlans;          /* tags before the L3 header: 0, 1 or 2 */
	uint8_t flags;          /* NV_META_* */
	uint16_t reserved;
};
#define NV_META_TRUNCATED 1u      /* the frame holds fewer bytes than the IP header says */
#define NV_META_FRAGMENT 2u       /* an IPv4 fragment, or an IPv6 fragment header */
#define NV_META_FIRST_FRAGMENT 4u /* offset 0 (so also every packet that is not a fragment) */

/* An SPSC ring: free-running u32 indices on their own cache lines, then a
 * power-of-two array of descriptors. */
#define NV_RING_HDR 128u
struct nv_ring {
	uint32_t head; /* written by the producer only */
	uint8_t pad0[60];
	uint32_t tail; /* written by the consumer only */
	uint8_t pad1[60];
	struct nv_desc d[];
};

struct nv_port_stats {
	uint64_t rx;          /* packets received from the device */
	uint64_t rx_bytes;
	uint64_t tx;          /* packets the device accepted */
	uint64_t tx_bytes;
	uint64_t tx_full;     /* dropped: device TX queue full */
	uint64_t rx_multiseg; /* dropped: packet spans several mbufs (jumbo) */
	uint64_t rx_ring_full;/* dropped: the worker's ring had no room */
	/* Frames the device dropped before netvm saw them (not in rx), from rte_eth_stats: */
	uint64_t rx_nombuf;   /* no free mbuf in the pool */
	uint64_t rx_missed;   /* its RX queue was full (imissed) */
	/* Not a drop: how long (us) the port was read for less than a burst, or
	 * not at all, because its chain's ring had no more room; the device kept the rest. */
	uint64_t rx_held_us;
	/* Not a drop: how often the idle poll lcore, asleep on RX interrupts, was woken by this port's. */
	uint64_t rx_intr_wakes;
};

struct nv_lane_stats {
	uint64_t in;        /* descriptors handed to the worker */
	uint64_t returned;  /* descriptors the worker gave back */
	uint64_t dropped;   /* of those, mbufs freed on a drop verdict */
	uint64_t bad_desc;  /* of those, descriptors that made no sense (a host bug) */
};

struct nv_pool_info {
	uint64_t len;         /* bytes of the pool file, a whole number of pages */
	uint64_t page_size;
	uint32_t n_mbufs;
	uint32_t elt_size;    /* bytes per buffer (slot) */
	uint32_t headroom;
	uint32_t data_room;   /* bytes usable for packet data after headroom */
	uint32_t hugepages;   /* 1 if the pool sits on 2 MiB pages */
	uint32_t iova;        /* how a device's DMA reaches its buffers: NV_IOVA_* */
};

/* The pool's I/O addresses (struct nv_pool_info.iova), as EAL's IOVA mode has them. */
#define NV_IOVA_NONE 0u /* none: no device may DMA into it (RTE_BAD_IOVA) */
#define NV_IOVA_PA 1u   /* each 2 MiB page's physical address; no buffer spans two pages */
#define NV_IOVA_VA 2u   /* the virtual address (vfio with an IOMMU maps it) */

const char *nv_last_error(void);

int nv_eal_init(int argc, const char **argv);
int nv_eal_cleanup(void);
const char *nv_eal_runtime_dir(void);

int nv_pool_create(uint32_t n_mbufs, int want_huge, struct nv_pool_info *info);
/* A pool without DPDK (offline runs, the bench's NF path): on 2 MiB pages if want_huge and some are free. */
int nv_pool_create_plain(uint32_t n_slots, int want_huge, struct nv_pool_info *info);
int nv_pool_destroy(void);
/* Where a slot's buffer is for the CPU and for a device: 0, or -1 when the slot holds no mbuf. */
int nv_pool_slot_io(uint32_t slot, uintptr_t *addr, uint64_t *iova);
/* Offsets from the pool's start of the slots for messages (NV_MESSAGE_SLOTS of them, fewer
 * only if max is): slots that hold no mbuf, wholly inside the pool. Returns how many. */
uint32_t nv_pool_message_slots(uint32_t *out, uint32_t max);
int nv_pool_map(void *addr);
uint32_t nv_pool_available(void);
int nv_advise_hugepages(void *addr, uint64_t len);
int nv_discard(void *addr, uint64_t len); /* private pages read as zeros again (an NF memory reused) */
int64_t nv_scrub(void *addr, uint64_t len, uint64_t max_zero); /* the same, resident pages zeroed in place; in steps: bytes done */

int nv_port_add(const char *devargs, uint16_t n_rxd, uint16_t n_txd);
int nv_port_stats(uint16_t port, struct nv_port_stats *out);
int nv_port_rx_queues(uint16_t port);

/* A worker's doorbell, two words in a SharedArrayBuffer (native-dpdk/idle.c):
 * the worker sleeps on seq while sleeping is 1; a ring bumps seq and wakes it. */
struct nv_doorbell {
	uint32_t seq;
	uint32_t sleeping;
};

/* Lanes may be added and retired while the poll loop runs. bell: the doorbell of
 * the worker that runs the lane, rung when the lane is handed packets (NULL:
 * its worker never sleeps). */
int nv_lane_add(void *rx_ring, void *ret_ring, uint32_t size, struct nv_doorbell *bell);
int nv_lane_retire(uint16_t lane); /* drained, and no port steers to it */
int nv_route_port(uint16_t port, uint16_t lane); /* every packet of the port to one lane */
int nv_unroute_port(uint16_t port);              /* the port is not read any more */
/* Per bucket of a symmetric flow hash, the lane (table: NV_STEER_BUCKETS entries). */
int nv_steer_port(uint16_t port, const uint16_t *table);
int nv_poll_sync(void); /* returns once the poll loop no longer steers by an older table */
int nv_lane_stats(uint16_t lane, struct nv_lane_stats *out);

int nv_chain_init(uint16_t id, void *rx_ring, void *ret_ring, uint32_t ring_size, void *counters,
		  uint16_t to_port, const uint16_t *port_ids, uint16_t n_ports);
uint32_t nv_private_area_bytes(void);
/* clock: where the NF reads the time (its netvm_clock), or NULL. */
int nv_chain_add_nf(uint16_t id, void *records, uint32_t record_bytes, int reads_meta, uint32_t max_burst,
		    void *private_area, void *clock);
int nv_chain_set_nf(uint16_t id, uint16_t k, void *records, uint32_t record_bytes, int reads_meta, uint32_t max_burst,
		    void *private_area, void *clock);
uint32_t nv_chain_abort(uint16_t id); /* after its worker is gone: drops the burst under way */
uint32_t nv_chain_discard(uint16_t id); /* then, its worker gone for good: drops what waits; returns how many are not back yet */
/* The time NFs read at each later burst's start (an offline run's clock); 0: the host's monotonic clock again. */
int nv_chain_set_clock(uint16_t id, uint64_t now_ns);
int nv_chain_running(uint16_t id);    /* position of the NF holding the burst or ticking, or -1 */
int nv_chain_ticking(uint16_t id, int k); /* the NF at position k ticks now (-1: none) */
uint32_t nv_chain_begin(uint16_t id);
/* The chain's parse of a packet for ABI v2 NFs (parse.c). */
void nv_parse(const uint8_t *pkt, uint32_t len, struct nv_meta *m);
/* What became of NF k's batch: it ran; it trapped (its packets are dropped);
 * or it was not called because it failed, and its chain drops its packets
 * (fail closed) or passes them on unchanged (fail open). */
enum nv_nf_status { NV_NF_RAN = 0, NV_NF_TRAPPED = 1, NV_NF_FAILED_CLOSED = 2, NV_NF_FAILED_OPEN = 3 };
uint32_t nv_chain_after(uint16_t id, uint16_t k, int status); /* (next position << 16) | count */

/* Latency histogram: NV_LAT_SUB buckets per power of two of TSC cycles. */
#define NV_LAT_SUB_BITS 4
#define NV_LAT_SUB (1u << NV_LAT_SUB_BITS)
#define NV_LAT_BUCKETS (NV_LAT_SUB * 44u) /* up to 2^47 cycles */
int nv_latency_enable(void); /* after the pool, before the poll loop */
uint32_t nv_latency_histogram(uint64_t *out, uint32_t n); /* copies n buckets; returns how many there are */
uint64_t nv_latency_bucket_low(uint32_t i);
void nv_turn_mark(uint64_t *gaps); /* a worker's turn: its gap since the last into gaps[NV_LAT_BUCKETS + 1] */
uint64_t nv_tsc_hz(void);
/* Before the poll loop: packets arrive at every input port together at pps, and up to backlog of
 * them wait for the poll lcore (a NIC's RX ring); latency counts from each one's arrival. */
int nv_pace_rx(double pps, uint32_t backlog);
int nv_rx_flows(uint32_t n); /* before the poll loop: received IPv4 sources cycle through n flows */

/* Capture (capture.c): a ring per capture point, in memory the main thread
 * allocates and drains; its indices on cache lines of their own, then slots of
 * slot_bytes each (NV_CAPTURE_SLOT_HDR + the snaplen, rounded up to 8). */
struct nv_capture_ring {
	uint32_t head; /* the hop's thread */
	uint32_t pad0[15];
	uint32_t tail; /* the main thread */
	uint32_t pad1[15];
	uint32_t mask;       /* slots - 1, set at attach */
	uint32_t slot_bytes; /* set at attach */
	uint32_t pad2[14];
	uint8_t slots[];
};
#define NV_CAPTURE_SLOT_HDR 16u
struct nv_capture_slot {
	uint64_t ts_ns;    /* CLOCK_REALTIME of the burst */
	uint32_t orig_len; /* the packet's length */
	uint32_t cap_len;  /* bytes in data: at most the snaplen */
	uint8_t data[];
};
/* Hops: a port's RX (a = port id), its TX (a = port id), or the link after the
 * NF at chain position b on lane a. */
enum { NV_CAPTURE_RX = 0, NV_CAPTURE_TX = 1, NV_CAPTURE_LINK = 2 };
int nv_capture_attach(int kind, uint16_t a, uint16_t b, void *ring, uint32_t ring_bytes, uint32_t snaplen, const char *filter);
int64_t nv_capture_detach(int kind, uint16_t a, uint16_t b);
int nv_capture_release(int id);
uint64_t nv_capture_missed(int id);

/* vm NFs (vm.c, layout in netvm_vm.h): the region a guest shares, and a burst's round trip. */
enum nv_vm_run_status { NV_VM_RAN = 0, NV_VM_DOWN = 1 };
void *nv_vm_map(const char *path);
int nv_vm_unmap(uintptr_t base);
int nv_vm_reset(uintptr_t base, const char *config, uint32_t len);
uint32_t nv_vm_guest_state(uintptr_t base);
uint32_t nv_vm_boots(uintptr_t base);
const char *nv_vm_error(uintptr_t base);
int nv_vm_run(uintptr_t base, uint32_t count, uint64_t timeout_ns);
/* Hands the guest the message of len bytes at NV_VM_MESSAGE_OFF (from: the sender's chain
 * position, -1 for the operator) and waits as for a burst: an enum nv_vm_run_status, or -1. */
int nv_vm_message(uintptr_t base, uint32_t len, int32_t from, uint64_t timeout_ns);

int nv_poll_start(unsigned int lcore);
int nv_poll_drain(void);
uint64_t nv_poll_in_flight(void);
/* Packets received on every port so far (NetVM's own counters, no device call): cheap enough for
 * the main thread to look at often on a CPU it shares with a worker. */
uint64_t nv_ports_rx(void);
/* Adaptive polling (idle.c): the poll lcore's longest nap once idle; 0: busy polling. */
int nv_poll_idle(uint32_t max_nap_us);
int nv_doorbell_ring(struct nv_doorbell *bell);
/* Sleeps until the doorbell's seq is no longer seen, or timeout_us. */
int nv_worker_sleep(struct nv_doorbell *bell, uint32_t seen, uint32_t timeout_us);
int nv_poll_stop(void);
int nv_stop(void);
int nv_shutdown(void);

#endif
