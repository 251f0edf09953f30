/* zonecfg: configure kernel zones.  The command lives in zonecfg_cmd.c. */
#include "zonecfg.h"

int main(int argc, char **argv)
{
	return cmd_zonecfg(argc, argv);
}
