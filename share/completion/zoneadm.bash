# bash completion for zoneadm(8).
# Subcommands come from `zoneadm help` (printed from its command table),
# with a fixed list when the program cannot be run.  Zone names come from
# `zoneadm -R ROOT list -cp` on the root in use: -R DIR on the line, else
# $KZ_ROOT, else /var/lib/kzones.

_zoneadm_root()
{
	local root=${KZ_ROOT:-/var/lib/kzones} i
	for ((i = 1; i < COMP_CWORD; i++)); do
		[[ ${COMP_WORDS[i]} == -R ]] && root=${COMP_WORDS[i+1]}
	done
	printf '%s\n' "${root/#\~/$HOME}"
}

_zoneadm_zones()
{
	"${COMP_WORDS[0]}" -R "$(_zoneadm_root)" list -cp 2>/dev/null |
		awk -F: '$2 != "" && $2 != "global" {print $2}'
}

_zoneadm_subcommands()
{
	local list
	list=$("${COMP_WORDS[0]}" help 2>/dev/null |
		awk 'NR > 2 && NF {print ($1 == "-z") ? $3 : $1}')
	[[ -n $list ]] || list="help list verify install uninstall ready boot
		halt shutdown reboot detach attach clone mark"
	printf '%s\n' $list
}

_zoneadm()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local i sub="" subi=0 zone=""

	# Global options, up to the subcommand.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-R) ((i++)) ;;
		-z) ((i++)); zone=${COMP_WORDS[i]} ;;
		-*) ;;
		*) sub=${COMP_WORDS[i]}; subi=$i; break ;;
		esac
	done

	if [[ -z $sub ]]; then
		case $prev in
		-R) compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -d -- "$cur")); return ;;
		-z) COMPREPLY=($(compgen -W "$(_zoneadm_zones)" -- "$cur"))
			return ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "-R -z -h" -- "$cur"))
		elif [[ -n $zone ]]; then
			COMPREPLY=($(compgen -W "$(_zoneadm_subcommands)" -- "$cur"))
		else
			# Without -z only these run; the rest need a zone first.
			COMPREPLY=($(compgen -W "list help -R -z" -- "$cur"))
		fi
		return
	fi

	local n=$((COMP_CWORD - subi))
	case $sub in
	list)
		COMPREPLY=($(compgen -W "-c -i -p -s -v" -- "$cur")) ;;
	install)
		case $prev in
		-k|-i) compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -f -- "$cur")) ;;
		*) COMPREPLY=($(compgen -W "-k -i" -- "$cur")) ;;
		esac ;;
	uninstall|attach)
		COMPREPLY=($(compgen -W "-F" -- "$cur")) ;;
	shutdown)
		[[ $prev == -t ]] && return
		COMPREPLY=($(compgen -W "-r -t" -- "$cur")) ;;
	boot)
		((n == 1)) && COMPREPLY=($(compgen -W "--" -- "$cur")) ;;
	clone)
		((n == 1)) || return
		COMPREPLY=($(compgen -W "$(_zoneadm_zones | grep -vxF -- "$zone")" \
			-- "$cur")) ;;
	mark)
		((n == 1)) && COMPREPLY=($(compgen -W "incomplete" -- "$cur")) ;;
	help)
		((n == 1)) &&
			COMPREPLY=($(compgen -W "$(_zoneadm_subcommands)" -- "$cur")) ;;
	esac
}
complete -F _zoneadm zoneadm
