package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// flagSet is a command's flags. -h, -help, --help or a first argument "help" print
// the command's usage and its own flags to out and make Parse return flag.ErrHelp,
// which run answers with exit 0 before anything is opened or connected. A bad flag
// is returned as an error (for stderr), without the usage.
type flagSet struct {
	*flag.FlagSet
	out   io.Writer
	usage string // "usage: catalyst …" and what the command does
}

func newFlagSet(out io.Writer, name, usage string) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), out: out, usage: usage}
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// Parse parses args; see flagSet.
func (fs *flagSet) Parse(args []string) error {
	if len(args) > 0 && args[0] == "help" {
		args = []string{"-h"}
	}
	err := fs.FlagSet.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.printUsage()
		return flag.ErrHelp
	case err != nil:
		return fmt.Errorf("%s: %w ('catalyst %s -h' lists its flags)", fs.Name(), err, fs.Name())
	}
	return nil
}

func (fs *flagSet) printUsage() {
	fmt.Fprint(fs.out, fs.usage)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprintln(fs.out, "\nflags:")
	fs.SetOutput(fs.out)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// isHelp tells whether a command's first argument asks for its usage.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// subcommand is one subcommand of `catalyst billing` or `catalyst firewall`.
type subcommand struct {
	name, summary string
}

// printSubcommands writes a command's usage: its synopsis and one line per subcommand.
func printSubcommands(out io.Writer, command string, subs []subcommand) {
	fmt.Fprintf(out, "usage: catalyst %s <subcommand> [flags]\n\nsubcommands:\n", command)
	for _, s := range subs {
		fmt.Fprintf(out, "  %-12s %s\n", s.name, s.summary)
	}
	fmt.Fprintf(out, "\nRun 'catalyst %s <subcommand> -h' for a subcommand's flags.\n", command)
}

// helpFromDefaultUsage prints the help of a command whose flags are defined in its
// own body with the flag package's default usage ("Usage of NAME:" and the flags,
// written to the output it is given): the given usage, then its flags.
func helpFromDefaultUsage(out io.Writer, usage string, runHelp func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := runHelp(&buf); !errors.Is(err, flag.ErrHelp) {
		return fmt.Errorf("help: want flag.ErrHelp, got %v", err)
	}
	_, defaults, _ := strings.Cut(buf.String(), "\n") // drops "Usage of NAME:"
	fmt.Fprint(out, usage)
	if defaults != "" {
		fmt.Fprint(out, "\nflags:\n", defaults)
	}
	return flag.ErrHelp
}
