// Command cinit is a container init that runs a Procfile.
//
// Put it in a container as ENTRYPOINT ["cinit"] with a Procfile beside the
// application. cinit starts one child per Procfile line (each through
// /bin/sh -c, in its own process group), prefixes and merges their output,
// reaps every zombie, forwards signals, and on the first exit or on a stop
// signal tears everything down gracefully, exiting with a code that says
// what happened. The same binary runs the same Procfile on a laptop
// (cinit start) and in CI.
//
// The data flows one way:
//
//	Procfile, env files ─ load ─▶ plan ─▶ supervisor.Run ─▶ exit code
//	children's pipes ─▶ output.Writer ─▶ stdout
//	SIGCHLD ─▶ reaper ─▶ supervisor;  signals ─▶ supervisor
//
// Usage:
//
//	cinit [start] [FLAGS] [NAME...]
//	cinit run [FLAGS] NAME | [--] COMMAND [ARG...]
//	cinit [FLAGS] -- COMMAND [ARG...]
//	cinit check [FLAGS]
//	cinit status|restart|stop|kill|logs|probe|quit [FLAGS] [NAME...]
//	cinit version | help
//
// See README.md for the flags, the Procfile grammar and the exit codes.
package main

import (
	"errors"
	"fmt"
	"os"
)

// version is stamped by the Makefile from git (see versionLine).
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes one command line and returns the exit status.
func run(args []string) int {
	if len(args) > 0 && isControlCommand(args[0]) {
		return runControl(args[0], args[1:], os.Getenv)
	}
	inv, err := parseArgs(args, os.Getenv)
	if err != nil {
		return fail(err)
	}
	switch inv.cmd {
	case "help":
		printUsage()
		return 0
	case "version":
		fmt.Println(versionLine(version, readBuildInfo))
		return 0
	case "check":
		return check(inv.opts)
	case "start":
		return start(inv.opts, inv.args)
	case "run", "exec":
		return single(inv)
	case "ready":
		return ready(inv)
	case "export":
		return exportCmd(inv)
	}
	return fail(usagef("%s: not implemented yet", inv.cmd))
}

// fail prints err on one line, after the warnings that came with it, and
// returns its exit status.
func fail(err error) int {
	var aw afterWarnings
	if errors.As(err, &aw) {
		warn(aw.warnings)
	}
	msg := err.Error()
	if fromEnv != nil {
		msg = fromEnv.Replace(msg)
	}
	fmt.Fprintln(os.Stderr, "cinit:", oneLine(msg))
	var ce configError
	var ue usageError
	if errors.As(err, &ce) || errors.As(err, &ue) {
		return 2
	}
	return 1
}

// warn prints the Procfile's warnings on stderr.
func warn(warnings []string) {
	for _, w := range warnings {
		fmt.Fprintln(os.Stderr, "cinit:", w)
	}
}
