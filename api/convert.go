package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
)

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// The JSON answer's mapping of an entry to the types generated from openapi.yaml; requests
// bind straight into domain.Content (RegisterInput and OnlinedienstInput are that type).
// TestEveryColumnIsMapped fails when a column of entries does not reach them.

func toDimension(s domain.Status, today string) oapi.Dimension {
	d := oapi.Dimension{
		Stage:       oapi.Stage(s.Stage),
		Note:        s.Note,
		EvidenceUrl: s.EvidenceURL,
		Ready:       s.Ready(),
		Overdue:     s.Overdue(today),
	}
	if s.TargetDate != "" {
		d.TargetDate = &s.TargetDate
	}
	return d
}

func toReadiness(r domain.Readiness, today string) oapi.Readiness {
	return oapi.Readiness{
		Idnr:  toDimension(r.IDNr, today),
		Noots: toDimension(r.NOOTS, today),
		Dsc:   toDimension(r.DSC, today),
	}
}

func toRegister(e domain.Entry, today string) oapi.Register {
	return oapi.Register{
		Ressort:       e.Ressort,
		Key:           e.Key,
		Name:          e.Name,
		Description:   e.Description,
		IdnrgAnlageNr: e.AnlageNr,
		LegalBasis:    e.LegalBasis,
		Fachverfahren: e.Fachverfahren,
		Contact:       e.Contact,
		Readiness:     toReadiness(e.Readiness, today),
		Version:       e.Version,
		CreatedAt:     e.CreatedAt,
		UpdatedAt:     e.UpdatedAt,
		UpdatedBy:     e.UpdatedBy,
	}
}

func toOnlinedienst(e domain.Entry, today string) oapi.Onlinedienst {
	return oapi.Onlinedienst{
		Ressort:       e.Ressort,
		Key:           e.Key,
		Name:          e.Name,
		Description:   e.Description,
		LeikaKeys:     nonNil(e.LeikaKeys),
		Url:           e.URL,
		NachweiseFrom: nonNil(e.NachweiseFrom),
		Readiness:     toReadiness(e.Readiness, today),
		Version:       e.Version,
		CreatedAt:     e.CreatedAt,
		UpdatedAt:     e.UpdatedAt,
		UpdatedBy:     e.UpdatedBy,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nextCursor(next string) *string {
	if next == "" {
		return nil
	}
	return &next
}

// etag is the strong entity tag of a version.
func etag(version int64) *string {
	t := `"` + strconv.FormatInt(version, 10) + `"`
	return &t
}

// precondition reads If-Match (RFC 9110 §13.1.1) with strong comparison: weak tags and tags
// that are not versions never match, "*" matches any existing entry.
func precondition(header *string) (domain.Precondition, error) {
	if header == nil {
		return domain.Precondition{}, nil
	}
	h := strings.TrimSpace(*header)
	if h == "*" {
		return domain.IfExists(), nil
	}
	bad := newProblem(http.StatusBadRequest, "bad-parameter", "Invalid parameter",
		`If-Match must be "*" or a list of entity tags such as "3".`,
		oapi.FieldError{Field: "If-Match", Message: `must be "*" or a list of entity tags such as "3"`})
	var versions []int64
	for _, part := range strings.Split(h, ",") {
		tag := strings.TrimSpace(part)
		weak := strings.HasPrefix(tag, "W/")
		tag = strings.TrimPrefix(tag, "W/")
		if len(tag) < 2 || tag[0] != '"' || tag[len(tag)-1] != '"' || strings.Contains(tag[1:len(tag)-1], `"`) {
			return domain.Precondition{}, bad
		}
		if weak {
			continue
		}
		if v, err := strconv.ParseInt(tag[1:len(tag)-1], 10, 64); err == nil && v > 0 {
			versions = append(versions, v)
		}
	}
	return domain.IfVersion(versions...), nil
}

func stages(idnr, noots, dsc *oapi.Stage) map[domain.Dimension]domain.Stage {
	m := map[domain.Dimension]domain.Stage{}
	for d, s := range map[domain.Dimension]*oapi.Stage{domain.DimensionIDNr: idnr, domain.DimensionNOOTS: noots, domain.DimensionDSC: dsc} {
		if s != nil {
			m[d] = domain.Stage(*s)
		}
	}
	return m
}
