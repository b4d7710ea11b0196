package controllers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/internal/conditions"
	"github.com/tether/integration-operator/internal/tether"
)

const waitLong = 90 * time.Second

func createSecret(t *testing.T, ns, name string, data map[string]string) {
	t.Helper()
	secrets.remember(data)
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data}
	if err := k8s.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func shopifyIntegration(ns, name, endpoint string) *v1alpha1.Integration {
	conn := v1alpha1.Connection{ShopDomain: "acme.myshopify.com", Endpoint: endpoint}
	return newIntegration(ns, name, v1alpha1.PlatformShopify, conn)
}

func newIntegration(ns, name string, platform v1alpha1.Platform, conn v1alpha1.Connection) *v1alpha1.Integration {
	return &v1alpha1.Integration{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.IntegrationSpec{
			Platform:   platform,
			Connection: &conn,
			Auth:       v1alpha1.Auth{SecretRef: v1alpha1.LocalObjectReference{Name: name}},
			Sync: v1alpha1.SyncSpec{
				HistoricalData: &v1alpha1.HistoricalData{Duration: &metav1.Duration{Duration: 3 * 365 * 24 * time.Hour}},
			},
		},
	}
}

func getIntegration(t *testing.T, ns, name string) *v1alpha1.Integration {
	t.Helper()
	obj := &v1alpha1.Integration{}
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

// waitState waits until the integration reports the state with its current generation observed (or stalled).
func waitState(t *testing.T, ns, name string, want v1alpha1.State) *v1alpha1.Integration {
	t.Helper()
	var obj *v1alpha1.Integration
	eventually(t, waitLong, "integration "+name+" to be "+string(want), func() (bool, string) {
		obj = getIntegration(t, ns, name)
		ready := conditions.Get(obj, v1alpha1.ConditionReady)
		msg := "no Ready condition"
		if ready != nil {
			msg = ready.Reason + ": " + ready.Message
		}
		return obj.Status.State == want && obj.Status.ObservedGeneration == obj.Generation, string(obj.Status.State) + " " + msg
	})
	return obj
}

func TestIntegrationConnectsSyncsAndReports(t *testing.T) {
	ns := newNamespace(t)
	sb := startShopify(t, 300)
	createSecret(t, ns, "acme", sb.secretData())
	in := shopifyIntegration(ns, "acme", sb.URL)
	if err := k8s.Create(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if got := kstatusOf(t, getIntegration(t, ns, "acme")); got != status.InProgressStatus {
		t.Errorf("kstatus of a new integration = %s, want InProgress", got)
	}

	obj := waitState(t, ns, "acme", v1alpha1.StateConnected)
	if got := kstatusOf(t, obj); got != status.CurrentStatus {
		t.Errorf("kstatus of a connected integration = %s, want Current", got)
	}
	if health, msg := argoHealth(t, obj); health != "Healthy" {
		t.Errorf("Argo CD health of a connected integration = %s (%s), want Healthy", health, msg)
	}
	if !conditions.IsTrue(obj, v1alpha1.ConditionConnected) {
		t.Error("Connected condition is not True")
	}
	if obj.Status.LastSyncTime == nil || obj.Status.NextSyncTime == nil {
		t.Errorf("lastSyncTime/nextSyncTime not set: %+v", obj.Status)
	}
	if next := obj.Status.NextSyncTime.Sub(obj.Status.LastSyncTime.Time); next < time.Hour || next > 66*time.Minute {
		t.Errorf("next sync %s after the last one; want the hourly interval plus at most 10%% jitter", next)
	}
	if len(obj.Status.Runs) != 1 || obj.Status.Runs[0].Result != "Succeeded" || obj.Status.Runs[0].Trigger != TriggerSpec {
		t.Errorf("runs = %+v, want one succeeded run triggered by the spec", obj.Status.Runs)
	}
	if obj.Status.Channel != "acme" {
		t.Errorf("status.channel = %q, want the integration's own channel", obj.Status.Channel)
	}

	// The store holds exactly the sandbox's data, and status counts it.
	want := sb.Expected()
	counts, err := testStore.Counts(context.Background(), ns+"/acme")
	if err != nil {
		t.Fatal(err)
	}
	for kind, n := range want {
		if counts[kind] != n {
			t.Errorf("store has %d %s, sandbox has %d", counts[kind], kind, n)
		}
	}
	totals := map[v1alpha1.DataType]int64{}
	for _, p := range obj.Status.Progress {
		totals[p.Entity] = p.Total
		if p.Cursor == nil || p.Resumable {
			t.Errorf("progress of %s: cursor %v resumable %v; want a cursor and a finished run", p.Entity, p.Cursor, p.Resumable)
		}
	}
	if totals[v1alpha1.DataOrders] != want[tether.KindSalesOrder] || totals[v1alpha1.DataProducts] != want[tether.KindSKU] {
		t.Errorf("status totals %v do not match the sandbox %v", totals, want)
	}

	// Each integration becomes its own channel when it names none, and the channel counts its orders.
	eventually(t, waitLong, "channel acme to count the orders", func() (bool, string) {
		ch := &v1alpha1.Channel{}
		if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "acme"}, ch); err != nil {
			return false, err.Error()
		}
		return ch.Status.Orders == want[tether.KindSalesOrder] && len(ch.Status.Integrations) == 1 &&
			ch.Status.Integrations[0].Name == "acme", fmt.Sprintf("%+v", ch.Status)
	})

	// kubectl shows the columns an admin expects.
	out := kubectl(t, "get", "integrations", "-n", ns)
	for _, col := range []string{"PLATFORM", "CHANNEL", "STATE", "READY", "STATUS", "LAST SYNC", "AGE", "Shopify", "Connected"} {
		if !strings.Contains(out, col) {
			t.Errorf("kubectl get integrations lacks %q:\n%s", col, out)
		}
	}

	// A reconcile request syncs now and is echoed; nothing new means nothing written.
	requestSync(t, ns, "acme", "first")
	eventually(t, waitLong, "the requested sync to be handled", func() (bool, string) {
		obj = getIntegration(t, ns, "acme")
		return obj.Status.LastHandledReconcileAt == "first" && len(obj.Status.Runs) == 2, obj.Status.LastHandledReconcileAt
	})
	if r := obj.Status.Runs[0]; r.Trigger != TriggerRequested || r.Result != "Succeeded" || r.Written != 0 {
		t.Errorf("requested run = %+v; want a succeeded requested run that wrote nothing new", r)
	}

	// Changes on the platform arrive with the next sync, as updates rather than duplicates.
	sb.TouchOrders(5)
	requestSync(t, ns, "acme", "second")
	eventually(t, waitLong, "the second requested sync", func() (bool, string) {
		obj = getIntegration(t, ns, "acme")
		return obj.Status.LastHandledReconcileAt == "second" && len(obj.Status.Runs) == 3, obj.Status.LastHandledReconcileAt
	})
	if r := obj.Status.Runs[0]; r.Written < 5 {
		t.Errorf("after 5 orders changed the run wrote %d records", r.Written)
	}
	counts, _ = testStore.Counts(context.Background(), ns+"/acme")
	if counts[tether.KindSalesOrder] != want[tether.KindSalesOrder] {
		t.Errorf("orders after update = %d, want %d (no duplicates)", counts[tether.KindSalesOrder], want[tether.KindSalesOrder])
	}
}

func TestPausedIntegrationMakesNoCalls(t *testing.T) {
	ns := newNamespace(t)
	sb := startShopify(t, 50)
	createSecret(t, ns, "paused", sb.secretData())
	in := shopifyIntegration(ns, "paused", sb.URL)
	in.Spec.Paused = true
	if err := k8s.Create(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	obj := waitState(t, ns, "paused", v1alpha1.StatePaused)
	ready := conditions.Get(obj, v1alpha1.ConditionReady)
	if ready.Status != metav1.ConditionTrue || ready.Reason != v1alpha1.ReasonPaused {
		t.Errorf("Ready = %s/%s, want True/Paused", ready.Status, ready.Reason)
	}
	if got := kstatusOf(t, obj); got != status.CurrentStatus {
		t.Errorf("kstatus of a paused integration = %s, want Current", got)
	}
	if health, _ := argoHealth(t, obj); health != "Suspended" {
		t.Errorf("Argo CD health of a paused integration = %s, want Suspended", health)
	}
	// A reconcile request and a spec change while paused still make no call.
	requestSync(t, ns, "paused", "while-paused")
	patchSpec(t, ns, "paused", func(in *v1alpha1.Integration) { in.Spec.Sync.Frequency = v1alpha1.FrequencyDaily })
	obj = waitState(t, ns, "paused", v1alpha1.StatePaused)
	if n := sb.Requests(); n != 0 {
		t.Fatalf("the sandbox got %d requests from a paused integration, want 0", n)
	}

	// Unpausing connects and syncs.
	patchSpec(t, ns, "paused", func(in *v1alpha1.Integration) { in.Spec.Paused = false })
	obj = waitState(t, ns, "paused", v1alpha1.StateConnected)
	if sb.Requests() == 0 || obj.Status.LastSyncTime == nil {
		t.Fatalf("unpausing did not sync: %d requests, status %+v", sb.Requests(), obj.Status)
	}

	// Pausing again stops calls at once.
	patchSpec(t, ns, "paused", func(in *v1alpha1.Integration) { in.Spec.Paused = true })
	waitState(t, ns, "paused", v1alpha1.StatePaused)
	before := sb.Requests()
	requestSync(t, ns, "paused", "paused-again")
	// The request annotation is not handled while paused; the object stays Paused and the sandbox idle.
	waitState(t, ns, "paused", v1alpha1.StatePaused)
	if n := sb.Requests(); n != before {
		t.Fatalf("the sandbox got %d requests after pausing, want 0", n-before)
	}
}

func TestCredentialProblemsDisconnect(t *testing.T) {
	ns := newNamespace(t)
	sb := startShopify(t, 20)
	in := shopifyIntegration(ns, "creds", sb.URL)
	if err := k8s.Create(context.Background(), in); err != nil {
		t.Fatal(err)
	}

	// No Secret: Disconnected, naming the Secret, and kstatus Failed.
	obj := waitState(t, ns, "creds", v1alpha1.StateDisconnected)
	ready := conditions.Get(obj, v1alpha1.ConditionReady)
	if ready.Reason != v1alpha1.ReasonCredentialsNotFound || !strings.Contains(ready.Message, `Secret "creds" not found`) {
		t.Errorf("Ready = %s: %s", ready.Reason, ready.Message)
	}
	if got := kstatusOf(t, obj); got != status.FailedStatus {
		t.Errorf("kstatus = %s, want Failed", got)
	}
	if health, msg := argoHealth(t, obj); health != "Degraded" || !strings.Contains(msg, "not found") {
		t.Errorf("Argo CD health of a disconnected integration = %s (%s), want Degraded with the reason", health, msg)
	}
	// The transition is an Event an admin sees in kubectl describe.
	eventually(t, waitLong, "a Warning event for the disconnection", func() (bool, string) {
		list := &eventsv1.EventList{}
		if err := k8s.List(context.Background(), list, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		for _, e := range list.Items {
			if e.Regarding.Name == "creds" && e.Type == corev1.EventTypeWarning && e.Reason == v1alpha1.ReasonCredentialsNotFound {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d events", len(list.Items))
	})

	// A Secret without the key: the message names the key.
	createSecret(t, ns, "creds", map[string]string{"token": "x"})
	eventually(t, waitLong, "the missing key to be reported", func() (bool, string) {
		obj = getIntegration(t, ns, "creds")
		r := conditions.Get(obj, v1alpha1.ConditionReady)
		return r != nil && strings.Contains(r.Message, "has no accessToken"), r.Message
	})

	// A wrong token: the platform refuses it.
	setSecret(t, ns, "creds", map[string]string{"accessToken": "shpat_wrong"})
	eventually(t, waitLong, "the wrong token to be reported", func() (bool, string) {
		obj = getIntegration(t, ns, "creds")
		r := conditions.Get(obj, v1alpha1.ConditionReady)
		return obj.Status.State == v1alpha1.StateDisconnected && r.Reason == v1alpha1.ReasonUnauthorized, r.Reason + ": " + r.Message
	})
	if strings.Contains(obj.Status.Runs[0].Message, "shpat_wrong") || strings.Contains(conditions.Get(obj, v1alpha1.ConditionReady).Message, "shpat_wrong") {
		t.Fatal("the token appears in status")
	}

	// Rotating the Secret reconnects without a restart.
	setSecret(t, ns, "creds", sb.secretData())
	waitState(t, ns, "creds", v1alpha1.StateConnected)
}

func TestInvalidFieldMappingStopsWithoutWriting(t *testing.T) {
	ns := newNamespace(t)
	sb := startShopify(t, 20)
	createSecret(t, ns, "mapped", sb.secretData())
	fm := &v1alpha1.FieldMapping{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bad"},
		Spec: v1alpha1.FieldMappingSpec{Platform: v1alpha1.PlatformShopify, Entities: []v1alpha1.EntityMapping{{
			Entity: v1alpha1.DataProducts,
			Fields: []v1alpha1.FieldRule{{Field: "colour", From: "title"}, {Field: "name", Expression: "recrd.title"}},
		}}},
	}
	if err := k8s.Create(context.Background(), fm); err != nil {
		t.Fatal(err)
	}
	in := shopifyIntegration(ns, "mapped", sb.URL)
	in.Spec.FieldMappingRef = &v1alpha1.LocalObjectReference{Name: "bad"}
	if err := k8s.Create(context.Background(), in); err != nil {
		t.Fatal(err)
	}

	eventually(t, waitLong, "the FieldMapping to report both errors", func() (bool, string) {
		got := &v1alpha1.FieldMapping{}
		_ = k8s.Get(context.Background(), client.ObjectKeyFromObject(fm), got)
		r := conditions.Get(got, v1alpha1.ConditionReady)
		if r == nil {
			return false, "no Ready"
		}
		return r.Status == metav1.ConditionFalse && strings.Contains(r.Message, "colour") &&
			strings.Contains(r.Message, "recrd") && len(got.Status.Integrations) == 1, r.Message
	})
	obj := waitState(t, ns, "mapped", v1alpha1.StateError)
	if r := conditions.Get(obj, v1alpha1.ConditionReady); r.Reason != v1alpha1.ReasonInvalidFieldMapping || !conditions.IsTrue(obj, v1alpha1.ConditionStalled) {
		t.Errorf("Ready = %s: %s; want InvalidFieldMapping and Stalled", r.Reason, r.Message)
	}
	counts, _ := testStore.Counts(context.Background(), ns+"/mapped")
	for k, n := range counts {
		if n != 0 {
			t.Errorf("store has %d %s for an integration whose mapping does not compile", n, k)
		}
	}
	if sb.Requests() != 0 {
		t.Errorf("the sandbox got %d requests; an invalid mapping must stop before any call", sb.Requests())
	}

	// Fixing the mapping resumes the integration.
	fixed := &v1alpha1.FieldMapping{}
	_ = k8s.Get(context.Background(), client.ObjectKeyFromObject(fm), fixed)
	fixed.Spec.Entities[0].Fields = []v1alpha1.FieldRule{{Field: "name", Expression: `record.product.title + " / " + record.title`}}
	if err := k8s.Update(context.Background(), fixed); err != nil {
		t.Fatal(err)
	}
	waitState(t, ns, "mapped", v1alpha1.StateConnected)
	snap, err := testStore.Snapshot(context.Background(), ns+"/mapped")
	if err != nil || len(snap.SKUs) == 0 || !strings.Contains(snap.SKUs[0].Name, " / ") {
		t.Fatalf("SKU names do not follow the FieldMapping expression: %v %+v", err, snap.SKUs[:min(1, len(snap.SKUs))])
	}
}

func TestChannelRefRoutesOrders(t *testing.T) {
	ns := newNamespace(t)
	sb := startShopify(t, 40)
	createSecret(t, ns, "routed", sb.secretData())
	in := shopifyIntegration(ns, "routed", sb.URL)
	in.Spec.ChannelRef = &v1alpha1.LocalObjectReference{Name: "wholesale"}
	if err := k8s.Create(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	// The referenced Channel does not exist yet: the integration waits, kstatus InProgress.
	eventually(t, waitLong, "ChannelNotFound", func() (bool, string) {
		obj := getIntegration(t, ns, "routed")
		r := conditions.Get(obj, v1alpha1.ConditionReady)
		return r != nil && r.Reason == v1alpha1.ReasonChannelNotFound, string(obj.Status.State)
	})
	ch := &v1alpha1.Channel{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "wholesale"}, Spec: v1alpha1.ChannelSpec{Type: "Wholesale"}}
	if err := k8s.Create(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	waitState(t, ns, "routed", v1alpha1.StateConnected)
	snap, _ := testStore.Snapshot(context.Background(), ns+"/routed")
	for id, c := range snap.OrderChannels {
		if c != ns+"/wholesale" {
			t.Fatalf("order %s landed in %s, want %s/wholesale", id, c, ns)
		}
	}
	if len(snap.OrderChannels) != int(sb.Expected()[tether.KindSalesOrder]) {
		t.Fatalf("%d orders routed, sandbox has %d", len(snap.OrderChannels), sb.Expected()[tether.KindSalesOrder])
	}
}

func requestSync(t *testing.T, ns, name, value string) {
	t.Helper()
	obj := getIntegration(t, ns, name)
	patch := client.MergeFrom(obj.DeepCopy())
	if obj.Annotations == nil {
		obj.Annotations = map[string]string{}
	}
	obj.Annotations[v1alpha1.ReconcileRequestAnnotation] = value
	if err := k8s.Patch(context.Background(), obj, patch); err != nil {
		t.Fatal(err)
	}
}

func patchSpec(t *testing.T, ns, name string, change func(*v1alpha1.Integration)) {
	t.Helper()
	obj := getIntegration(t, ns, name)
	patch := client.MergeFrom(obj.DeepCopy())
	change(obj)
	if err := k8s.Patch(context.Background(), obj, patch); err != nil {
		t.Fatal(err)
	}
}

func setSecret(t *testing.T, ns, name string, data map[string]string) {
	t.Helper()
	secrets.remember(data)
	s := &corev1.Secret{}
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, s); err != nil {
		t.Fatal(err)
	}
	s.Data = nil
	s.StringData = data
	if err := k8s.Update(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// kubectl runs the kubectl built into bin/k8s against the test API server as an admin.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	user, err := testEnv.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl"), append([]string{"--kubeconfig", path}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestMappingThatFailsOnSomeRecordsStopsCleanly uses a FieldMapping that compiles but fails at run time on some
// orders: the integration stops with a condition naming the record and the field, and no page is half-written.
func TestMappingThatFailsOnSomeRecordsStopsCleanly(t *testing.T) {
	ns := newNamespace(t)
	sb := startShopify(t, 120)
	createSecret(t, ns, "strict", sb.secretData())
	fm := &v1alpha1.FieldMapping{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "strict"},
		Spec: v1alpha1.FieldMappingSpec{Platform: v1alpha1.PlatformShopify, Entities: []v1alpha1.EntityMapping{{
			Entity: v1alpha1.DataOrders,
			Fields: []v1alpha1.FieldRule{{Field: "total", Expression: `record.name.endsWith("7") ? "n/a" : record.totalPriceSet.shopMoney.amount`}},
		}}},
	}
	if err := k8s.Create(context.Background(), fm); err != nil {
		t.Fatal(err)
	}
	in := shopifyIntegration(ns, "strict", sb.URL)
	in.Spec.FieldMappingRef = &v1alpha1.LocalObjectReference{Name: "strict"}
	in.Spec.Sync.DataTypes = []v1alpha1.DataType{v1alpha1.DataOrders}
	if err := k8s.Create(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	obj := waitState(t, ns, "strict", v1alpha1.StateError)
	ready := conditions.Get(obj, v1alpha1.ConditionReady)
	if ready.Reason != v1alpha1.ReasonMappingFailed || !conditions.IsTrue(obj, v1alpha1.ConditionStalled) ||
		!strings.Contains(ready.Message, "gid://shopify/Order/") || !strings.Contains(ready.Message, "field total") {
		t.Fatalf("Ready = %s: %s; want Stalled MappingFailed naming the order and the field", ready.Reason, ready.Message)
	}
	// Every stored order is complete and mapped by the rule: no order from the failing page was written.
	snap, _ := testStore.Snapshot(context.Background(), ns+"/strict")
	for _, o := range snap.SalesOrders {
		if strings.HasSuffix(o.OrderID, "7") || o.Total == "" || len(o.Lines) == 0 {
			t.Fatalf("a half-mapped order was stored: %+v", o)
		}
	}
	if len(snap.SalesOrders) >= int(sb.Expected()[tether.KindSalesOrder]) {
		t.Fatalf("all %d orders stored although the mapping fails on some", len(snap.SalesOrders))
	}
}

// TestDeployManifestsApply renders config/default, as make deploy does, and applies it to the API server: every
// object (CRDs, RBAC, the Deployment and its volume claim) is accepted.
func TestDeployManifestsApply(t *testing.T) {
	rendered := kubectl(t, "kustomize", filepath.Join("..", "config", "default"))
	path := filepath.Join(t.TempDir(), "deploy.yaml")
	if err := os.WriteFile(path, []byte(rendered), 0o600); err != nil {
		t.Fatal(err)
	}
	out := kubectl(t, "apply", "--server-side", "--force-conflicts", "-f", path)
	for _, want := range []string{"deployment.apps/tether-controller-manager", "clusterrole.rbac.authorization.k8s.io/tether-manager-role",
		"persistentvolumeclaim/tether-store", "customresourcedefinition.apiextensions.k8s.io/integrations.integrations.tether.io"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl apply did not apply %s:\n%s", want, out)
		}
	}
}
