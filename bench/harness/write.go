package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// writeMain is the "write" subcommand: the load generator. It prints n
// lines of size bytes each (the newline included) to stdout, in writes of
// about chunk bytes that always hold whole lines. Each line is
//
//	ID SEQ xxxx...\n
//
// with SEQ a 10-digit sequence number starting at 1, so that a reader can
// tell a lost, duplicated or broken line. With -nonl the last line has no
// newline (its last byte is an 'x'). The lines are built once; only the
// digits change, so the writer costs far less than the pipe it feeds.
func writeMain(args []string) {
	fs := flag.NewFlagSet("write", flag.ExitOnError)
	n := fs.Int("n", 1000, "number of lines")
	size := fs.Int("size", 60, "bytes per line, the newline included")
	id := fs.String("id", "w", "writer id, the first field of every line")
	chunk := fs.Int("chunk", 64<<10, "bytes per write (rounded down to whole lines)")
	nonl := fs.Bool("nonl", false, "no newline after the last line")
	ignoreTerm := fs.Bool("ignore-term", false, "ignore SIGTERM")
	wait := fs.String("wait", "", "a FIFO to read to its end before writing")
	done := fs.String("done", "", "a FIFO to open and close after writing")
	fs.Parse(args)
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	if *wait != "" {
		if err := drainFile(*wait); err != nil {
			fmt.Fprintln(os.Stderr, "write:", err)
			os.Exit(1)
		}
	}
	if err := write(os.Stdout, *n, *size, *id, *chunk, *nonl); err != nil {
		fmt.Fprintln(os.Stderr, "write:", err)
		os.Exit(1)
	}
	if *done != "" {
		f, err := os.OpenFile(*done, os.O_WRONLY, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, "write:", err)
			os.Exit(1)
		}
		f.Close()
	}
}

// drainFile reads the file at path to its end: for a FIFO, until the
// harness has opened and closed it.
func drainFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

// write is writeMain's loop.
func write(f *os.File, n, size int, id string, chunk int, nonl bool) error {
	head := len(id) + 1 + 10 + 1
	if size < head+1 {
		return fmt.Errorf("size %d too small for id %q", size, id)
	}
	per := max(chunk/size, 1)
	block := make([]byte, per*size)
	for i := 0; i < per; i++ {
		line := block[i*size : (i+1)*size]
		copy(line, id)
		line[len(id)] = ' '
		line[head-1] = ' '
		for j := head; j < size-1; j++ {
			line[j] = 'x'
		}
		line[size-1] = '\n'
	}
	seq := []byte("0000000000")
	for n > 0 {
		k := min(per, n)
		for i := 0; i < k; i++ {
			increment(seq)
			copy(block[i*size+len(id)+1:], seq)
		}
		out := block[:k*size]
		n -= k
		if n == 0 && nonl {
			out[len(out)-1] = 'x'
		}
		if _, err := f.Write(out); err != nil {
			return err
		}
	}
	return nil
}

// increment adds one to a decimal number written in ASCII digits.
func increment(d []byte) {
	for i := len(d) - 1; i >= 0; i-- {
		if d[i] != '9' {
			d[i]++
			return
		}
		d[i] = '0'
	}
}
