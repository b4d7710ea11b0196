// Command sandbox serves a platform simulator on a local address, seeded with a realistic store, for the demo
// and for trying the operator without a real account.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/tether/integration-operator/connectors/shopify"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18081", "Address to serve on.")
	platform := flag.String("platform", "Shopify", "Which platform to simulate.")
	orders := flag.Int("orders", 3000, "How many orders to seed.")
	products := flag.Int("products", 200, "How many products to seed.")
	locations := flag.Int("locations", 4, "How many locations to seed.")
	token := flag.String("token", "shpat_sandbox_demo_token", "The access token the sandbox accepts.")
	plan := flag.String("plan", "standard", "Rate-limit plan: standard, advanced, plus or unlimited.")
	flag.Parse()

	if *platform != "Shopify" {
		fmt.Fprintf(os.Stderr, "sandbox: --platform %s: this build simulates Shopify only\n", *platform)
		os.Exit(2)
	}
	opts := shopify.SandboxOptions{
		AccessToken: *token,
		ShopDomain:  "acme.myshopify.com",
		ShopName:    "Acme",
		Seed:        shopify.SeedOptions{Seed: 1, Orders: *orders, Products: *products, Locations: *locations},
	}
	switch *plan {
	case "standard":
		opts.RateLimit = shopify.PlanStandard
	case "advanced":
		opts.RateLimit = shopify.PlanAdvanced
	case "plus":
		opts.RateLimit = shopify.PlanPlus
	case "unlimited":
		opts.Unlimited = true
	default:
		fmt.Fprintf(os.Stderr, "sandbox: --plan %q: want standard, advanced, plus or unlimited\n", *plan)
		os.Exit(2)
	}
	sb := shopify.NewSandbox(opts)
	c := sb.Counts()
	fmt.Printf("sandbox: Shopify shop %s on http://%s: %d orders, %d products (%d variants), %d locations, %d inventory levels\n",
		opts.ShopDomain, *listen, c.Orders, c.Products, c.Variants, c.Locations, c.InventoryLevels)
	srv := &http.Server{Addr: *listen, Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}
