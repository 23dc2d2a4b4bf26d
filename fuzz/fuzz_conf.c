/*
 * fuzz_conf: the configuration parser (daemon/conf.c) on arbitrary
 * files; a parse that succeeds must also pass or fail conf_finish cleanly.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	char err[1200];

	conf_defaults(&c);
	if (conf_parse_buf(&c, "fuzz.conf", (const char *)data, size, err,
		sizeof(err)) == 0)
		(void)conf_finish(&c, err, sizeof(err));
	return 0;
}
