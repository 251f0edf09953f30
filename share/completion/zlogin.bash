# bash completion for zlogin(1).
# Zone names come from the zone index of the root in use (-R DIR on the
# line, else $KZ_ROOT, else /var/lib/kzones), read directly so that
# completion needs no other program.

_zlogin_root()
{
	local root=${KZ_ROOT:-/var/lib/kzones} i
	for ((i = 1; i < COMP_CWORD; i++)); do
		[[ ${COMP_WORDS[i]} == -R ]] && root=${COMP_WORDS[i+1]}
	done
	printf '%s\n' "${root/#\~/$HOME}"
}

_zlogin()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	case $prev in
	-R)
		COMPREPLY=($(compgen -d -- "$cur"))
		return ;;
	-e|-r)
		return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "-C -M -R -d -e -f -r -W -h" -- "$cur"))
		return
	fi
	local index
	index="$(_zlogin_root)/etc/index"
	[[ -r $index ]] || return
	COMPREPLY=($(compgen -W "$(awk -F: '$1 != "" {print $1}' "$index" \
		2>/dev/null)" -- "$cur"))
}
complete -F _zlogin zlogin
