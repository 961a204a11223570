/* The last error, as text for TypeScript, and capture of DPDK's own log around
 * calls whose failures DPDK explains only in its log. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_log.h>

#include "internal.h"

static char last_error[1024];
static FILE *capture;
static char *capture_buf;
static size_t capture_len;

const char *nv_last_error(void)
{
	return last_error;
}

int nv_fail(int code, const char *fmt, ...)
{
	va_list ap;

	/* Formatted aside first: the message may quote the last one (nv_last_error()). */
	char text[sizeof(last_error)];
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	memcpy(last_error, text, sizeof(text));
	return code < 0 ? code : -code;
}

void nv_log_capture_begin(void)
{
	capture = open_memstream(&capture_buf, &capture_len);
	if (capture != NULL)
		rte_openlog_stream(capture);
}

/* Ends the capture; returns the captured text (valid until the next capture),
 * with newlines folded so that it reads as one message. Callers put it in
 * their error message: DPDK explains its failures only in its log. */
const char *nv_log_capture_end(void)
{
	static char text[512];

	rte_openlog_stream(NULL);
	if (capture == NULL)
		return "";
	fclose(capture);
	capture = NULL;
	snprintf(text, sizeof(text), "%s", capture_buf);
	free(capture_buf);
	capture_buf = NULL;
	for (char *p = text; *p; p++)
		if (*p == '\n')
			*p = p[1] ? ' ' : '\0';
	return text;
}
