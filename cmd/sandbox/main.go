// Command sandbox serves platform simulators on local addresses, each seeded with a realistic store, for the
// demo and for trying the operator without real accounts. It also writes the Secrets that hold each
// sandbox's credentials, ready for kubectl apply.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	_ "github.com/tether/integration-operator/connectors/all"
)

func main() {
	host := flag.String("host", "127.0.0.1", "Address to serve on.")
	port := flag.Int("port", 18081, "Port of the first platform; each platform's port is this plus its place in the platform enum (Shopify +0, WooCommerce +1, ...).")
	only := flag.String("platform", "all", "Which platform to simulate, or all.")
	orders := flag.Int("orders", 3000, "How many orders each store has.")
	products := flag.Int("products", 200, "How many products each store has.")
	locations := flag.Int("locations", 4, "How many locations each store has.")
	unlimited := flag.Bool("unlimited", false, "Turn the platforms' rate limits off.")
	secrets := flag.String("secrets", "", "Write a Secret per platform (named acme-<platform>) to this file.")
	namespace := flag.String("namespace", "default", "Namespace of the written Secrets.")
	redirect := flag.String("oauth-redirect", "", "The operator's OAuth callback URL to register with each sandbox's app "+
		"(<--oauth-external-url>/oauth/callback); the Secrets of auth type OAuth (acme-<platform>-app) are written too.")
	flag.Parse()

	var platforms []connectors.Platform
	for _, p := range connectors.Platforms() {
		if p.NewSandbox != nil && (*only == "all" || strings.EqualFold(*only, string(p.Name))) {
			platforms = append(platforms, p)
		}
	}
	if len(platforms) == 0 {
		fmt.Fprintf(os.Stderr, "sandbox: --platform %s: no such sandbox in this build\n", *only)
		os.Exit(2)
	}

	var docs []string
	errs := make(chan error, len(platforms))
	for _, p := range platforms {
		sb := p.NewSandbox(connectors.SandboxOptions{Seed: 1, Orders: *orders, Products: *products, Locations: *locations, Unlimited: *unlimited})
		addr := net.JoinHostPort(*host, strconv.Itoa(*port+slices.Index(v1alpha1.AllPlatforms, p.Name)))
		fmt.Printf("sandbox: %-12s http://%s  %v\n", p.Name, addr, sb.Expected())
		srv := &http.Server{Addr: addr, Handler: sb, ReadHeaderTimeout: 10 * time.Second}
		go func() { errs <- srv.ListenAndServe() }()
		doc, err := secretFor("acme-"+strings.ToLower(string(p.Name)), *namespace, sb.Credentials())
		if err != nil {
			fmt.Fprintln(os.Stderr, "sandbox:", err)
			os.Exit(1)
		}
		docs = append(docs, doc)
		if osb, ok := sb.(connectors.OAuthSandbox); ok && *redirect != "" {
			osb.RegisterRedirect(*redirect)
			user, pass := osb.Login()
			fmt.Printf("sandbox: %-12s OAuth app registered for %s; merchant login %s / %s\n", p.Name, *redirect, user, pass)
			doc, err := secretFor("acme-"+strings.ToLower(string(p.Name))+"-app", *namespace, osb.AppCredentials())
			if err != nil {
				fmt.Fprintln(os.Stderr, "sandbox:", err)
				os.Exit(1)
			}
			docs = append(docs, doc)
		}
	}
	if *secrets != "" {
		if err := os.WriteFile(*secrets, []byte(strings.Join(docs, "---\n")), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "sandbox:", err)
			os.Exit(1)
		}
	}
	if err := <-errs; err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

func secretFor(name, namespace string, creds map[string][]byte) (string, error) {
	s := corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Data:       creds,
	}
	out, err := yaml.Marshal(s)
	return string(out), err
}
