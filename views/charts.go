package views

import "strconv"

// Small charts are drawn on the server as SVG: they need no script, print, and can go into
// emails. Each comes with its figures as text or a table for screen readers.

// HBar is one bar of a horizontal bar chart, laid out in a 300-wide box, 26 per row.
type HBar struct {
	Label string
	Count int
	Class string // colour: "hot", "warm", "grade-a", …
	Y     float64
	W     float64 // bar length, 0–200 (the label takes the left 90)
}

// HBars lays out labelled counts as horizontal bars, the largest 200 wide.
func HBars(labels, classes []string, counts []int) []HBar {
	top := 1
	for _, c := range counts {
		top = max(top, c)
	}
	out := make([]HBar, len(counts))
	for i, c := range counts {
		out[i] = HBar{Label: labels[i], Count: c, Class: classes[i], Y: float64(i) * 26, W: 200 * float64(c) / float64(top)}
	}
	return out
}

// HBarsHeight is the height of a bar chart of n rows.
func HBarsHeight(n int) string { return strconv.Itoa(n * 26) }

// Column is one column of a column chart in a width×height box; a column may stack several
// parts (Parts, bottom first).
type Column struct {
	Label string
	Title string // the tooltip: the label and figures
	X, W  float64
	Parts []ColumnPart
	Tick  bool // its label is written under it (every column when they fit, else every other)
}

// ColumnPart is a stacked piece of a column.
type ColumnPart struct {
	Y, H  float64
	Class string
}

// Columns lays out stacked columns: series[s][i] is series s's value in column i. The tallest
// stack is the box's height less 4 for its rounded top.
func Columns(labels []string, series [][]int, classes []string, width, height float64) []Column {
	top := 1
	for i := range labels {
		sum := 0
		for s := range series {
			sum += series[s][i]
		}
		top = max(top, sum)
	}
	step := width / float64(max(1, len(labels)))
	gap := min(step*0.2, 6)
	out := make([]Column, len(labels))
	for i, l := range labels {
		col := Column{Label: l, X: float64(i)*step + gap/2, W: step - gap, Title: l, Tick: len(labels) <= 12 || i%2 == 0}
		base := height
		for s := range series {
			v := series[s][i]
			h := (height - 4) * float64(v) / float64(top)
			if v > 0 {
				col.Parts = append(col.Parts, ColumnPart{Y: base - h, H: h, Class: classes[s]})
			}
			base -= h
		}
		out[i] = col
	}
	return out
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
