/* Ports from DPDK devargs strings ("net_pcap0,rx_pcap=in.pcap", "0000:01:00.0"):
 * probe, RX queues on the pool and one TX queue, start.
 *
 * A port gets several RX queues where its device spreads flows over them by a
 * symmetric hash, so that the poll loop can steer a chain's replicas by queue
 * (the NIC's RSS) instead of hashing each packet: a PCI NIC with RSS, given a
 * symmetric Toeplitz key, and net_af_packet with qpairs=N (the kernel's
 * PACKET_FANOUT_HASH, whose flow hash is symmetric). Every other port has one. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* rte_dev_dma_map is still "experimental" in DPDK 22.11. */
#define ALLOW_EXPERIMENTAL_API
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include <rte_bus.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_log.h>

#include "internal.h"

uint16_t nv_port_ids[NV_MAX_PORTS];
struct rte_mempool *nv_port_staging[RTE_MAX_ETHPORTS];
uint16_t nv_n_ports;
uint16_t nv_port_rxq[RTE_MAX_ETHPORTS];
uint8_t nv_port_rx_intr[RTE_MAX_ETHPORTS];
struct nv_port_stats nv_port_counters[RTE_MAX_ETHPORTS];
/* The PCI devices the pool is mapped for (IOVA as VA), unmapped at close. */
static struct rte_device *dma_mapped[RTE_MAX_ETHPORTS];

/* libbpf and libxdp, which net_af_xdp uses, print to stderr by default: what
 * they say goes to DPDK's log instead, which nv_port_add captures while it
 * probes and starts a port, so that it is part of the port's error if the
 * port fails, and says nothing if it starts. */
static int kernel_logtype = -1;

static int kernel_log(const char *format, va_list args)
{
	return rte_vlog(RTE_LOG_INFO, kernel_logtype, format, args);
}

static int libbpf_log(enum libbpf_print_level level, const char *format, va_list args)
{
	return level == LIBBPF_DEBUG ? 0 : kernel_log(format, args);
}

static int libxdp_log(enum libxdp_print_level level, const char *format, va_list args)
{
	return level == LIBXDP_DEBUG ? 0 : kernel_log(format, args);
}

static void route_kernel_logs(void)
{
	if (kernel_logtype >= 0)
		return;
	kernel_logtype = rte_log_register_type_and_pick_level("netvm.xdp", RTE_LOG_INFO);
	libbpf_set_print(libbpf_log);
	libxdp_set_print(libxdp_log);
}

/* Whether the device is a PCI one (a NIC driven by DPDK's own driver). */
static bool on_pci_bus(const struct rte_device *dev)
{
	const struct rte_bus *bus = dev != NULL ? rte_dev_bus(dev) : NULL;
	return bus != NULL && strcmp(rte_bus_name(bus), "pci") == 0;
}

/* The RSS key that makes Toeplitz symmetric: the same hash both ways of a flow. */
static uint8_t symmetric_key[52];

/* RX queues for the port, and its RSS settings when a NIC hashes for it. */
static uint16_t rx_queues(uint16_t port, struct rte_eth_conf *conf)
{
	struct rte_eth_dev_info info;
	if (rte_eth_dev_info_get(port, &info) != 0 || info.max_rx_queues < 2)
		return 1;
	uint16_t max = RTE_MIN(info.max_rx_queues, NV_MAX_RX_QUEUES);
	if (strcmp(info.driver_name, "net_af_packet") == 0)
		return max;
	uint64_t hf = info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
	if (hf == 0 || !on_pci_bus(info.device) ||
	    info.hash_key_size == 0 || info.hash_key_size > sizeof(symmetric_key))
		return 1;
	for (unsigned int i = 0; i < sizeof(symmetric_key); i += 2) {
		symmetric_key[i] = 0x6d;
		symmetric_key[i + 1] = 0x5a;
	}
	conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	conf->rx_adv_conf.rss_conf = (struct rte_eth_rss_conf){ .rss_key = symmetric_key, .rss_key_len = info.hash_key_size, .rss_hf = hf };
	return max;
}

/* How an idle poll lcore could sleep on the device's RX queues (idle.c): on
 * net_tap's queue file descriptors, or on a PCI NIC's interrupts (which DPDK
 * has only under vfio: a NIC under uio refuses them and starts without, as
 * does any device that refuses). Other virtual devices have none. */
static enum nv_rx_intr rx_interrupts_to_try(uint16_t port)
{
	struct rte_eth_dev_info info;
	if (rte_eth_dev_info_get(port, &info) != 0)
		return NV_RX_INTR_NONE;
	if (strcmp(info.driver_name, "net_tap") == 0)
		return NV_RX_INTR_LEVEL;
	return on_pci_bus(info.device) ? NV_RX_INTR_EVENTFD : NV_RX_INTR_NONE;
}

/* Devices that cannot receive into the pool: net_af_xdp registers its RX
 * mempool's memory with the kernel as the socket's UMEM, and the kernel writes
 * each frame right after an mbuf's header, where the pool's mbufs (whose
 * bytes are elsewhere, in the pool) have none. Such a port receives into a
 * mempool of its own in DPDK's memory, and the poll loop copies each frame
 * into the pool (poll.c: unstage). Its TX needs nothing: the driver copies
 * what it sends into its UMEM. */
static bool receives_in_own_buffers(uint16_t port)
{
	struct rte_eth_dev_info info;
	return rte_eth_dev_info_get(port, &info) == 0 && strcmp(info.driver_name, "net_af_xdp") == 0;
}

/* The mempool a port receives into: the pool, or a staging mempool of its own. */
static struct rte_mempool *rx_mempool(uint16_t port, uint16_t nq, uint16_t n_rxd)
{
	if (!receives_in_own_buffers(port))
		return nv_pool.mp;
	if (nv_port_staging[port] == NULL) {
		char name[RTE_MEMPOOL_NAMESIZE];
		snprintf(name, sizeof(name), "netvm_stage%u", port);
		/* The kernel's fill ring holds n_rxd a queue; the rest covers a burst under way. */
		nv_port_staging[port] = rte_pktmbuf_pool_create(name, (unsigned int)nq * n_rxd * 2u + 512u, 256, 0,
								RTE_MBUF_DEFAULT_BUF_SIZE, rte_eth_dev_socket_id(port));
	}
	return nv_port_staging[port];
}

static int port_start(uint16_t port, uint16_t n_rxd, uint16_t n_txd, bool rx_intr)
{
	struct rte_eth_conf conf;
	int ret;

	memset(&conf, 0, sizeof(conf));
	conf.intr_conf.rxq = rx_intr;
	uint16_t nq = rx_queues(port, &conf);
	ret = rte_eth_dev_configure(port, nq, 1, &conf);
	if (ret < 0)
		return nv_fail(ret, "configure: %s", strerror(-ret));
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(port, &n_rxd, &n_txd);
	if (ret < 0)
		return nv_fail(ret, "descriptor counts: %s", strerror(-ret));
	struct rte_mempool *mp = rx_mempool(port, nq, n_rxd);
	if (mp == NULL)
		return nv_fail(rte_errno, "staging mempool: %s", rte_strerror(rte_errno));
	for (uint16_t q = 0; q < nq; q++) {
		ret = rte_eth_rx_queue_setup(port, q, n_rxd, rte_eth_dev_socket_id(port), NULL, mp);
		if (ret < 0)
			return nv_fail(ret, "RX queue %u: %s", q, strerror(-ret));
	}
	nv_port_rxq[port] = nq;
	/* net_af_packet logs each VLAN tag it fails to put back (it cannot, on the
	 * pool's external buffers): the poll loop puts them back instead. */
	struct rte_eth_dev_info info;
	if (rte_eth_dev_info_get(port, &info) == 0 && strcmp(info.driver_name, "net_af_packet") == 0)
		rte_log_set_level_pattern("pmd.net.af_packet*", RTE_LOG_CRIT);
	ret = rte_eth_tx_queue_setup(port, 0, n_txd, rte_eth_dev_socket_id(port), NULL);
	if (ret < 0)
		return nv_fail(ret, "TX queue: %s", strerror(-ret));
	ret = rte_eth_dev_start(port);
	if (ret < 0)
		return nv_fail(ret, "start: %s", strerror(-ret));
	/* Not every device can be promiscuous (net_pcap can't): that is no error. */
	rte_eth_promiscuous_enable(port);
	return 0;
}

/* Returns the DPDK port id of the new port; an error does not repeat the devargs (the caller names the port). */
/* A PCI NIC writes the frames it receives by DMA to its buffers' I/O
 * addresses: the pool must have them (pool.c), and where they are virtual
 * addresses (vfio with an IOMMU) the IOMMU must map the pool for the device.
 * Devices of other buses (virtual ones) need neither. */
static int let_device_reach_pool(uint16_t port, struct rte_device *dev)
{
	if (!on_pci_bus(dev))
		return 0;
	if (nv_pool.info.iova == NV_IOVA_NONE) {
		if (!nv_pool.info.hugepages)
			return nv_fail(ENOTSUP, "%s is a PCI device, whose DMA needs the pool's I/O addresses, and the pool has none: "
				       "it is on 4 KiB pages, and in IOVA-as-PA mode (uio_pci_generic, or vfio without an IOMMU) "
				       "only 2 MiB pages have known physical addresses: reserve hugepages (pool.hugepages: on), "
				       "or bind the NIC to vfio-pci with the IOMMU on", rte_dev_name(dev));
		return nv_fail(ENOTSUP, "%s is a PCI device, whose DMA needs the pool's I/O addresses, and the pool has none: "
			       "the physical addresses of its pages could not be read from /proc/self/pagemap (run as root)",
			       rte_dev_name(dev));
	}
	if (nv_pool.info.iova == NV_IOVA_VA) {
		if (rte_dev_dma_map(dev, nv_pool.base, (uint64_t)(uintptr_t)nv_pool.base, nv_pool.info.len) != 0)
			return nv_fail(rte_errno, "%s: cannot map the pool for its DMA: %s", rte_dev_name(dev), rte_strerror(rte_errno));
		dma_mapped[port] = dev;
	}
	return 0;
}

int nv_port_add(const char *devargs, uint16_t n_rxd, uint16_t n_txd)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	uint16_t port;
	int ret;

	if (nv_pool.mp == NULL)
		return nv_fail(ENOENT, "create the pool first");
	if (nv_n_ports == NV_MAX_PORTS)
		return nv_fail(ENOSPC, "at most %d ports", NV_MAX_PORTS);
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(devargs, ","), devargs);
	route_kernel_logs();

	nv_log_capture_begin();
	ret = rte_dev_probe(devargs);
	const char *log = nv_log_capture_end();
	if (ret < 0)
		return nv_fail(ret, "probe failed%s%s", *log ? ": " : "", log);
	if (rte_eth_dev_get_port_by_name(name, &port) != 0)
		return nv_fail(ENODEV, "probed, but no ethdev is named %s", name);
	struct rte_eth_dev_info info;
	if (rte_eth_dev_info_get(port, &info) != 0)
		return nv_fail(ENODEV, "probed, but %s gives no device info", name);
	ret = let_device_reach_pool(port, info.device);
	if (ret < 0) {
		rte_dev_remove(info.device); /* as it was before the probe */
		return ret;
	}
	nv_port_ids[nv_n_ports++] = port;

	nv_log_capture_begin();
	enum nv_rx_intr rx_intr = rx_interrupts_to_try(port);
	ret = port_start(port, n_rxd, n_txd, rx_intr != NV_RX_INTR_NONE);
	if (ret < 0 && rx_intr != NV_RX_INTR_NONE) {
		rte_eth_dev_stop(port);
		rx_intr = NV_RX_INTR_NONE;
		ret = port_start(port, n_rxd, n_txd, false);
	}
	nv_port_rx_intr[port] = ret == 0 ? rx_intr : NV_RX_INTR_NONE;
	log = nv_log_capture_end();
	if (ret < 0)
		return nv_fail(ret, "%s%s%s", nv_last_error(), *log ? ": " : "", log);
	return port;
}

/* How many RX queues the port has (several: its device spreads flows over them by a symmetric hash). */
int nv_port_rx_queues(uint16_t port)
{
	if (port >= RTE_MAX_ETHPORTS || nv_port_rxq[port] == 0)
		return nv_fail(EINVAL, "no port %u", port);
	return nv_port_rxq[port];
}

uint64_t nv_ports_rx(void)
{
	uint64_t n = 0;
	for (uint16_t i = 0; i < nv_n_ports; i++)
		n += __atomic_load_n(&nv_port_counters[nv_port_ids[i]].rx, __ATOMIC_RELAXED);
	return n;
}

int nv_port_stats(uint16_t port, struct nv_port_stats *out)
{
	if (port >= RTE_MAX_ETHPORTS)
		return nv_fail(EINVAL, "no port %u", port);
	const struct nv_port_stats *s = &nv_port_counters[port];
	out->rx = __atomic_load_n(&s->rx, __ATOMIC_RELAXED);
	out->rx_bytes = __atomic_load_n(&s->rx_bytes, __ATOMIC_RELAXED);
	out->tx = __atomic_load_n(&s->tx, __ATOMIC_RELAXED);
	out->tx_bytes = __atomic_load_n(&s->tx_bytes, __ATOMIC_RELAXED);
	out->tx_full = __atomic_load_n(&s->tx_full, __ATOMIC_RELAXED);
	out->rx_multiseg = __atomic_load_n(&s->rx_multiseg, __ATOMIC_RELAXED);
	out->rx_ring_full = __atomic_load_n(&s->rx_ring_full, __ATOMIC_RELAXED);
	out->rx_held_us = (uint64_t)((double)__atomic_load_n(&nv_port_held_cycles[port], __ATOMIC_RELAXED) * 1e6 /
				     (double)rte_get_tsc_hz());
	out->rx_intr_wakes = __atomic_load_n(&s->rx_intr_wakes, __ATOMIC_RELAXED);
	/* The device's own counts, kept from the last reading: a stopped port reads 0.
	 * Called from the main thread only. */
	static struct { uint64_t nombuf, missed; } device_drops[RTE_MAX_ETHPORTS];
	struct rte_eth_stats device;
	if (rte_eth_dev_is_valid_port(port) && rte_eth_stats_get(port, &device) == 0) {
		device_drops[port].nombuf = RTE_MAX(device_drops[port].nombuf, device.rx_nombuf);
		device_drops[port].missed = RTE_MAX(device_drops[port].missed, device.imissed);
	}
	out->rx_nombuf = device_drops[port].nombuf + __atomic_load_n(&nv_port_unstaged_nobuf[port], __ATOMIC_RELAXED);
	out->rx_missed = device_drops[port].missed;
	return 0;
}

/* Stops and closes every port, so that pcap files are flushed and closed and
 * every mbuf a driver held goes back to the pool. What drivers log on the way
 * (net_af_xdp's libxdp on unloading its program) is of no use by then. */
void nv_ports_close(void)
{
	nv_log_capture_begin();
	for (uint16_t i = 0; i < nv_n_ports; i++) {
		uint16_t port = nv_port_ids[i];
		rte_eth_dev_stop(port);
		if (dma_mapped[port] != NULL)
			rte_dev_dma_unmap(dma_mapped[port], nv_pool.base, (uint64_t)(uintptr_t)nv_pool.base, nv_pool.info.len);
		dma_mapped[port] = NULL;
		rte_eth_dev_close(port);
		rte_mempool_free(nv_port_staging[port]);
		nv_port_staging[port] = NULL;
	}
	nv_log_capture_end();
	nv_n_ports = 0;
}
