/* The host's side of a vm NF's region (netvm_vm.h): the file QEMU shares with
 * the guest as an ivshmem device, mapped here too; its header laid out before
 * each boot; and a burst's round trip, called by the worker in place of an
 * NF's netvm_process. The chain stages the burst into the region exactly as
 * for an isolated NF (records at NV_VM_RECORDS_OFF, packet copies at
 * NV_VM_AREA_OFF) and copies back what the guest passes on. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "netvm_vm.h"

_Static_assert(NV_VM_SLOT_BYTES == NV_POOL_ELT_SIZE && NV_VM_HEADROOM == RTE_PKTMBUF_HEADROOM &&
		       NV_VM_DATA_ROOM == NV_POOL_DATA_ROOM,
	       "the region's slots are an isolated NF's private area");
_Static_assert(sizeof(struct nv_vm_record) == sizeof(struct nv_desc), "records are descriptors");

/* Spins between two looks at the clock (and a yield: the guest's vCPU may
 * need this CPU) while a burst is in the guest. */
#define SPINS_PER_YIELD 256u

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Creates (or opens) the region file, NV_VM_REGION_BYTES, and maps it shared.
 * Returns its address, NULL on failure (nv_last_error says why). */
void *nv_vm_map(const char *path)
{
	int fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		nv_fail(errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (ftruncate(fd, NV_VM_REGION_BYTES) < 0) {
		nv_fail(errno, "%s: cannot size it to %u bytes: %s", path, NV_VM_REGION_BYTES, strerror(errno));
		close(fd);
		return NULL;
	}
	void *base = mmap(NULL, NV_VM_REGION_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	int err = errno;
	close(fd);
	if (base == MAP_FAILED) {
		nv_fail(err, "%s: mmap: %s", path, strerror(err));
		return NULL;
	}
	return base;
}

int nv_vm_unmap(uintptr_t base)
{
	if (munmap((void *)base, NV_VM_REGION_BYTES) < 0)
		return nv_fail(errno, "munmap of a vm region: %s", strerror(errno));
	return 0;
}

/* Lays out the header for a guest about to boot, with its config. A worker
 * waiting on the old guest sees guest_state leave READY and gives up. */
int nv_vm_reset(uintptr_t base, const char *config, uint32_t len)
{
	struct nv_vm_header *h = (struct nv_vm_header *)base;
	if (len > NV_VM_CONFIG_MAX)
		return nv_fail(E2BIG, "the config (%u bytes) is larger than a guest takes (%u)", len, NV_VM_CONFIG_MAX);
	__atomic_store_n(&h->magic, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&h->guest_state, NV_VM_BOOTING, __ATOMIC_RELEASE);
	memcpy((uint8_t *)base + NV_VM_CONFIG_OFF, config, len);
	memset((uint8_t *)base + NV_VM_ERROR_OFF, 0, NV_VM_ERROR_MAX);
	h->config_len = len;
	h->version = NV_VM_VERSION;
	__atomic_store_n(&h->magic, NV_VM_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

uint32_t nv_vm_guest_state(uintptr_t base)
{
	return __atomic_load_n(&((struct nv_vm_header *)base)->guest_state, __ATOMIC_ACQUIRE);
}

uint32_t nv_vm_boots(uintptr_t base)
{
	return __atomic_load_n(&((struct nv_vm_header *)base)->boots, __ATOMIC_ACQUIRE);
}

/* The reason the guest gave for refusing its config (empty if none). */
const char *nv_vm_error(uintptr_t base)
{
	char *text = (char *)base + NV_VM_ERROR_OFF;
	text[NV_VM_ERROR_MAX - 1] = '\0';
	return text;
}

/* Hands the burst staged in the region (count records) to the guest and waits
 * for its verdicts. Returns NV_VM_RAN, or NV_VM_DOWN without kicking when the
 * guest is not ready or still busy with an older burst, or once it stops
 * being ready, restarts, or takes longer than timeout_ns. */
/* Kicks the guest with a burst of count records, or a message of message_len
 * bytes (count 0), and waits for it to be done. */
static int kick_and_wait(struct nv_vm_header *h, uint32_t count, uint32_t message_len, int32_t from, uint64_t timeout_ns)
{
	uint32_t boots = __atomic_load_n(&h->boots, __ATOMIC_ACQUIRE);
	uint32_t kick = h->kick;
	if (__atomic_load_n(&h->guest_state, __ATOMIC_ACQUIRE) != NV_VM_READY ||
	    __atomic_load_n(&h->done, __ATOMIC_ACQUIRE) != kick)
		return NV_VM_DOWN;
	h->count = count;
	h->message_len = message_len;
	h->message_from = from;
	h->answer_len = 0;
	__atomic_store_n(&h->kick, kick + 1, __ATOMIC_RELEASE);
	uint64_t deadline = 0;
	for (uint32_t spins = 1;; spins++) {
		if (__atomic_load_n(&h->done, __ATOMIC_ACQUIRE) == kick + 1)
			return NV_VM_RAN;
		if (spins % SPINS_PER_YIELD != 0) {
			rte_pause();
			continue;
		}
		if (__atomic_load_n(&h->guest_state, __ATOMIC_ACQUIRE) != NV_VM_READY ||
		    __atomic_load_n(&h->boots, __ATOMIC_ACQUIRE) != boots)
			return NV_VM_DOWN;
		uint64_t now = now_ns();
		if (deadline == 0)
			deadline = now + timeout_ns;
		else if (now > deadline)
			return NV_VM_DOWN;
		sched_yield();
	}
}

int nv_vm_run(uintptr_t base, uint32_t count, uint64_t timeout_ns)
{
	return kick_and_wait((struct nv_vm_header *)base, count, 0, 0, timeout_ns);
}

int nv_vm_message(uintptr_t base, uint32_t len, int32_t from, uint64_t timeout_ns)
{
	if (len == 0 || len > NV_VM_MESSAGE_MAX)
		return nv_fail(EINVAL, "vm: a message is 1 to %u bytes, not %u", NV_VM_MESSAGE_MAX, len);
	return kick_and_wait((struct nv_vm_header *)base, 0, len, from, timeout_ns);
}
