#include "zoneadm.h"

int main(int argc, char **argv)
{
	return cmd_zoneadm(argc, argv);
}
