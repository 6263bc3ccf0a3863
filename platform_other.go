//go:build !linux

package main

import "golang.org/x/sys/unix"

// ioctlReadTermios reads a terminal's settings: the test of isTerminal.
const ioctlReadTermios = unix.TIOCGETA
