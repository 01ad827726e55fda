package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/bremen/regmo/cmd/internal/harness"
)

var ressorts = []string{"SF", "SK", "SIS", "SBMS", "SASJI", "SJV", "SKB", "SWHT", "MAG-BHV", "ZGF"}

// user is one of the callers the traffic comes from.
type user struct {
	name, role, ressort string // ressort only for ressortverantwortliche
	token               string
}

func (u user) global() bool { return u.ressort == "" }
func (u user) writes() bool { return u.role != "ozg-koordination" }

// createUsers makes an admin, an OZG coordinator and one Ressortverantwortliche/r per Ressort,
// through the CLI as an operator would (regmo user add, regmo token issue).
func createUsers(ctx context.Context, env *harness.Env) ([]user, error) {
	users := []user{{name: "lt-admin", role: "admin"}, {name: "lt-ozg", role: "ozg-koordination"}}
	for _, r := range ressorts {
		users = append(users, user{name: "lt-rv-" + strings.ToLower(r), role: "ressortverantwortliche", ressort: r})
	}
	for i := range users {
		token, err := env.Token(ctx, users[i].name, users[i].role, users[i].ressort)
		if err != nil {
			return nil, err
		}
		users[i].token = token
	}
	return users, nil
}

// seed imports the inventory the traffic works on through POST /v1/import, so that every
// entry has its first version and event like any other.
func seed(ctx context.Context, base string, admin user, perRessort int) error {
	type dim struct {
		Stage      string `json:"stage"`
		TargetDate string `json:"target_date,omitempty"`
		Note       string `json:"note,omitempty"`
	}
	type item struct {
		Ressort   string         `json:"ressort"`
		Key       string         `json:"key"`
		Name      string         `json:"name"`
		Readiness map[string]dim `json:"readiness"`
	}
	stages := []string{"not_started", "planned", "in_progress", "testing", "live"}
	var inv struct {
		Registers     []item `json:"registers"`
		Onlinedienste []item `json:"onlinedienste"`
	}
	for _, r := range ressorts {
		for i := 1; i <= perRessort; i++ {
			inv.Registers = append(inv.Registers, item{Ressort: r, Key: registerKey(i),
				Name: fmt.Sprintf("Lasttest-Register %d (%s)", i, r),
				Readiness: map[string]dim{
					"idnr":  {Stage: stages[i%5], TargetDate: "2026-06-30"},
					"noots": {Stage: stages[(i/5)%5]},
					"dsc":   {Stage: stages[(i/25)%5], Note: "Startwert"},
				}})
		}
		for i := range slotDays {
			inv.Registers = append(inv.Registers, item{Ressort: r, Key: fristKey(i), Name: fmt.Sprintf("Lasttest-Frist %d (%s)", i, r),
				Readiness: map[string]dim{"idnr": {Stage: "planned", TargetDate: fristDate(i)}}})
		}
		for i := 1; i <= onlinedienstePerRessort; i++ {
			inv.Onlinedienste = append(inv.Onlinedienste, item{Ressort: r, Key: fmt.Sprintf("lt-dienst-%02d", i),
				Name: fmt.Sprintf("Lasttest-Onlinedienst %d (%s)", i, r), Readiness: map[string]dim{"noots": {Stage: stages[i%5]}}})
		}
	}
	body, err := json.Marshal(inv)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/import", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+admin.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("import answered %s: %.500s", resp.Status, data)
	}
	return nil
}

const onlinedienstePerRessort = 10

func registerKey(i int) string { return fmt.Sprintf("lt-register-%04d", i) }
