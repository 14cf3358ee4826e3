package main

import (
	"math"
	"testing"
)

func TestPairedRatio(t *testing.T) {
	cell := func(server string, round int, ops float64) *Cell {
		return &Cell{Server: server, Round: round, Result: &Result{OpsPerSec: ops}}
	}
	failed := &Cell{Server: "b", Round: 4, Result: &Result{OpsPerSec: 1}, Error: "server died during the cell"}
	tests := []struct {
		name  string
		cells []*Cell
		want  float64
	}{
		{"odd rounds: the middle ratio", []*Cell{cell("a", 1, 10), cell("b", 1, 20), cell("a", 2, 30), cell("b", 2, 30), cell("a", 3, 9), cell("b", 3, 10)}, 0.9},
		{"even rounds: the mean of the middle two", []*Cell{cell("a", 1, 10), cell("b", 1, 20), cell("a", 2, 8), cell("b", 2, 10)}, 0.65},
		// Best with best gives 30/40, each server's values paired by rank
		// 0.75 too; within the rounds: 0.25, 2 and 1.
		{"pairs within a round, not best with best", []*Cell{cell("a", 1, 10), cell("b", 1, 40), cell("a", 2, 20), cell("b", 2, 10), cell("a", 3, 30), cell("b", 3, 30)}, 1},
		{"a failed cell and a round without its pair are left out", []*Cell{cell("a", 1, 9), cell("b", 1, 10), cell("a", 4, 100), failed, cell("a", 5, 100)}, 0.9},
		{"no round with both", []*Cell{cell("a", 1, 9), cell("b", 2, 10)}, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := &Report{Scenarios: []*ScenarioResult{{Scenario: &scenario{ID: "x", Metric: "ops"}, Cells: tt.cells}}}
			got := pairedRatio(rep, "x", "a", "b", metricValue)
			if math.IsNaN(tt.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tt.want) > 1e-9) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
