package domain

import (
	"strings"
	"time"
)

// Berlin is the time zone whose calendar decides what "today" and "overdue" mean.
var Berlin = mustLoadLocation("Europe/Berlin")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("domain: time zone " + name + " missing; the binary embeds time/tzdata: " + err.Error())
	}
	return loc
}

// Today returns the calendar date of t in Europe/Berlin as YYYY-MM-DD.
func Today(t time.Time) string { return t.In(Berlin).Format(time.DateOnly) }

// Status is where an entry stands in one dimension.
type Status struct {
	Stage Stage `json:"stage" validate:"stage"`
	// TargetDate is YYYY-MM-DD or empty.
	TargetDate  string `json:"target_date,omitempty" validate:"omitempty,datetime=2006-01-02"`
	Note        string `json:"note,omitempty" validate:"max=2000,clean"`
	EvidenceURL string `json:"evidence_url,omitempty" validate:"omitempty,max=2000,clean,web_url"`
}

// Ready reports whether the dimension is fulfilled.
func (s Status) Ready() bool { return s.Stage.Ready() }

// Overdue reports whether the target date lies before today (YYYY-MM-DD, Europe/Berlin) and
// the dimension is not ready. ISO dates compare correctly as strings.
func (s Status) Overdue(today string) bool {
	return s.TargetDate != "" && s.TargetDate < today && !s.Ready()
}

// Readiness is an entry's standing in all three dimensions.
type Readiness struct {
	IDNr  Status `json:"idnr"`
	NOOTS Status `json:"noots"`
	DSC   Status `json:"dsc"`
}

// Of returns the status of one dimension.
func (r Readiness) Of(d Dimension) Status {
	switch d {
	case DimensionIDNr:
		return r.IDNr
	case DimensionNOOTS:
		return r.NOOTS
	default:
		return r.DSC
	}
}

// Overdue reports whether any dimension is overdue.
func (r Readiness) Overdue(today string) bool {
	return r.IDNr.Overdue(today) || r.NOOTS.Overdue(today) || r.DSC.Overdue(today)
}

// Normalize gives a dimension that was left out its default stage.
func (r *Readiness) Normalize() {
	for _, s := range []*Status{&r.IDNr, &r.NOOTS, &r.DSC} {
		if s.Stage == "" {
			s.Stage = StageNotStarted
		}
	}
}

// hasReason reports whether a note gives a reason, not just blanks.
func hasReason(note string) bool { return strings.TrimSpace(note) != "" }
