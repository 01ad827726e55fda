package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/demo"
	"github.com/bremen/regmo/domain/store"
)

// seedActor is recorded as the author of seeded entries.
const seedActor = "seed"

func seed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	switch {
	case len(args) == 1 && args[0] == "demo":
		return seedDemo(ctx, stdout)
	case len(args) >= 1 && args[0] == "anlage":
		return seedAnlage(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintln(stderr, "usage: regmo seed demo | regmo seed anlage --ressort CODE --numbers 1,21,22")
	return exitError(2)
}

func seedDemo(ctx context.Context, stdout io.Writer) error {
	db, closeDB, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer closeDB()
	created, total, err := demo.Seed(ctx, store.NewInventory(db))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo inventory: %d created, %d already there\n", created, total-created)
	return nil
}

// seedAnlage creates, for the Anlage zu § 1 IDNrG numbers a Ressort keeps, one register
// each: keyed anlage-<nr>, named after the Anlage, every stage not_started. Registers that
// exist already are left alone, so the command can be run again.
func seedAnlage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("seed anlage", "seed anlage --ressort CODE --numbers 1,21,22", stderr)
	ressort := fs.String("ressort", "", "the Ressort that keeps the registers (required)")
	numbers := fs.String("numbers", "", "comma-separated numbers of the Anlage, 1 to 50 (required)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *ressort == "" || *numbers == "" {
		fs.Usage()
		return exitError(2)
	}
	var nrs []int
	for _, part := range strings.Split(*numbers, ",") {
		nr, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || nr < 1 || nr > 50 {
			fmt.Fprintf(stderr, "regmo: --numbers: %q is not a number of the Anlage (1 to 50)\n", part)
			return exitError(2)
		}
		if !slices.Contains(nrs, nr) {
			nrs = append(nrs, nr)
		}
	}
	db, closeDB, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer closeDB()
	entries, err := store.Anlage(ctx, db)
	if err != nil {
		return err
	}
	inv := store.NewInventory(db)
	created := 0
	for _, nr := range nrs {
		i := slices.IndexFunc(entries, func(e store.AnlageEntry) bool { return e.Nr == nr })
		if i < 0 {
			return fmt.Errorf("the Anlage has no number %d", nr)
		}
		key := fmt.Sprintf("anlage-%d", nr)
		if _, err := inv.Get(ctx, domain.ReadAll(), domain.KindRegister, *ressort, key); err == nil {
			continue
		} else if !errors.Is(err, domain.ErrNotFound) {
			return err
		}
		a := entries[i]
		name := a.Name
		if len([]rune(name)) > 200 {
			name = string([]rune(name)[:199]) + "…"
		}
		content := domain.Content{Name: name, AnlageNr: &a.Nr, LegalBasis: a.LegalBasis}
		if _, _, err := inv.Put(ctx, seedActor, domain.WriteAll(), domain.KindRegister, *ressort, key, content, domain.Precondition{}); err != nil {
			return fmt.Errorf("seed %s/%s: %w", *ressort, key, err)
		}
		created++
	}
	fmt.Fprintf(stdout, "Anlage registers of %s: %d created, %d already there\n", *ressort, created, len(nrs)-created)
	return nil
}
