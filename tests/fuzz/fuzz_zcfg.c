/*
 * libFuzzer target for the zonecfg language: arbitrary bytes as a
 * configuration file / command file through zcfg_parse (which runs the
 * lexer, every subcommand a file may hold, the property checks and the
 * scopes).
 *
 * Beyond the sanitizers it checks the contract: 0 with a configuration,
 * or an error with a one-line message and none; and that what parses
 * exports to text that parses back to the same export.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zonecfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zone_config *c = NULL, *d = NULL;
	char err[512] = "";
	char *t1 = NULL, *t2 = NULL;

	int rc = zcfg_parse((const char *)data, size, "fz", "/r/zones/fz", &c,
			    err, sizeof(err));
	if (rc) {
		if (c || err[0] == 0 || strchr(err, '\n'))
			abort();
		return 0;
	}
	if (!c)
		abort();
	(void)zcfg_verify(c, err, sizeof(err));
	if (zcfg_export(c, &t1))
		abort();
	if (zcfg_parse(t1, strlen(t1), "fz", "/r/zones/fz", &d, err,
		       sizeof(err))) {
		fprintf(stderr, "export did not parse: %s\n%s", err, t1);
		abort();
	}
	if (zcfg_export(d, &t2))
		abort();
	if (strcmp(t1, t2)) {
		fprintf(stderr, "export changed:\n%s---\n%s", t1, t2);
		abort();
	}
	free(t1);
	free(t2);
	zcfg_free(c);
	zcfg_free(d);
	return 0;
}
