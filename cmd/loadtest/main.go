// Command loadtest is `make loadtest`: 60 seconds of mixed traffic against regmo by users of
// every role (70 % reads, 25 % PATCH with If-Match, 5 % lists and reports), with PostgreSQL
// restarted once in the middle (devdb restart: pg_ctl restart -m fast), or with -kill killed
// (SIGKILL to every process of the cluster) and started again. It starts its own
// cluster (fsync on, unless -fast) and regmo, and checks what issue 7 requires:
//
//   - while the database is away, requests fail fast with 503 and a problem body, never 500
//     and never a hang; no 5xx outside the restart window;
//   - regmo answers 2xx again within 5 s of the database's return, without a restart;
//   - every PATCH acknowledged with 2xx is in the database with its version and value;
//   - afterwards goroutines, requests in flight and database connections are back at their
//     idle level (from GET /metrics and pg_stat_activity);
//   - (issue 15) the e-mail scheduler, run on every one of -instances instances throughout the
//     traffic and the restart, sent each of the slot's e-mails to a mailpit exactly once:
//     0 duplicate and 0 missing.
//
// It prints requests by status class, the longest time /readyz was not 200 and the lost
// writes, and exits 1 when a requirement fails.
//
// With -ha it is `make loadtest-ha` (issue 16, ha.go) instead: etcd, two PostgreSQL nodes
// under Patroni in synchronous mode and two regmo instances behind HAProxy; the same traffic
// through HAProxy, the primary killed (Patroni, postmaster and backends) and later one regmo
// instance killed during a big import. It checks that no acknowledged write is missing on the
// new primary, that the import is all or nothing, that regmo answers only 503 while there is
// no primary, that writes succeed again within -failover-limit of the kill and that the
// surviving instance returns to idle.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/bremen/regmo/cmd/internal/harness"
)

type config struct {
	bin, dir          string
	duration          time.Duration
	restartAt         time.Duration
	down              time.Duration
	freeze            time.Duration
	kill              bool
	rate              int
	workers           int
	perRessort        int
	fast              bool
	instances         int
	recoveryLimit     time.Duration
	failFastLimit     time.Duration
	hangLimit         time.Duration
	goroutineSlack    int
	settleTimeout     time.Duration
	regmoRequestLimit time.Duration
	// make loadtest-ha (ha.go)
	ha            bool
	importRows    int
	importAt      time.Duration
	failoverLimit time.Duration
}

func main() {
	var cfg config
	flag.StringVar(&cfg.bin, "bin", "bin", "directory with regmo and devdb")
	flag.StringVar(&cfg.dir, "dir", "", "working directory for the cluster and logs (default: a new temporary one)")
	flag.DurationVar(&cfg.duration, "duration", 60*time.Second, "length of the traffic")
	flag.DurationVar(&cfg.restartAt, "restart-at", 0, "when to restart PostgreSQL (default: half of -duration)")
	flag.DurationVar(&cfg.down, "down", 0, "instead of pg_ctl restart, stop PostgreSQL for this long and start it again")
	flag.DurationVar(&cfg.freeze, "freeze", 0, "instead of a restart, stop PostgreSQL's processes with SIGSTOP for this long (a hung database: connections open, no answers)")
	flag.BoolVar(&cfg.kill, "kill", false, "instead of a restart, SIGKILL PostgreSQL (the postmaster and every backend) and start it again: crash recovery from the WAL")
	flag.IntVar(&cfg.rate, "rate", 200, "requests per second to start (open loop)")
	flag.IntVar(&cfg.workers, "workers", 32, "requests in flight at most")
	flag.IntVar(&cfg.perRessort, "registers", 100, "registers per Ressort (10 Ressorts; plus 10 Onlinedienste each)")
	flag.IntVar(&cfg.instances, "instances", 3, "e-mail scheduler instances running the same slot during the traffic (regmo notify run --at)")
	flag.BoolVar(&cfg.fast, "fast", false, "run PostgreSQL with fsync off (devdb -fast)")
	flag.DurationVar(&cfg.recoveryLimit, "recovery-limit", 5*time.Second, "longest allowed time from the database's return to regmo's first 2xx")
	flag.DurationVar(&cfg.failFastLimit, "fail-fast-limit", 6*time.Second, "longest allowed time for a 503 (the connect timeout is 5 s)")
	flag.DurationVar(&cfg.hangLimit, "hang-limit", 10*time.Second, "a request taking longer counts as a hang")
	flag.IntVar(&cfg.goroutineSlack, "goroutine-slack", 3, "goroutines allowed above the idle level after the run")
	flag.DurationVar(&cfg.settleTimeout, "settle", 20*time.Second, "how long to wait for goroutines and connections to settle after the run")
	flag.BoolVar(&cfg.ha, "ha", false, "the failover test of make loadtest-ha instead: two PostgreSQL nodes under Patroni (etcd), two regmo instances behind HAProxy; the primary is killed, later one regmo instance during a big import")
	flag.IntVar(&cfg.importRows, "import-rows", 20000, "with -ha: registers in the import during which a regmo instance is killed")
	flag.DurationVar(&cfg.importAt, "import-at", 0, "with -ha: when to start that import (default: 60 % of -duration)")
	flag.DurationVar(&cfg.failoverLimit, "failover-limit", 30*time.Second, "with -ha: longest allowed time from the primary's kill to the first 2xx of a write")
	flag.Parse()
	if cfg.restartAt == 0 {
		cfg.restartAt = cfg.duration / 2
		if cfg.ha {
			cfg.restartAt = cfg.duration / 4
		}
	}
	cfg.regmoRequestLimit = 20 * time.Second
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	runner := run
	if cfg.ha {
		runner = runHA
	}
	ok, err := runner(ctx, cfg)
	interrupted := ctx.Err() != nil
	stop()
	switch {
	case interrupted:
		fmt.Fprintln(os.Stderr, "loadtest:", harness.ErrInterrupted)
		os.Exit(1)
	case err != nil:
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	case !ok:
		os.Exit(1)
	}
}
