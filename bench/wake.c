/* The wake-up probe of the bench's idle points: sends one frame on an
 * interface after every quiet spell and waits for it to come back on another
 * (through a netvm chain between the two), printing each round trip in
 * microseconds, one per line ("lost" for one not back within a second).
 *
 * usage: wake <send-iface> <recv-iface> <quiet-ms> <probes>
 *
 * Frames carry the local experimental EtherType 0x88b5 and a probe number, so
 * that nothing else on the link is taken for one. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROBE_TYPE 0x88b5
#define FRAME_BYTES 60

static int bound_socket(const char *iface)
{
	int fd = socket(AF_PACKET, SOCK_RAW, htons(PROBE_TYPE));
	if (fd < 0) {
		perror("socket");
		exit(1);
	}
	struct sockaddr_ll a = { .sll_family = AF_PACKET, .sll_protocol = htons(PROBE_TYPE), .sll_ifindex = (int)if_nametoindex(iface) };
	if (a.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "wake: cannot bind to %s\n", iface);
		exit(1);
	}
	return fd;
}

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/* Waits for probe `seq` on fd until the deadline; returns whether it came. */
static int await_probe(int fd, uint32_t seq, double deadline)
{
	uint8_t buf[2048];
	for (double left; (left = deadline - now_us()) > 0;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)(left / 1000) + 1) <= 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		uint32_t got;
		if (n < ETH_HLEN + 4)
			continue;
		memcpy(&got, buf + ETH_HLEN, 4);
		if (got == seq)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: wake <send-iface> <recv-iface> <quiet-ms> <probes>\n");
		return 2;
	}
	int tx = bound_socket(argv[1]), rx = bound_socket(argv[2]);
	long quiet_ms = atol(argv[3]), probes = atol(argv[4]);
	uint8_t frame[FRAME_BYTES] = { 0 };
	memset(frame, 0xff, ETH_ALEN);                    /* broadcast */
	memcpy(frame + ETH_ALEN, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	frame[12] = PROBE_TYPE >> 8;
	frame[13] = PROBE_TYPE & 0xff;
	for (long i = 0; i < probes; i++) {
		struct timespec quiet = { quiet_ms / 1000, (quiet_ms % 1000) * 1000000L };
		nanosleep(&quiet, NULL);
		uint32_t seq = (uint32_t)(getpid() << 8) + (uint32_t)i;
		memcpy(frame + ETH_HLEN, &seq, 4);
		double sent = now_us();
		if (send(tx, frame, sizeof(frame), 0) != (ssize_t)sizeof(frame)) {
			perror("send");
			return 1;
		}
		if (await_probe(rx, seq, sent + 1e6))
			printf("%.1f\n", now_us() - sent);
		else
			printf("lost\n");
		fflush(stdout);
	}
	return 0;
}
