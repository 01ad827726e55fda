// Package demo is the demo inventory that regmo seed demo loads and the tests of the web
// interface start from: real registers of the Anlage zu § 1 IDNrG as Bremen keeps them, and
// the Onlinedienste eWA and iKfz from the Senate's reports.
package demo

import (
	"context"
	"fmt"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
)

// Actor is recorded as the author of seeded entries.
const Actor = "seed"

// Seed creates the demo entries that do not exist yet and returns how many it created and
// how many the demo has. Entries that exist already are left as they are: demo data must not
// undo what someone changed while trying the service out.
func Seed(ctx context.Context, inv *store.Inventory) (created, total int, err error) {
	entries := demoInventory()
	for _, d := range entries {
		if _, err := inv.Get(ctx, domain.ReadAll(), d.kind, d.ressort, d.key); err == nil {
			continue
		}
		_, isNew, err := inv.Put(ctx, Actor, domain.WriteAll(), d.kind, d.ressort, d.key, d.content, domain.Precondition{})
		if err != nil {
			return created, len(entries), fmt.Errorf("seed %s/%s: %w", d.ressort, d.key, err)
		}
		if isNew {
			created++
		}
	}
	return created, len(entries), nil
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
