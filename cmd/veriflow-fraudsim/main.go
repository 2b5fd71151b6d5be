// Command veriflow-fraudsim is `make fraud-sim`: it replays a day of
// legitimate verifications and SMS-pumping attacks against the fixed
// limits alone and with the fraud engine (internal/fraud/sim), on a
// throwaway PostgreSQL (or DATABASE_URL), and prints the table.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/veriflow/veriflow/internal/fraud/sim"
	"github.com/veriflow/veriflow/internal/localpg"
	"github.com/veriflow/veriflow/internal/store"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "veriflow-fraudsim:", err)
		os.Exit(1)
	}
}

func run() error {
	seed := flag.Uint64("seed", 1, "random seed (the same seed replays the same day)")
	perDay := flag.Int("legit", 6000, "legitimate verifications on an ordinary day")
	days := flag.Int("history", 14, "days of legitimate history seeded before the day")
	short := flag.Bool("short", false, "the CI form: 3 000 legitimate verifications a day")
	flag.Parse()
	if *short {
		*perDay = 3000
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		pg, err := localpg.Start(ctx, localpg.Options{})
		if err != nil {
			return err
		}
		defer func() { _ = pg.Stop() }()
		url = pg.URL()
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	rep, err := sim.Run(ctx, st, sim.Config{Seed: *seed, LegitPerDay: *perDay, HistoryDays: *days,
		Tenant: fmt.Sprintf("sim-%d-%d", *seed, os.Getpid()), Progress: func(s string) { log.Info(s) }})
	if err != nil {
		return err
	}
	fmt.Print(rep.Table())
	return nil
}
