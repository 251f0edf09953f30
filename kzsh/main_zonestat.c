/* zonestat: a thin main; the command is cmd_zonestat (kzsh/zonestat.c). */
#include "kzsh.h"

int main(int argc, char **argv)
{
	return cmd_zonestat(argc, argv);
}
