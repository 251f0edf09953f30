# bash completion for zonecfg(8).
# Commands, resources and properties come from zonecfg itself (its help
# output is printed from the same tables as its own Tab completion), so
# this file never falls behind the program.  Zone names come from the
# index of the store: -R DIR on the line, else $KZ_ROOT, else
# /var/lib/kzones.

_zonecfg_words()
{
	# $1: usage | resources | global | RESOURCE
	local zc=${COMP_WORDS[0]}
	case $1 in
	usage)
		"$zc" help usage 2>/dev/null | awk '{print $2}' ;;
	resources)
		"$zc" help resources 2>/dev/null | awk '{print $1}' ;;
	global)
		"$zc" help properties 2>/dev/null |
			awk '/^global/ {g=1; next} /^[^\t]/ {g=0} g {print $1}' ;;
	*)
		"$zc" help resources 2>/dev/null |
			awk -v r="$1" '$1 == r {for (i = 3; i <= NF; i++) print $i}' ;;
	esac
}

_zonecfg_zones()
{
	local root=${KZ_ROOT:-/var/lib/kzones} i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		[[ ${COMP_WORDS[i]} == -R ]] && root=${COMP_WORDS[i+1]}
	done
	[[ -r $root/etc/index ]] &&
		awk -F: '!/^#/ && NF >= 5 {print $1}' "$root/etc/index"
}

_zonecfg()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local i sub="" subi=0 zone=""

	case $prev in
	-R) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	-f) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	-z) COMPREPLY=($(compgen -W "$(_zonecfg_zones)" -- "$cur")); return ;;
	esac

	# Find the subcommand: the first word after the options.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-R|-f|-z) ((i++)); [[ ${COMP_WORDS[i-1]} == -z ]] && zone=1 ;;
		-*) ;;
		*) sub=${COMP_WORDS[i]}; subi=$i; break ;;
		esac
	done

	if [[ -z $sub ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "-R -z -f -h" -- "$cur"))
		elif [[ -n $zone ]]; then
			COMPREPLY=($(compgen -W "$(_zonecfg_words usage)" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "-R -z -f help" -- "$cur"))
		fi
		return
	fi

	local n=$((COMP_CWORD - subi))
	case $sub in
	add|select|remove|info)
		if ((n == 1)); then
			COMPREPLY=($(compgen -W "$(_zonecfg_words resources)" \
				-- "$cur"))
		else
			local res=${COMP_WORDS[subi+1]}
			COMPREPLY=($(compgen -S = -W "$(_zonecfg_words "$res")" \
				-- "$cur"))
			compopt -o nospace 2>/dev/null
		fi ;;
	set|clear)
		((n == 1)) || return
		COMPREPLY=($(compgen -W "$(_zonecfg_words global)" -- "$cur"))
		[[ $sub == set ]] && { COMPREPLY=("${COMPREPLY[@]/%/=}");
			compopt -o nospace 2>/dev/null; } ;;
	create)
		if [[ $prev == -t ]]; then
			COMPREPLY=($(compgen -W "SYSkz SYSsolaris-kz SYSblank \
				$(_zonecfg_zones)" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "-F -b -t" -- "$cur"))
		fi ;;
	export)
		[[ $prev == -f ]] && COMPREPLY=($(compgen -f -- "$cur")) ||
			COMPREPLY=($(compgen -W "-f" -- "$cur")) ;;
	delete|revert|exit)
		COMPREPLY=($(compgen -W "-F" -- "$cur")) ;;
	help)
		COMPREPLY=($(compgen -W "$(_zonecfg_words usage) resources \
			properties usage" -- "$cur")) ;;
	esac
}
complete -F _zonecfg zonecfg
