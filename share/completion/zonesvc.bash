# bash completion for zonesvc(8): [-R ROOT] start|stop.

_zonesvc()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local i

	if [[ $prev == -R ]]; then
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -d -- "$cur"))
		return
	fi
	# Nothing follows the action.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-R) ((i++)) ;;
		start|stop) return ;;
		esac
	done
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "-R" -- "$cur"))
	else
		COMPREPLY=($(compgen -W "start stop -R" -- "$cur"))
	fi
}
complete -F _zonesvc zonesvc
