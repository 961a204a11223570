/* The guest agent of a vm NF: maps the region the host shares over
 * ivshmem-plain (BAR 2), configures the NF, and then answers the host's
 * bursts one at a time (the protocol is in native-dpdk/netvm_vm.h). It runs as
 * the guest's only program, started by the initramfs's /init. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "netvm_vm.h"
#include "netvm_guest.h"

#ifndef NETVM_NF_NAME
#define NETVM_NF_NAME "nf" /* scripts/build-guest passes the NF's file name */
#endif

#define IVSHMEM_VENDOR 0x1af4ul
#define IVSHMEM_DEVICE 0x1110ul
#define PCI_DEVICES "/sys/bus/pci/devices"
#define AREA_BYTES (NV_VM_REGION_BYTES - NV_VM_AREA_OFF)

/* Idling: spin this long after a burst, then sleep between checks. Under TCG
 * a spinning guest holds a host CPU, so it must not spin for ever. */
#define SPIN_NS 1000000ll
#define NAP_NS 50000l
#define MAGIC_POLL_NS 1000000l

static void say(FILE *to, const char *fmt, ...)
{
	int saved = errno; /* for %m */
	va_list ap;
	va_start(ap, fmt);
	fputs("netvm-guest: ", to);
	errno = saved;
	vfprintf(to, fmt, ap);
	fputc('\n', to);
	va_end(ap);
}

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ll + t.tv_nsec;
}

static void nap(long ns)
{
	struct timespec t = { 0, ns };
	nanosleep(&t, NULL);
}

/* dir/name into path; 0 if it fits. */
static int join(char *path, size_t size, const char *dir, const char *name)
{
	int n = snprintf(path, size, "%s/%s", dir, name);
	return n >= 0 && (size_t)n < size ? 0 : -1;
}

/* A sysfs attribute such as "0x1af4\n" as a number; ~0 if unreadable. */
static unsigned long read_hex(const char *dir, const char *name)
{
	char path[PATH_MAX], text[32];
	FILE *f = join(path, sizeof path, dir, name) == 0 ? fopen(path, "r") : NULL;
	if (f == NULL)
		return ~0ul;
	char *got = fgets(text, sizeof text, f);
	fclose(f);
	return got == NULL ? ~0ul : strtoul(text, NULL, 16);
}

/* The first ivshmem device's sysfs folder into `dir`; 0 if there is one. */
static int find_device(char *dir, size_t size)
{
	DIR *d = opendir(PCI_DEVICES);
	if (d == NULL)
		return -1;
	int found = -1;
	for (struct dirent *e; found != 0 && (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.' || join(dir, size, PCI_DEVICES, e->d_name) != 0)
			continue;
		if (read_hex(dir, "vendor") == IVSHMEM_VENDOR && read_hex(dir, "device") == IVSHMEM_DEVICE)
			found = 0;
	}
	closedir(d);
	return found;
}

/* Firmware (qboot, at least) assigns the BARs but leaves memory decoding
 * off, and no guest driver claims the device to turn it on: without this,
 * the mapping does not reach the host's memory. */
static int enable_device(const char *dir)
{
	char path[PATH_MAX];
	int fd = join(path, sizeof path, dir, "enable") == 0 ? open(path, O_WRONLY) : -1;
	int ok = fd >= 0 && write(fd, "1", 1) == 1;
	if (!ok)
		say(stderr, "cannot enable the device through %s: %m", path);
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

static uint8_t *map_region(const char *dir)
{
	char path[PATH_MAX];
	int fd = join(path, sizeof path, dir, "resource2") == 0 ? open(path, O_RDWR | O_SYNC) : -1;
	if (fd < 0) {
		say(stderr, "cannot open %s: %m", path);
		return NULL;
	}
	struct stat st;
	void *region = MAP_FAILED;
	if (fstat(fd, &st) != 0)
		say(stderr, "cannot stat %s: %m", path);
	else if (st.st_size < (off_t)NV_VM_REGION_BYTES)
		say(stderr, "%s is %lld bytes, the region is %u", path, (long long)st.st_size, NV_VM_REGION_BYTES);
	else if ((region = mmap(NULL, NV_VM_REGION_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
		say(stderr, "cannot map %s: %m", path);
	close(fd);
	return region == MAP_FAILED ? NULL : region;
}

static int refuse(uint8_t *region, const char *reason)
{
	struct nv_vm_header *h = (struct nv_vm_header *)region;
	size_t n = strnlen(reason, NV_VM_ERROR_MAX - 1);
	memcpy(region + NV_VM_ERROR_OFF, reason, n);
	region[NV_VM_ERROR_OFF + n] = 0;
	__atomic_store_n(&h->guest_state, NV_VM_REFUSED, __ATOMIC_RELEASE);
	say(stderr, "refused: %s", reason);
	return 1;
}

/* Checks the host's config and hands it to the NF; 0 if the NF took it. */
static int configure(uint8_t *region)
{
	static char config[NV_VM_CONFIG_MAX + 1];
	char error[NV_VM_ERROR_MAX] = "";
	struct nv_vm_header *h = (struct nv_vm_header *)region;
	uint32_t version = h->version, len = h->config_len;

	if (version != NV_VM_VERSION) {
		snprintf(error, sizeof error, "the region is version %u, the guest speaks %u", version, NV_VM_VERSION);
		return refuse(region, error);
	}
	if (len > NV_VM_CONFIG_MAX) {
		snprintf(error, sizeof error, "config of %u bytes, at most %u fit", len, NV_VM_CONFIG_MAX);
		return refuse(region, error);
	}
	/* A private copy: the NF may keep pointers into it. */
	memcpy(config, region + NV_VM_CONFIG_OFF, len);
	config[len] = 0;
	int status = nf_configure(config, len, error, sizeof error);
	if (status == 0)
		return 0;
	error[sizeof error - 1] = 0;
	if (error[0] == 0)
		snprintf(error, sizeof error, "refused its config (status %d)", status);
	return refuse(region, error);
}

/* Runs the NF over the burst's records. A record whose packet does not lie
 * inside the packet area, or that the NF gives a length outside 1..room,
 * is dropped. */
static void run_burst(uint8_t *region, uint32_t count)
{
	static int warned;
	struct nv_vm_record *records = (struct nv_vm_record *)(region + NV_VM_RECORDS_OFF);
	uint8_t *area = region + NV_VM_AREA_OFF;

	if (count > NV_VM_MAX_BURST) {
		/* A host bug: there are no records past the last, so none is answered. */
		if (!warned)
			say(stderr, "burst of %u records ignored (at most %u)", count, NV_VM_MAX_BURST);
		warned = 1;
		return;
	}
	for (uint32_t i = 0; i < count; i++) {
		struct nv_vm_record *r = &records[i];
		/* Each field read once: the host's memory is not ours to trust. */
		uint32_t off = __atomic_load_n(&r->pool_off, __ATOMIC_RELAXED);
		uint32_t len = __atomic_load_n(&r->len, __ATOMIC_RELAXED);
		uint32_t room = __atomic_load_n(&r->room, __ATOMIC_RELAXED);
		uint16_t port = __atomic_load_n(&r->port, __ATOMIC_RELAXED);
		uint32_t verdict = NETVM_DROP;

		if (room <= AREA_BYTES && off <= AREA_BYTES - room && len >= 1 && len <= room) {
			uint32_t out = len;
			verdict = nf_process(area + off, &out, room, port);
			if (out >= 1 && out <= room)
				len = out;
			else
				verdict = NETVM_DROP;
		}
		r->len = len;
		r->verdict = verdict;
	}
}

/* Hands the NF the message the host wrote (a private copy: the host's memory
 * is not ours to trust), and writes its answer back. */
static void take_message(uint8_t *region, uint32_t len)
{
	struct nv_vm_header *h = (struct nv_vm_header *)region;
	static uint8_t message[NV_VM_MESSAGE_MAX];
	static char answer[NV_VM_ANSWER_MAX];
	if (nf_message == NULL || len > NV_VM_MESSAGE_MAX)
		return;
	memcpy(message, region + NV_VM_MESSAGE_OFF, len);
	uint32_t n = nf_message(message, len, __atomic_load_n(&h->message_from, __ATOMIC_RELAXED), answer, sizeof answer);
	if (n > sizeof answer)
		n = sizeof answer;
	memcpy(region + NV_VM_ANSWER_OFF, answer, n);
	h->answer_len = n;
}

int main(void)
{
	char dir[PATH_MAX];
	setvbuf(stdout, NULL, _IOLBF, 0);
	say(stdout, "starting (nf %s)", NETVM_NF_NAME);
	if (find_device(dir, sizeof dir) != 0) {
		say(stderr, "no ivshmem device (%04lx:%04lx) under %s", IVSHMEM_VENDOR, IVSHMEM_DEVICE, PCI_DEVICES);
		return 1;
	}
	uint8_t *region = enable_device(dir) == 0 ? map_region(dir) : NULL;
	if (region == NULL)
		return 1;
	struct nv_vm_header *h = (struct nv_vm_header *)region;

	while (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != NV_VM_MAGIC)
		nap(MAGIC_POLL_NS);
	__atomic_fetch_add(&h->boots, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&h->guest_state, NV_VM_BOOTING, __ATOMIC_RELAXED);
	if (configure(region) != 0)
		return 1;

	/* Nothing the host wrote before now is a burst for us. */
	__atomic_store_n(&h->takes_messages, nf_message != NULL, __ATOMIC_RELAXED);
	uint32_t done = __atomic_load_n(&h->kick, __ATOMIC_ACQUIRE);
	__atomic_store_n(&h->done, done, __ATOMIC_RELEASE);
	__atomic_store_n(&h->guest_state, NV_VM_READY, __ATOMIC_RELEASE);
	say(stdout, "ready (nf %s)", NETVM_NF_NAME);

	long long last = now_ns();
	for (;;) {
		uint32_t kick = __atomic_load_n(&h->kick, __ATOMIC_ACQUIRE);
		if (kick != done) {
			uint32_t message_len = __atomic_load_n(&h->message_len, __ATOMIC_RELAXED);
			if (message_len != 0)
				take_message(region, message_len);
			else
				run_burst(region, __atomic_load_n(&h->count, __ATOMIC_RELAXED));
			__atomic_store_n(&h->done, kick, __ATOMIC_RELEASE);
			done = kick;
			last = now_ns();
		} else if (now_ns() - last < SPIN_NS) {
			__builtin_ia32_pause();
		} else {
			nap(NAP_NS);
		}
	}
}
