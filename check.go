package main

import (
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"
)

// check validates the Procfile, env files and flags, prints what start
// would run, and returns 0 when everything is valid, 1 on any warning or
// error (README, "Stopping and exit status"). It reports every problem at
// once: each warning, then the error if there is one.
func check(o options) int {
	p, err := load(o, nil, os.Environ())
	if err != nil {
		fail(err)
		return 1
	}
	warn(p.warnings)
	printPlan(p, o.noPort)
	if len(p.warnings) > 0 {
		return 1
	}
	return 0
}

// printPlan lists each type with its instance count, ports and command.
func printPlan(p *plan, noPort bool) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCOUNT\tPORTS\tPOLICY\tCOMMAND")
	for _, e := range p.entries {
		var ports []int
		for _, in := range p.instances {
			if in.Entry.Name == e.Name {
				ports = append(ports, in.Port)
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", e.Name, len(ports), portList(ports, noPort), describePolicy(p.policies[e.Name]), e.Command)
	}
	tw.Flush()
}

// portList shows ports as "5000" or "5000-5002".
func portList(ports []int, noPort bool) string {
	switch {
	case noPort || len(ports) == 0:
		return "-"
	case len(ports) == 1:
		return strconv.Itoa(ports[0])
	}
	return fmt.Sprintf("%d-%d", ports[0], ports[len(ports)-1])
}
