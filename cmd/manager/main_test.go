package main

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

func TestKeySecretName(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "tether-system")
	cases := map[string]types.NamespacedName{
		"":                  {Namespace: "tether-system", Name: "tether-oauth-key"},
		"ops/signing-key":   {Namespace: "ops", Name: "signing-key"},
		"default/tether-ok": {Namespace: "default", Name: "tether-ok"},
	}
	for in, want := range cases {
		got, err := keySecretName(in)
		if err != nil || got != want {
			t.Errorf("keySecretName(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"no-namespace", "/name", "ns/"} {
		if _, err := keySecretName(bad); err == nil {
			t.Errorf("keySecretName(%q) accepted a value that is not namespace/name", bad)
		}
	}
}
