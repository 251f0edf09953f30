/* Library entry points of the admin commands (the binaries are thin mains). */
#ifndef KZ_ZONEADM_H
#define KZ_ZONEADM_H

int cmd_zoneadm(int argc, char **argv);
int cmd_zonesvc(int argc, char **argv);

#endif
