/* EAL start and stop. The arguments were checked in TypeScript before they got
 * here (EAL calls exit() on --help and on some usage errors). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "internal.h"

static int eal_state; /* 0 never started, 1 running, 2 cleaned up */
static char runtime_dir[PATH_MAX];

int nv_eal_init(int argc, const char **argv)
{
	char **args;
	int ret;

	if (eal_state != 0)
		return nv_fail(EALREADY, "EAL can be initialised once per process");
	/* EAL permutes argv and may keep pointers into it: give it a copy that lives
	 * as long as the process. */
	args = calloc((size_t)argc + 1, sizeof(*args));
	if (args == NULL)
		return nv_fail(ENOMEM, "out of memory");
	for (int i = 0; i < argc; i++) {
		args[i] = strdup(argv[i]);
		if (args[i] == NULL)
			return nv_fail(ENOMEM, "out of memory");
	}
	nv_log_capture_begin();
	ret = rte_eal_init(argc, args);
	const char *log = nv_log_capture_end();
	/* EAL makes its runtime folder early: say where, even when init fails. */
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	if (ret < 0) {
		eal_state = 2;
		return nv_fail(rte_errno, "EAL init failed: %s%s%s", rte_strerror(rte_errno),
			       *log ? ": " : "", log);
	}
	eal_state = 1;
	return 0;
}

/* EAL's runtime directory (/var/run/dpdk/<prefix>), which EAL leaves behind
 * even in memory-only mode and after a failed init; "" before any init. */
const char *nv_eal_runtime_dir(void)
{
	return runtime_dir;
}

int nv_eal_cleanup(void)
{
	if (eal_state != 1)
		return 0;
	eal_state = 2;
	if (rte_eal_cleanup() < 0)
		return nv_fail(rte_errno, "EAL cleanup failed: %s", rte_strerror(rte_errno));
	return 0;
}
