#include "zlogin.h"
#include <stdio.h>
int mux_main(const struct mux_opts *o)
{
	(void)o;
	fprintf(stderr, "zlogin: the multiplexer is not built yet\n");
	return 1;
}
