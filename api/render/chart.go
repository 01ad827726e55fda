package render

import (
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Chart is a clustered column chart of a table: the first column names the categories, each
// further column is one series.
type Chart struct {
	Title string
	Axis  string // the value axis' title
	// Max fixes the top of the value axis (100 for percentages); 0 lets Excel choose.
	Max float64
}

// addChart places the table's chart to the right of the table.
func addChart(f *excelize.File, t Table) error {
	if len(t.Rows) == 0 || len(t.Header) < 2 {
		return nil // nothing to draw; an empty chart only puzzles
	}
	// A sheet name in a reference is quoted, with its quotes doubled.
	sheet := "'" + strings.ReplaceAll(t.Sheet, "'", "''") + "'"
	last := len(t.Rows) + 1
	var series []excelize.ChartSeries
	for col := 2; col <= len(t.Header); col++ {
		name, _ := excelize.ColumnNumberToName(col)
		series = append(series, excelize.ChartSeries{
			Name:       fmt.Sprintf("%s!$%s$1", sheet, name),
			Categories: fmt.Sprintf("%s!$A$2:$A$%d", sheet, last),
			Values:     fmt.Sprintf("%s!$%s$2:$%s$%d", sheet, name, name, last),
		})
	}
	anchor, _ := excelize.CoordinatesToCellName(len(t.Header)+2, 2)
	c := &excelize.Chart{
		Type:   excelize.Col,
		Series: series,
		Title:  excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: t.Chart.Title}}},
		Legend: excelize.ChartLegend{Position: "bottom"},
		XAxis:  excelize.ChartAxis{Title: excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: t.Header[0]}}}},
		YAxis:  excelize.ChartAxis{Title: excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: t.Chart.Axis}}}, MajorGridLines: true},
		// Wide enough for the ten Ressorts of the Lenku VD and the total side by side.
		Dimension: excelize.ChartDimension{Width: uint(max(640, 64*len(t.Rows))), Height: 360},
	}
	if t.Chart.Max > 0 {
		top, bottom := t.Chart.Max, 0.0
		c.YAxis.Maximum, c.YAxis.Minimum = &top, &bottom
	}
	if err := f.AddChart(t.Sheet, anchor, c); err != nil {
		return fmt.Errorf("xlsx: chart: %w", err)
	}
	return nil
}
