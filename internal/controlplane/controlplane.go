// Package controlplane runs a local kube-apiserver and etcd (the binaries hack/ builds into bin/k8s) with the
// operator's CRDs installed and an admin kubeconfig written, and builds the manager binary to run against it.
// The demo's local cluster, the process-level tests and the scale benchmark share it.
package controlplane

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/tether/integration-operator/api/v1alpha1"
)

// ControlPlane is a running API server with the CRDs installed.
type ControlPlane struct {
	env *envtest.Environment
	// Config and Client reach the API server as an administrator.
	Config *rest.Config
	Client client.Client
	// Kubeconfig is the path of an admin kubeconfig for other processes.
	Kubeconfig string
}

// Start starts the control plane of the project at root and writes an admin kubeconfig to kubeconfig. The
// binaries come from KUBEBUILDER_ASSETS, or root/bin/k8s when it is unset.
func Start(root, kubeconfig string) (*ControlPlane, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		os.Setenv("KUBEBUILDER_ASSETS", filepath.Join(root, "bin", "k8s"))
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	cp := &ControlPlane{env: env, Config: cfg, Kubeconfig: kubeconfig}
	if err := cp.init(); err != nil {
		_ = env.Stop()
		return nil, err
	}
	return cp, nil
}

func (cp *ControlPlane) init() error {
	user, err := cp.env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("add admin user: %w", err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(cp.Kubeconfig), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(cp.Kubeconfig, kc, 0o600); err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	cp.Client, err = client.New(cp.Config, client.Options{Scheme: scheme})
	return err
}

// Stop stops the API server and etcd.
func (cp *ControlPlane) Stop() error { return cp.env.Stop() }

// BuildManager builds the manager command of the project at root into out.
func BuildManager(ctx context.Context, root, out string) error {
	build := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/manager")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build manager: %v: %s", err, b)
	}
	return nil
}
