package bench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/internal/controlplane"
)

// ScaleResult is what a manager process did with many Integrations on a real API server.
type ScaleResult struct {
	Integrations int
	// ConvergeSeconds is the time from creating the Integrations until every one is Connected with its first
	// sync done.
	ConvergeSeconds float64
	// PeakRSS is the manager process's peak resident set size.
	PeakRSS int64
	// APIRequests counts the manager's requests to the API server until convergence, by method.
	APIRequests map[string]float64
	// IdleSeconds is the idle window; IdleRequests and IdleStatusWrites what the manager sent to the API
	// server during it.
	IdleSeconds      float64
	IdleRequests     float64
	IdleStatusWrites float64
}

// Scale starts a control plane (binaries in assets), a Shopify sandbox and the manager binary, applies n
// Integrations (daily syncs) and measures convergence, memory and API traffic, then an idle window.
func Scale(ctx context.Context, root, assets string, n int, idle time.Duration) (ScaleResult, error) {
	r := ScaleResult{Integrations: n}
	dir, err := os.MkdirTemp("", "tether-scale-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	manager := filepath.Join(dir, "manager")
	if err := controlplane.BuildManager(ctx, root, manager); err != nil {
		return r, err
	}
	os.Setenv("KUBEBUILDER_ASSETS", assets)
	cp, err := controlplane.Start(root, filepath.Join(dir, "kubeconfig"))
	if err != nil {
		return r, err
	}
	defer cp.Stop()
	c, kubeconfig := cp.Client, cp.Kubeconfig

	p, _ := connectors.Lookup(v1alpha1.PlatformShopify)
	sb := p.NewSandbox(connectors.SandboxOptions{Seed: 9, Orders: 5, Products: 3, Locations: 1, Unlimited: true, Fast: true})
	srv := httptest.NewServer(sb)
	defer srv.Close()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return r, err
	}
	metricsAddr := l.Addr().String()
	l.Close()
	cmd := exec.CommandContext(ctx, manager, "--kubeconfig", kubeconfig, "--store", filepath.Join(dir, "tether.db"),
		"--metrics-bind-address", metricsAddr, "--health-probe-bind-address", "0", "--zap-log-level", "error")
	logf, _ := os.Create(filepath.Join(dir, "manager.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "shop"}, Data: sb.Credentials()}
	if err := c.Create(ctx, secret); err != nil {
		return r, err
	}
	conn := sb.Connection(srv.URL)
	start := time.Now()
	for i := 0; i < n; i++ {
		in := &v1alpha1.Integration{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("shop-%04d", i)},
			Spec: v1alpha1.IntegrationSpec{Platform: v1alpha1.PlatformShopify, Connection: &conn,
				Auth: v1alpha1.Auth{SecretRef: v1alpha1.LocalObjectReference{Name: "shop"}},
				// A week of history: paged reads, so the measure is the controller, not bulk-job polling.
				Sync: v1alpha1.SyncSpec{Frequency: v1alpha1.FrequencyDaily,
					HistoricalData: &v1alpha1.HistoricalData{Duration: &metav1.Duration{Duration: 7 * 24 * time.Hour}}}},
		}
		if err := c.Create(ctx, in); err != nil {
			return r, err
		}
	}
	for {
		list := &v1alpha1.IntegrationList{}
		if err := c.List(ctx, list); err != nil {
			return r, err
		}
		done := 0
		for _, it := range list.Items {
			if it.Status.State == v1alpha1.StateConnected && it.Status.LastSyncTime != nil {
				done++
			}
		}
		if done == n {
			break
		}
		if time.Since(start) > 30*time.Minute {
			return r, fmt.Errorf("only %d of %d integrations connected after 30 minutes", done, n)
		}
		time.Sleep(500 * time.Millisecond)
	}
	r.ConvergeSeconds = time.Since(start).Seconds()
	// Let the channel statuses settle before the idle window starts.
	time.Sleep(5 * time.Second)
	before, err := scrapeRequests(metricsAddr)
	if err != nil {
		return r, err
	}
	r.APIRequests = before
	time.Sleep(idle)
	after, err := scrapeRequests(metricsAddr)
	if err != nil {
		return r, err
	}
	r.IdleSeconds = idle.Seconds()
	for k, v := range after {
		r.IdleRequests += v - before[k]
	}
	r.IdleStatusWrites = after["PATCH"] - before["PATCH"] + after["PUT"] - before["PUT"]
	r.PeakRSS = peakRSSOf(cmd.Process.Pid)
	return r, nil
}

// scrapeRequests reads client-go's request counter from the manager's metrics endpoint, summed by method.
func scrapeRequests(addr string) (map[string]float64, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "rest_client_requests_total{") {
			continue
		}
		i := strings.Index(line, `method="`)
		j := strings.LastIndex(line, " ")
		if i < 0 || j < 0 {
			continue
		}
		method := line[i+8:]
		method = method[:strings.Index(method, `"`)]
		v, _ := strconv.ParseFloat(line[j+1:], 64)
		out[method] += v
	}
	return out, sc.Err()
}

// peakRSSOf reads a process's peak resident set size from /proc.
func peakRSSOf(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
