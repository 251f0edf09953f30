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
	# Zones a failed test started must not outlive it.
	if {[info procs zone_root_cleanup] ne ""} { zone_root_cleanup }
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

# ---- zone commands ----
# A fresh zone root for this test, removed (with every zone in it halted)
# when the test exits.
proc zone_root {} {
	global zroot bin
	set zroot [exec mktemp -d /tmp/kz-test.XXXXXX]
	set ::env(KZ_ROOT) $zroot
	return $zroot
}

proc zone_root_cleanup {} {
	global zroot
	if {![info exists zroot]} return
	foreach pidfile [glob -nocomplain $zroot/run/*/kzhost.pid] {
		catch {exec kill -9 [string trim [exec cat $pidfile]]}
	}
	after 200
	catch {exec rm -rf $zroot}
}

# Run a command at a terminal to its end; return {status output}.
proc run {args} {
	global spawn_id
	set out ""
	spawn -noecho {*}$args
	# Commands wait on guests (shutdown allows 60 s): allow for it.
	set timeout 120
	expect {
		-re {.+} { append out $expect_out(0,string); exp_continue }
		eof {}
		timeout { fail "'$args' did not finish" }
	}
	set timeout 60
	lassign [wait] pid sid oserr status
	return [list $status [string map {"\r\n" "\n"} $out]]
}

# Run and require success; return the output.
proc ok {args} {
	lassign [run {*}$args] status out
	if {$status != 0} { fail "'$args' exited $status: $out" }
	return $out
}

# Run and require failure with status and a line matching re.
proc refused {status re args} {
	lassign [run {*}$args] st out
	if {$st != $status} { fail "'$args' exited $st, expected $status: $out" }
	if {![regexp -- $re $out]} { fail "'$args' said '$out', expected /$re/" }
	return $out
}

proc zone_state {zone} {
	global bin
	set out [ok $bin/zoneadm -z $zone list -p]
	foreach line [split $out "\n"] {
		set f [split $line ":"]
		if {[lindex $f 1] eq $zone} { return [lindex $f 2] }
	}
	fail "zone $zone not listed"
}

proc want_state {zone state} {
	set s [zone_state $zone]
	if {$s ne $state} { fail "zone $zone is $s, expected $state" }
}

# The same, for a state that follows from something asynchronous (a
# killed process being noticed): allow it up to ms milliseconds.
proc want_state_within {zone state ms} {
	set end [expr {[clock milliseconds] + $ms}]
	while {[set s [zone_state $zone]] ne $state && [clock milliseconds] < $end} {
		after 100
	}
	if {$s ne $state} { fail "zone $zone is $s, expected $state within $ms ms" }
}

# Wait until file holds text (a background lock holder has written its
# name): a loaded machine may be slow to start it.
proc wait_file_has {file text} {
	for {set i 0} {$i < 200} {incr i} {
		if {![catch {exec cat $file} l] && [string first $text $l] >= 0} return
		after 50
	}
	catch {exec tail -c 300 $file} l
	fail "$file never held '$text'; it ends: $l"
}

# Configure a small zone for tests: ncpus vCPUs and mem of RAM.
proc small_zone {zone {ncpus 1} {mem 64M}} {
	global bin
	ok $bin/zonecfg -z $zone "create; select virtual-cpu ncpus=4; set ncpus=$ncpus; end; select capped-memory physical=4G; set physical=$mem; end"
}
