/* The packet pool: one memfd, on 2 MiB pages when the machine has them, that
 * DPDK uses as external memory for packet data (the extbuf route: mbuf headers,
 * which hold host pointers, stay in DPDK's private memory). The same fd is
 * mapped into every NF's WebAssembly memory by nv_pool_map().
 *
 * Its pages are registered with their I/O addresses, as EAL's IOVA mode says
 * a device reaches memory: in VA mode the virtual address (under vfio with an
 * IOMMU); in PA mode each 2 MiB page's physical address, read from
 * /proc/self/pagemap (root only), and then no buffer may span two pages,
 * which need not be contiguous in physical memory: the buffers are laid out
 * in one zone per page, and the slots that would cross a page's end hold no
 * mbuf. On 4 KiB pages in PA mode, or without the physical addresses, the
 * pool has none (NV_IOVA_NONE): virtual devices need none. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* rte_pktmbuf_pool_create_extbuf is still "experimental" in DPDK 22.11. */
#define ALLOW_EXPERIMENTAL_API
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include "internal.h"

#define HUGE_PAGE (2u << 20)
#define MEMPOOL_CACHE 256u

struct nv_pool nv_pool = { .fd = -1 };

static uint64_t round_up(uint64_t n, uint64_t to)
{
	return (n + to - 1) / to * to;
}

/* Opens and maps the pool file; 0, or -errno when these pages cannot be had. */
static int map_pool_file(uint64_t len, int huge)
{
	int fd = memfd_create("netvm-pool", MFD_CLOEXEC | (huge ? MFD_HUGETLB : 0));
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	void *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (base == MAP_FAILED) {
		int err = -errno;
		close(fd);
		return err;
	}
	nv_pool.fd = fd;
	nv_pool.base = base;
	return 0;
}

/* Buffers wholly inside pages [0, pages) when none may cross a page's end. */
static uint64_t buffers_within_pages(uint64_t pages, uint64_t page, uint32_t elt)
{
	uint64_t n = 0;
	for (uint64_t j = 0; j < pages; j++)
		n += (j + 1) * page / elt - (j * page + elt - 1) / elt;
	return n;
}

/* The I/O address of each of the pool's n pages, by EAL's IOVA mode: the kind
 * found (NV_IOVA_*), with iovas filled unless it is NV_IOVA_NONE. */
static uint32_t page_iovas(rte_iova_t *iovas, uint64_t n, uint64_t page)
{
	if (rte_eal_iova_mode() == RTE_IOVA_VA) {
		for (uint64_t j = 0; j < n; j++)
			iovas[j] = (rte_iova_t)(uintptr_t)(nv_pool.base + j * page);
		return NV_IOVA_VA;
	}
	if (page != HUGE_PAGE)
		return NV_IOVA_NONE;
	for (uint64_t j = 0; j < n; j++) {
		iovas[j] = rte_mem_virt2phy(nv_pool.base + j * page); /* MAP_POPULATE: the page is there */
		if (iovas[j] == RTE_BAD_IOVA)
			return NV_IOVA_NONE;
	}
	return NV_IOVA_PA;
}

/* The buffers' areas, into zones (room for one per page): the whole pool as
 * one, or one per page in PA mode (the buffers wholly inside it, each area's
 * I/O address that of its first byte). Returns how many. */
static unsigned int lay_out_zones(struct rte_pktmbuf_extmem *zones, const rte_iova_t *iovas, uint64_t n_pages,
				  uint64_t page, uint32_t elt)
{
	uint64_t len = nv_pool.info.len;
	if (nv_pool.info.iova != NV_IOVA_PA) {
		zones[0] = (struct rte_pktmbuf_extmem){
			.buf_ptr = nv_pool.base, .buf_len = len / elt * elt, .elt_size = elt,
			.buf_iova = nv_pool.info.iova == NV_IOVA_VA ? iovas[0] : RTE_BAD_IOVA,
		};
		return 1;
	}
	unsigned int n = 0;
	for (uint64_t j = 0; j < n_pages; j++) {
		uint64_t start = (j * page + elt - 1) / elt * elt, end = (j + 1) * page / elt * elt;
		if (end > start)
			zones[n++] = (struct rte_pktmbuf_extmem){
				.buf_ptr = nv_pool.base + start, .buf_iova = iovas[j] + (start - j * page),
				.buf_len = end - start, .elt_size = elt,
			};
	}
	return n;
}

static void index_slot(struct rte_mempool *mp, void *opaque, void *obj, unsigned int idx)
{
	struct rte_mbuf *m = obj;
	uint32_t slot = (uint32_t)(((uint8_t *)m->buf_addr - nv_pool.base) / nv_pool.info.elt_size);

	(void)mp;
	(void)opaque;
	(void)idx;
	if (slot < nv_pool.n_slots)
		nv_pool.slots[slot] = m;
}

int nv_pool_create(uint32_t n_mbufs, int want_huge, struct nv_pool_info *info)
{
	const uint32_t elt = NV_POOL_ELT_SIZE;
	uint64_t page = want_huge ? HUGE_PAGE : (uint64_t)sysconf(_SC_PAGESIZE);
	/* Room for the message slots too: the mempool takes the first n_mbufs buffers of its zones. */
	uint64_t len = round_up((uint64_t)(n_mbufs + NV_MESSAGE_SLOTS) * elt, page);
	int ret;

	if (nv_pool.mp != NULL)
		return nv_fail(EEXIST, "the pool exists already");
	if (n_mbufs < 64)
		return nv_fail(EINVAL, "pool: %u mbufs is too few (at least 64)", n_mbufs);
	/* In PA mode no buffer crosses a page's end: a page holds a few less. */
	if (want_huge && rte_eal_iova_mode() == RTE_IOVA_PA)
		while (buffers_within_pages(len / page, page, elt) < n_mbufs + NV_MESSAGE_SLOTS)
			len += page;
	ret = map_pool_file(len, want_huge);
	if (ret < 0)
		return nv_fail(ret, "pool: cannot map %lu bytes on %s pages: %s", (unsigned long)len,
			       want_huge ? "2 MiB" : "4 KiB", strerror(-ret));

	nv_pool.info = (struct nv_pool_info){
		.len = len, .page_size = page, .n_mbufs = n_mbufs, .elt_size = elt,
		.headroom = RTE_PKTMBUF_HEADROOM, .data_room = NV_POOL_DATA_ROOM, .hugepages = want_huge != 0,
	};
	/* The page addresses go to EAL, the zones to the mempool's creation: neither is kept after. */
	uint64_t n_pages = len / page;
	rte_iova_t *iovas = calloc(n_pages, sizeof(*iovas));
	struct rte_pktmbuf_extmem *zones = calloc(n_pages, sizeof(*zones));
	if (iovas == NULL || zones == NULL) {
		free(iovas);
		free(zones);
		return nv_fail(ENOMEM, "pool: no memory for %lu page addresses", (unsigned long)n_pages);
	}
	nv_pool.info.iova = page_iovas(iovas, n_pages, page);
	unsigned int n_zones = lay_out_zones(zones, iovas, n_pages, page, elt);
	bool known = nv_pool.info.iova != NV_IOVA_NONE;
	ret = rte_extmem_register(nv_pool.base, len, known ? iovas : NULL, known ? (unsigned int)n_pages : 0, page);
	free(iovas);
	if (ret < 0) {
		free(zones);
		return nv_fail(rte_errno, "pool: rte_extmem_register: %s", rte_strerror(rte_errno));
	}

	nv_pool.n_slots = (uint32_t)(len / elt);
	nv_pool.slots = rte_zmalloc("netvm_slots", nv_pool.n_slots * sizeof(*nv_pool.slots), 0);
	if (nv_pool.slots == NULL) {
		free(zones);
		return nv_fail(ENOMEM, "pool: cannot allocate the slot table");
	}
	nv_log_capture_begin();
	nv_pool.mp = rte_pktmbuf_pool_create_extbuf("netvm_pool", n_mbufs, MEMPOOL_CACHE, 0,
						    (uint16_t)elt, SOCKET_ID_ANY, zones, n_zones);
	const char *log = nv_log_capture_end();
	free(zones);
	if (nv_pool.mp == NULL)
		return nv_fail(rte_errno, "pool: rte_pktmbuf_pool_create_extbuf: %s %s",
			       rte_strerror(rte_errno), log);
	rte_mempool_obj_iter(nv_pool.mp, index_slot, NULL);
	*info = nv_pool.info;
	return 0;
}

int nv_pool_slot_io(uint32_t slot, uintptr_t *addr, uint64_t *iova)
{
	if (slot >= nv_pool.n_slots || nv_pool.slots == NULL || nv_pool.slots[slot] == NULL)
		return -1;
	*addr = (uintptr_t)nv_pool.slots[slot]->buf_addr;
	*iova = nv_pool.slots[slot]->buf_iova;
	return 0;
}

uint32_t nv_pool_message_slots(uint32_t *out, uint32_t max)
{
	const uint32_t elt = nv_pool.info.elt_size, whole = (uint32_t)(nv_pool.info.len / elt);
	uint32_t n = 0;
	if (max > NV_MESSAGE_SLOTS)
		max = NV_MESSAGE_SLOTS;
	/* An offline pool's packets take its first n_slots slots; the data plane's, those holding mbufs. */
	for (uint32_t s = nv_pool.slots == NULL ? nv_pool.n_slots : 0; s < whole && n < max; s++)
		if (nv_pool.slots == NULL || s >= nv_pool.n_slots || nv_pool.slots[s] == NULL)
			out[n++] = s * elt;
	return n;
}

/* A pool without DPDK, for running NFs over packets offline (netvm nf test):
 * the same memfd and mapping as the data plane's, on 4 KiB pages, with
 * n_slots buffers of NV_POOL_ELT_SIZE bytes (and the message slots after
 * them) and no mempool. */
int nv_pool_create_plain(uint32_t n_slots, int want_huge, struct nv_pool_info *info)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	int huge = 0;
	int ret = -ENOMEM;

	if (nv_pool.fd >= 0)
		return nv_fail(EEXIST, "the pool exists already");
	/* 2 MiB pages when asked for and free, as the data plane's pool has them; else 4 KiB. */
	const uint64_t bytes = (uint64_t)(n_slots + NV_MESSAGE_SLOTS) * NV_POOL_ELT_SIZE;
	if (want_huge && (ret = map_pool_file(round_up(bytes, HUGE_PAGE), 1)) == 0) {
		page = HUGE_PAGE;
		huge = 1;
	}
	uint64_t len = round_up(bytes, page);
	if (!huge)
		ret = map_pool_file(len, 0);
	if (ret < 0)
		return nv_fail(ret, "pool: cannot map %lu bytes: %s", (unsigned long)len, strerror(-ret));
	nv_pool.n_slots = n_slots;
	nv_pool.info = (struct nv_pool_info){
		.len = len, .page_size = page, .n_mbufs = n_slots, .elt_size = NV_POOL_ELT_SIZE,
		.headroom = RTE_PKTMBUF_HEADROOM, .data_room = NV_POOL_DATA_ROOM, .hugepages = (uint32_t)huge,
	};
	*info = nv_pool.info;
	return 0;
}

/* Frees the pool: the data plane's after nv_stop, or a plain one. */
int nv_pool_destroy(void)
{
	nv_pool_free();
	return 0;
}

/* Maps the pool at addr, which must be page-aligned for the pool's page size
 * and lie inside memory the caller owns (a WebAssembly memory's buffer).
 * Not populated: the pages are the pool's, already in memory, and each is
 * mapped on first touch (a few microseconds, once per 2 MiB page), which
 * keeps a hot-swap's new instance from stalling its worker for milliseconds. */
int nv_pool_map(void *addr)
{
	if (nv_pool.fd < 0)
		return nv_fail(ENOENT, "pool: not created");
	if ((uintptr_t)addr % nv_pool.info.page_size != 0)
		return nv_fail(EINVAL, "pool: window address %p is not aligned to %lu bytes", addr,
			       (unsigned long)nv_pool.info.page_size);
	void *p = mmap(addr, nv_pool.info.len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED, nv_pool.fd, 0);
	if (p == MAP_FAILED)
		return nv_fail(errno, "pool: cannot map the window at %p: %s", addr, strerror(errno));
	return 0;
}

uint32_t nv_pool_available(void)
{
	return nv_pool.mp == NULL ? 0 : rte_mempool_avail_count(nv_pool.mp);
}

void nv_pool_free(void)
{
	if (nv_pool.mp != NULL) {
		rte_mempool_free(nv_pool.mp);
		nv_pool.mp = NULL;
		rte_extmem_unregister(nv_pool.base, nv_pool.info.len);
	}
	rte_free(nv_pool.slots);
	nv_pool.slots = NULL;
	if (nv_pool.base != NULL)
		munmap(nv_pool.base, nv_pool.info.len);
	nv_pool.base = NULL;
	if (nv_pool.fd >= 0)
		close(nv_pool.fd);
	nv_pool.fd = -1;
}
