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

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

func main() {
	kubeconfig := flag.String("kubeconfig-out", "tmp/demo/kubeconfig", "Where to write the admin kubeconfig.")
	crds := flag.String("crds", "config/crd/bases", "Directory of CRDs to install.")
	flag.Parse()

	env := &envtest.Environment{CRDDirectoryPaths: []string{*crds}, ErrorIfCRDPathMissing: true}
	if _, err := env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "localcluster: start control plane:", err)
		os.Exit(1)
	}
	code := 0
	if err := writeKubeconfig(env, *kubeconfig); err != nil {
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		code = 1
	} else {
		fmt.Printf("localcluster: API server at %s, kubeconfig %s\n", env.Config.Host, *kubeconfig)
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
		<-stop
	}
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "localcluster: stop:", err)
	}
	os.Exit(code)
}

func writeKubeconfig(env *envtest.Environment, path string) error {
	user, err := env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("add admin user: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}
