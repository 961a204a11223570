/* An NF's WebAssembly memory, apart from the pool mapped into it: its heap
 * advised onto transparent hugepages, and, once its instance is gone, scrubbed
 * for the next one. A scrub zeroes the pages the instance wrote and leaves
 * them in place, so that the next instance (a swap's successor) takes no page
 * faults where the last one worked: zeroing a fresh 2 MiB page on first touch
 * cost a swap hundreds of microseconds. The worker scrubs in steps, in turns
 * when its chains have nothing to do. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#define PAGE 4096u
/* mincore()'s view of one step of the walk: 2 MiB, one hugepage. */
#define STEP_PAGES 512u
/* Steps a call walks at most, resident or not (each a mincore and perhaps madvise calls). */
#define MAX_STEPS 8u

/* Asks for transparent hugepages over an NF's heap (the part of its
 * WebAssembly memory above the pool window): its tables are large and read
 * at random, and on 4 KiB pages nearly every lookup is also a TLB miss. The
 * advice holds for the whole reservation, so it covers memory grown later. */
int nv_advise_hugepages(void *addr, uint64_t len)
{
	if (madvise(addr, len, MADV_HUGEPAGE) < 0)
		return nv_fail(errno, "madvise(MADV_HUGEPAGE) at %p: %s", addr, strerror(errno));
	return 0;
}

int nv_discard(void *addr, uint64_t len)
{
	if (madvise(addr, len, MADV_DONTNEED) < 0)
		return nv_fail(errno, "madvise(MADV_DONTNEED) at %p: %s", addr, strerror(errno));
	return 0;
}

/* Pages [from, to) of one step: zeroed where resident, given back where not
 * (a page swapped out is not resident, and still holds what was written). */
static int scrub_run(uint8_t *base, const unsigned char *resident, unsigned from, unsigned to)
{
	if (resident[from] & 1) {
		memset(base + (uint64_t)from * PAGE, 0, (uint64_t)(to - from) * PAGE);
		return 0;
	}
	return nv_discard(base + (uint64_t)from * PAGE, (uint64_t)(to - from) * PAGE);
}

/* Scrubs [addr, addr + len) (page-aligned) from its start until max_zero bytes
 * have been zeroed or MAX_STEPS steps walked: returns how many bytes of it are
 * done (len: all), or -1. */
int64_t nv_scrub(void *addr, uint64_t len, uint64_t max_zero)
{
	uint8_t *p = addr;
	uint64_t done = 0, zeroed = 0;
	unsigned char resident[STEP_PAGES];
	for (unsigned steps = 0; done < len && zeroed < max_zero && steps < MAX_STEPS; steps++) {
		uint64_t step = len - done < (uint64_t)STEP_PAGES * PAGE ? len - done : (uint64_t)STEP_PAGES * PAGE;
		unsigned pages = (unsigned)(step / PAGE);
		if (mincore(p + done, step, resident) < 0)
			return nv_fail(errno, "mincore at %p: %s", (void *)(p + done), strerror(errno));
		unsigned from = 0;
		for (unsigned i = 1; i <= pages; i++) {
			if (i < pages && (resident[i] & 1) == (resident[from] & 1))
				continue;
			if (resident[from] & 1)
				zeroed += (uint64_t)(i - from) * PAGE;
			if (scrub_run(p + done, resident, from, i) < 0)
				return -1;
			from = i;
		}
		done += step;
	}
	return (int64_t)done;
}
