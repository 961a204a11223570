/* Forced into the skeleton example's build (bench/skeleton.ts) for the
 * skeleton-extbuf points: the example's mbuf pool becomes one of pinned
 * external buffers, the kind NetVM's pool is (native-dpdk/pool.c: packet bytes
 * apart from the mbufs, so that a sandbox sees only them), with the same
 * count, cache and data room; the example's source is untouched. What the
 * PMDs' RX and TX cost on such mbufs, against the plain skeleton's. */
#include <rte_mbuf.h>
#include <rte_memzone.h>

static inline struct rte_mempool *extbuf_pool_create(const char *name, unsigned int n, unsigned int cache_size, uint16_t priv_size,
						     uint16_t data_room_size, int socket_id)
{
	const struct rte_memzone *mz = rte_memzone_reserve_aligned("extbuf", (size_t)n * data_room_size, socket_id, 0, RTE_CACHE_LINE_SIZE);
	if (mz == NULL)
		return NULL;
	/* No IOVA: the points run on net_null, which no device reads by DMA. */
	struct rte_pktmbuf_extmem ext = { .buf_ptr = mz->addr, .buf_iova = RTE_BAD_IOVA, .buf_len = mz->len, .elt_size = data_room_size };
	return rte_pktmbuf_pool_create_extbuf(name, n, cache_size, priv_size, data_room_size, socket_id, &ext, 1);
}

#define rte_pktmbuf_pool_create extbuf_pool_create
