// Command localcluster runs a local control plane (etcd and kube-apiserver from bin/k8s) with the operator's
// CRDs installed, writes an admin kubeconfig, and runs until interrupted. `make demo` uses it.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/tether/integration-operator/internal/controlplane"
)

func main() {
	kubeconfig := flag.String("kubeconfig-out", "tmp/demo/kubeconfig", "Where to write the admin kubeconfig.")
	root := flag.String("root", ".", "The project's root folder (CRDs in config/crd/bases, binaries in bin/k8s).")
	flag.Parse()

	abs, err := filepath.Abs(*root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		os.Exit(1)
	}
	cp, err := controlplane.Start(abs, *kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		os.Exit(1)
	}
	fmt.Printf("localcluster: API server at %s, kubeconfig %s\n", cp.Config.Host, *kubeconfig)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	if err := cp.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "localcluster: stop:", err)
	}
}
