#include "zoneadm.h"

int main(int argc, char **argv)
{
	return cmd_zonesvc(argc, argv);
}
