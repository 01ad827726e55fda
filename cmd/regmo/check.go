package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/bremen/regmo/domain/store"
)

// checkCmd runs `regmo check counters [--repair]`: compares the readiness counters with the
// entries they count, and the latest daily snapshot with the history it sums, and, with
// --repair, rebuilds the counters and removes the snapshots (serve takes them again). It exits 1 when a figure differed
// and was not repaired, so that a cron job notices.
func checkCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "counters" {
		fmt.Fprintln(stderr, "Usage: regmo check counters [--repair]")
		return exitError(2)
	}
	fs := newFlags("check counters", "check counters [--repair]", stderr)
	repair := fs.Bool("repair", false, "rebuild the counters from the entries, in one transaction, when a figure differs")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return exitError(2)
	}
	// The counters are compared with every entry: past row-level security, as the owner.
	db, closeDB, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer closeDB()
	counters := store.NewCounters(db)
	check := counters.Check
	if *repair {
		check = counters.Repair
	}
	diffs, err := check(ctx)
	if err != nil {
		return err
	}
	if len(diffs) == 0 {
		fmt.Fprintln(stdout, "counters agree with the entries")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tCOUNTERS\tENTRIES")
	for _, d := range diffs {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", d.Figure, d.Counted, d.Actual)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if *repair {
		fmt.Fprintf(stdout, "%d figures differed; the counters are rebuilt from the entries\n", len(diffs))
		return nil
	}
	fmt.Fprintf(stdout, "%d figures differ; regmo check counters --repair rebuilds them\n", len(diffs))
	return exitError(1)
}
