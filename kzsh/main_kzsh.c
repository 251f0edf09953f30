/* kzsh: a thin main; the shell is cmd_kzsh (kzsh/kzsh.c). */
#include "kzsh.h"

int main(int argc, char **argv)
{
	return cmd_kzsh(argc, argv);
}
