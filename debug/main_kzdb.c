/* kzdb: the kernel debugger for zones and their crash dumps (kzdb.c). */
#include "dbg.h"

int main(int argc, char **argv)
{
	return cmd_kzdb(argc, argv);
}
