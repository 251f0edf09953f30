# bash completion for zonestat(1): [-p] [-R ROOT] [-z ZONE,...]
# [INTERVAL [COUNT]].  Zone names come from `zoneadm list -cp` on the
# root in use (-R DIR on the line, else $KZ_ROOT, else /var/lib/kzones),
# with the zoneadm beside this zonestat when it was named by a path.

_zonestat_zones()
{
	local root=${KZ_ROOT:-/var/lib/kzones} i zoneadm=zoneadm
	for ((i = 1; i < COMP_CWORD; i++)); do
		[[ ${COMP_WORDS[i]} == -R ]] && root=${COMP_WORDS[i+1]}
	done
	[[ ${COMP_WORDS[0]} == */* ]] &&
		zoneadm=${COMP_WORDS[0]%/*}/zoneadm
	"$zoneadm" -R "${root/#\~/$HOME}" list -cp 2>/dev/null |
		awk -F: '$2 != "" && $2 != "global" {print $2}'
}

_zonestat()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local head=

	case $prev in
	-R)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	-z)
		# A comma list: complete its last name.
		[[ $cur == *,* ]] && head=${cur%,*},
		compopt -o nospace 2>/dev/null
		COMPREPLY=($(compgen -P "$head" -W "$(_zonestat_zones)" \
			-- "${cur##*,}"))
		return
		;;
	esac
	[[ $cur == -* ]] && COMPREPLY=($(compgen -W "-p -R -z -h" -- "$cur"))
}
complete -F _zonestat zonestat
