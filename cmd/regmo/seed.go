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
	inv := domain.NewInventory(db)
	demo := demoInventory()
	created := 0
	for _, d := range demo {
		// Entries that exist already are left as they are: demo data must not undo what
		// someone changed while trying the service out.
		if _, err := inv.Get(ctx, domain.ReadAll(), d.kind, d.ressort, d.key); err == nil {
			continue
		}
		_, isNew, err := inv.Put(ctx, seedActor, domain.WriteAll(), d.kind, d.ressort, d.key, d.content, domain.Precondition{})
		if err != nil {
			return fmt.Errorf("seed %s/%s: %w", d.ressort, d.key, err)
		}
		if isNew {
			created++
		}
	}
	fmt.Fprintf(stdout, "demo inventory: %d created, %d already there\n", created, len(demo)-created)
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
	entries, err := domain.Anlage(ctx, db)
	if err != nil {
		return err
	}
	inv := domain.NewInventory(db)
	created := 0
	for _, nr := range nrs {
		i := slices.IndexFunc(entries, func(e domain.AnlageEntry) bool { return e.Nr == nr })
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

type demoEntry struct {
	kind    domain.Kind
	ressort string
	key     string
	content domain.Content
}

func anlage(nr int) *int { return &nr }

// demoInventory is a small, plausible inventory: real registers of the Anlage zu § 1 IDNrG as
// Bremen keeps them, and the Onlinedienste eWA and iKfz from the Senate's reports.
func demoInventory() []demoEntry {
	st := func(stage domain.Stage, target, note string) domain.Status {
		return domain.Status{Stage: stage, TargetDate: target, Note: note}
	}
	return []demoEntry{
		{domain.KindRegister, "SIS", "melderegister", domain.Content{
			Name: "Melderegister", AnlageNr: anlage(1), LegalBasis: "Bundesmeldegesetz",
			Fachverfahren: "VOIS|MESO", Description: "Melderegister der Stadtgemeinde Bremen, geführt vom Bürgeramt.",
			Readiness: domain.Readiness{
				IDNr:  st(domain.StageLive, "", "Erstbefüllung über das BZSt abgeschlossen."),
				NOOTS: st(domain.StageTesting, "2026-06-30", "Readiness-Check in der Referenzumgebung."),
				DSC:   st(domain.StageInProgress, "2026-12-31", ""),
			}}},
		{domain.KindRegister, "SIS", "personalausweisregister", domain.Content{
			Name: "Personalausweisregister", AnlageNr: anlage(21),
			Readiness: domain.Readiness{
				IDNr:  st(domain.StageInProgress, "2027-06-30", ""),
				NOOTS: st(domain.StagePlanned, "2027-12-31", ""),
			}}},
		{domain.KindRegister, "SIS", "passregister", domain.Content{
			Name: "Passregister", AnlageNr: anlage(22),
			Readiness: domain.Readiness{
				IDNr:  st(domain.StageInProgress, "2027-06-30", ""),
				NOOTS: st(domain.StagePlanned, "2027-12-31", ""),
			}}},
		{domain.KindRegister, "SIS", "kfz-zulassung", domain.Content{
			Name: "Örtliches Fahrzeugregister (Kfz-Zulassungsstelle)", Description: "Liefert an das Zentrale Fahrzeugregister (Anlage Nr. 15).",
			Readiness: domain.Readiness{
				IDNr:  st(domain.StageNotApplicable, "", "Die IDNr wird im Zentralen Fahrzeugregister des KBA gespeichert."),
				NOOTS: st(domain.StageInProgress, "2026-09-30", ""),
				DSC:   st(domain.StagePlanned, "2027-03-31", ""),
			}}},
		{domain.KindRegister, "SWHT", "gewerberegister", domain.Content{
			Name: "Gewerberegister", AnlageNr: anlage(30), LegalBasis: "§ 14 GewO",
			Readiness: domain.Readiness{
				IDNr:  st(domain.StagePlanned, "2027-12-31", ""),
				NOOTS: st(domain.StageInProgress, "2026-03-31", ""),
			}}},
		{domain.KindRegister, "SASJI", "wohngeld", domain.Content{
			Name: "Wohngeld – Leistungsdaten", AnlageNr: anlage(35), LegalBasis: "§ 24 WoGG",
			Readiness: domain.Readiness{IDNr: st(domain.StageNotStarted, "2028-12-31", "")}}},
		{domain.KindRegister, "SKB", "schuelerdaten", domain.Content{
			Name: "Schülerdaten der öffentlichen Schulen", AnlageNr: anlage(25), LegalBasis: "§ 2 HStatG",
			Readiness: domain.Readiness{IDNr: st(domain.StagePlanned, "2028-06-30", "")}}},
		{domain.KindOnlinedienst, "SIS", "ewa", domain.Content{
			Name: "eWA – elektronische Wohnsitzanmeldung", URL: "https://www.service.bremen.de/",
			Description:   "Online seit 09/2024; rund 66.000 Wohnungsmeldungen im Jahr, Online-Anteil 13 %.",
			NachweiseFrom: []string{"SIS/melderegister"},
			Readiness: domain.Readiness{
				NOOTS: st(domain.StageInProgress, "2026-12-31", ""),
				DSC:   st(domain.StagePlanned, "2027-06-30", ""),
			}}},
		{domain.KindOnlinedienst, "SIS", "ikfz", domain.Content{
			Name: "iKfz – internetbasierte Fahrzeugzulassung", URL: "https://www.service.bremen.de/",
			Description:   "Stufe 4 seit 12/2024; rund 150.000 Zulassungen im Jahr, Online-Anteil 15 %.",
			NachweiseFrom: []string{"SIS/kfz-zulassung", "SIS/melderegister"},
			Readiness: domain.Readiness{
				NOOTS: st(domain.StagePlanned, "2027-06-30", ""),
			}}},
		{domain.KindOnlinedienst, "SWHT", "gewerbe-anmelden", domain.Content{
			Name: "Gewerbe anmelden", LeikaKeys: []string{"99050012104000"},
			NachweiseFrom: []string{"SWHT/gewerberegister", "SIS/melderegister"},
			Readiness: domain.Readiness{
				NOOTS: st(domain.StagePlanned, "2026-06-30", ""),
			}}},
	}
}
