// Package domain holds regmo's entities and rules: Ressorts, registers, Onlinedienste, their
// readiness in the three obligations of the register modernisation, users and their roles,
// the read and write scopes, and the errors callers tell apart. It knows neither SQL nor
// HTTP: domain/store keeps the entries, and callers pass who they are and what they may read.
package domain

// Stage is where one dimension of one entry stands. The scale is the same for every dimension.
type Stage string

// The stages in their order; StageNotApplicable stands outside the order and needs a reason.
const (
	StageNotStarted    Stage = "not_started"
	StagePlanned       Stage = "planned"
	StageInProgress    Stage = "in_progress"
	StageTesting       Stage = "testing"
	StageLive          Stage = "live"
	StageNotApplicable Stage = "not_applicable"
)

// Stages lists every stage in scale order. The SQL domain `stage` and the OpenAPI enum are
// kept equal to it by a test.
var Stages = []Stage{StageNotStarted, StagePlanned, StageInProgress, StageTesting, StageLive, StageNotApplicable}

// Valid reports whether s is one of Stages.
func (s Stage) Valid() bool {
	for _, v := range Stages {
		if s == v {
			return true
		}
	}
	return false
}

// Ready reports whether the stage fulfils the obligation: live, or not applicable at all.
func (s Stage) Ready() bool { return s == StageLive || s == StageNotApplicable }

// Dimension names one of the three obligations tracked per entry.
type Dimension string

// The three obligations of the register modernisation.
const (
	// DimensionIDNr: store the Identifikationsnummer (§ 2 Nr. 1 IDNrG, deadline 31.12.2028).
	DimensionIDNr Dimension = "idnr"
	// DimensionNOOTS: connect to the National Once-Only Technical System.
	DimensionNOOTS Dimension = "noots"
	// DimensionDSC: deliver to the Datenschutzcockpit (§ 10 OZG).
	DimensionDSC Dimension = "dsc"
)

// Dimensions lists the dimensions in the order they are shown.
var Dimensions = []Dimension{DimensionIDNr, DimensionNOOTS, DimensionDSC}
