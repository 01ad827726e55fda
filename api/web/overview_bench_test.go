package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/domain/transfer"
)

// generated is an import source of n registers spread over the demo's Ressorts, with stages
// and target dates that vary.
type generated struct {
	n, i int
}

func (g *generated) Kinds() []domain.Kind { return []domain.Kind{domain.KindRegister} }

func (g *generated) Next() (transfer.ImportItem, error) {
	if g.i >= g.n {
		return transfer.ImportItem{}, io.EOF
	}
	i := g.i
	g.i++
	ressorts := []string{"SF", "SK", "SIS", "SBMS", "SASJI", "SJV", "SKB", "SWHT", "MAG-BHV", "ZGF"}
	stage := func(k int) domain.Stage { return domain.Stages[(i/(k+1))%5] }
	st := func(k int) domain.Status {
		s := domain.Status{Stage: stage(k)}
		if !s.Stage.Ready() {
			s.TargetDate = fmt.Sprintf("20%02d-06-30", 25+(i+k)%4)
		}
		return s
	}
	c := domain.Content{Name: fmt.Sprintf("Register %d", i), Readiness: domain.Readiness{IDNr: st(0), NOOTS: st(1), DSC: st(2)}}
	if i%200 == 0 {
		nr := i/200%50 + 1
		c.AnlageNr = &nr
	}
	return transfer.ImportItem{Kind: domain.KindRegister, Ressort: ressorts[i%len(ressorts)], Key: fmt.Sprintf("bench-%05d", i),
		Content: c, Index: i}, nil
}

// BenchmarkOverview renders the overview (readiness, twelve month ends of history, overdue,
// blocked, consistency and Anlage coverage) over 10,000 entries for the coordination,
// through the whole web stack (session, policy, domain, template). Target: < 200 ms.
func BenchmarkOverview(b *testing.B) {
	e := newEnv(b, api.Config{})
	if _, err := transfer.New(store.NewTransfers(e.owner)).Import(context.Background(), "bench", domain.WriteAll(), &generated{n: 10_000}, transfer.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	if err := e.owner.Exec(`ANALYZE`).Error; err != nil {
		b.Fatal(err)
	}
	br := e.login("koordination")
	b.ResetTimer()
	size := 0
	for b.Loop() {
		code, body := br.get("/")
		if code != http.StatusOK {
			b.Fatalf("overview = %d", code)
		}
		size = len(body)
	}
	b.ReportMetric(float64(size)/1024, "KB/page")
}
