/* zlogin: a thin main; the command is cmd_zlogin (console/zlogin.c). */
#include "zlogin.h"

int main(int argc, char **argv)
{
	return cmd_zlogin(argc, argv);
}
