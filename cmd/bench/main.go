// Command bench measures the operator and prints the numbers with the machine they came from:
//
//	bench engine    [-orders N]            engine orders/s vs the store's ceiling
//	bench ratelimit [-orders N] [-plan P]  a paged backfill at a Shopify plan's bucket vs what it allows
//	bench amazon    [-orders N]            an Amazon backfill at the documented getOrderItems bucket vs what it allows
//	bench bulk      [-orders N]            bulk operation vs paged backfill
//	bench scale     [-integrations N] [-idle D]  N Integrations on a real API server: convergence, RSS, API calls
//	bench memory    -endpoint URL [-token T]  a large backfill from bin/sandbox in another process: RSS as orders grow
//	bench all                              engine, ratelimit and bulk at their default sizes
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "github.com/tether/integration-operator/connectors/all"
	"github.com/tether/integration-operator/connectors/shopify"
	"github.com/tether/integration-operator/internal/bench"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench engine|ratelimit|bulk|all [flags]")
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	orders := fs.Int("orders", 0, "How many orders (0: the command's default).")
	plan := fs.String("plan", "standard", "Shopify plan for ratelimit: standard, advanced or plus.")
	integrations := fs.Int("integrations", 1000, "How many Integrations for scale.")
	endpoint := fs.String("endpoint", "", "For memory: the URL of a Shopify sandbox served by bin/sandbox.")
	token := fs.String("token", "", "For memory: the sandbox's access token (bin/sandbox --secrets writes it).")
	idle := fs.Duration("idle", 2*time.Minute, "The idle window after convergence, for scale.")
	_ = fs.Parse(args)

	dir, err := os.MkdirTemp("", "tether-bench-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	fmt.Printf("machine: %s\n", bench.Machine())
	run := map[string]bool{cmd: true}
	if cmd == "all" {
		run = map[string]bool{"engine": true, "ratelimit": true, "bulk": true}
	}
	if run["engine"] {
		for _, bulk := range []bool{false, true} {
			r, err := bench.Engine(ctx, filepath.Join(dir, fmt.Sprint(bulk)), or(*orders, 20000), bulk)
			if err != nil {
				fail(err)
			}
			how := "paged reads"
			if bulk {
				how = "bulk operation"
			}
			fmt.Printf("engine (%s): %d orders (%d lines) in %.2fs = %.0f orders/s end to end; the same pages from memory %.0f orders/s; store ceiling %.0f orders/s; ratios %.2f end to end, %.2f from memory\n",
				how, r.Orders, r.Lines, r.EngineSeconds, r.EngineOrdersPerSec, r.PipelineOrdersPerSec, r.StoreOrdersPerSec, r.Ratio, r.PipelineRatio)
		}
	}
	if run["ratelimit"] {
		rl := map[string]shopify.RateLimit{"standard": shopify.PlanStandard, "advanced": shopify.PlanAdvanced, "plus": shopify.PlanPlus}[*plan]
		if rl.RestoreRate == 0 {
			fail(fmt.Errorf("-plan %q: want standard, advanced or plus", *plan))
		}
		r, err := bench.RateLimit(ctx, or(*orders, 1500), rl)
		if err != nil {
			fail(err)
		}
		fmt.Printf("ratelimit (%s: bucket %.0f, restore %.0f/s): %d orders in %.1fs = %.1f orders/s; the bucket allows %.1f orders/s for the %.0f cost points used; efficiency %.2f; %d requests, %d throttled\n",
			*plan, rl.MaximumAvailable, rl.RestoreRate, r.Orders, r.Seconds, r.OrdersPerSec, r.CeilingPerSec, r.QueryCost, r.Efficiency, r.Requests, r.ThrottledRequests)
	}
	if run["scale"] {
		root, _ := os.Getwd()
		r, err := bench.Scale(ctx, root, filepath.Join(root, "bin", "k8s"), *integrations, *idle)
		if err != nil {
			fail(err)
		}
		fmt.Printf("scale: %d integrations Connected and synced once in %.1fs; manager peak RSS %.0f MiB; API requests until then %v\n",
			r.Integrations, r.ConvergeSeconds, float64(r.PeakRSS)/(1<<20), r.APIRequests)
		fmt.Printf("scale: idle %.0fs: %.0f API requests, %.0f status writes (%.4f per integration)\n",
			r.IdleSeconds, r.IdleRequests, r.IdleStatusWrites, r.IdleRequests/float64(r.Integrations))
	}
	if run["memory"] {
		if *endpoint == "" {
			fail(fmt.Errorf("memory needs -endpoint, a Shopify sandbox from bin/sandbox"))
		}
		r, err := bench.Memory(ctx, dir, *endpoint, *token, int64(or(*orders, 100000)))
		if err != nil {
			fail(err)
		}
		fmt.Print(r)
	}
	if run["amazon"] {
		r, err := bench.AmazonOrders(ctx, or(*orders, 90))
		if err != nil {
			fail(err)
		}
		fmt.Printf("amazon (getOrderItems 0.5/s, burst 30): %d orders in %.1fs = %.2f orders/s; the bucket allows %.2f orders/s (%.0fs); efficiency %.2f; %d requests, %d throttled\n",
			r.Orders, r.Seconds, r.OrdersPerSec, r.CeilingPerSec, r.CeilingSeconds, r.Efficiency, r.Requests, r.ThrottledRequests)
	}
	if run["bulk"] {
		r, err := bench.Bulk(ctx, or(*orders, 100000))
		if err != nil {
			fail(err)
		}
		fmt.Printf("bulk: %d orders: bulk %.1fs, paged %.1fs (rate limit off: %.1fx); query cost bulk %.0f vs paged %.0f (under a rate limit: %.0fx)\n",
			r.Orders, r.BulkSeconds, r.PagedSeconds, r.SpeedUp, r.BulkCost, r.PagedCost, r.CostRatio)
	}
}

func or(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
