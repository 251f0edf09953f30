# Shared helpers for the expect tests.  Each test drives the real programs
# through a pty, the way a person at a terminal would.
#   KZ_BIN    directory with kzhost
#   KZ_GUEST  the built-in guest kernel
#   KZ_TOP    the repository's top directory
set bin $env(KZ_BIN)
set guest $env(KZ_GUEST)
set top $env(KZ_TOP)
set timeout 60
log_user 1

proc fail {msg} {
	puts stderr "\nFAIL: $msg"
	global spawn_id
	if {[info exists spawn_id]} {
		catch {exec kill -9 [exp_pid -i $spawn_id]}
		catch {close -i $spawn_id}
		catch {wait -nowait -i $spawn_id}
	}
	exit 1
}

# Start kzhost on the built-in guest with extra arguments.
proc kzhost {args} {
	global bin guest spawn_id
	spawn -noecho $bin/kzhost --kernel $guest {*}$args
	return $spawn_id
}

# Expect a pattern (regexp) or fail naming what was missing.
proc want {re {what ""}} {
	if {$what eq ""} { set what $re }
	expect {
		-re $re {
			# Hand the match groups to the caller.
			uplevel 1 [list array set expect_out [array get expect_out]]
			return $expect_out(0,string)
		}
		timeout { fail "timed out waiting for: $what" }
		eof { fail "program ended before: $what" }
	}
}

# Type a line at the guest's shell and wait for its next prompt.
proc cmd {line} {
	send -- "$line\r"
}

proc prompt {} { want {kzguest# $} "the kzguest# prompt" }

# Wait for the program to end; return its exit status.
proc exit_status {} {
	expect {
		eof {}
		timeout { fail "program did not exit" }
	}
	lassign [wait] pid sid oserr status
	return $status
}

proc want_status {expected} {
	set s [exit_status]
	if {$s != $expected} { fail "exit status $s, expected $expected" }
}
