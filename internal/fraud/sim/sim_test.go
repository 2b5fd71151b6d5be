package sim

import (
	"testing"

	"github.com/veriflow/veriflow/internal/store/storetest"
)

// TestShortSimulation is `make fraud-sim`'s short form: with the default
// settings the engine lets at most 50 SMS through per attack, challenges or
// blocks at most 0.5 % of legitimate verifications and none in the spike,
// and the fixed limits alone let several times more SMS through.
func TestShortSimulation(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	st := storetest.Open(t)
	rep, err := Run(t.Context(), st, Config{Seed: 1, LegitPerDay: 3000})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + rep.Table())
	var fixed, engine int
	for i, name := range rep.Attacks {
		e, f := rep.Engine[i], rep.Fixed[i]
		fixed += f.SMS
		engine += e.SMS
		if e.SMS > 50 {
			t.Errorf("%s: the engine let %d SMS through, want ≤ 50", name, e.SMS)
		}
		if e.Never {
			t.Errorf("%s: never contained", name)
		}
	}
	if fixed < 3*engine {
		t.Errorf("fixed limits alone let %d SMS through, the engine %d: want several times fewer with the engine", fixed, engine)
	}
	if a := rep.LegitAffected(); a > 0.005 {
		t.Errorf("%.2f %% of legitimate verifications challenged or blocked, want ≤ 0.5 %%", 100*a)
	}
	l := rep.EngineLegit
	if n := l.SpikeChallenged + l.SpikeBlocked + l.SpikeRefused; n > 0 {
		t.Errorf("%d legitimate verifications challenged or blocked during the marketing spike, want 0", n)
	}
	if l.Spike == 0 || l.Starts < 2500 {
		t.Errorf("the day had %d legitimate starts, %d in the spike: the simulation is not what it says", l.Starts, l.Spike)
	}
}
