package controllers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether/integration-operator/api/v1alpha1"
)

// secretWatch remembers every credential value the suite puts in a Secret, keeps everything the controllers
// log (at debug level), and at the end scans the logs, every Event and every status for those values: no
// token or secret may appear in any of them.
type secretWatch struct {
	mu     sync.Mutex
	values map[string]bool
	logs   bytes.Buffer
}

var secrets = &secretWatch{values: map[string]bool{}}

// Write keeps a log line.
func (s *secretWatch) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.Write(p)
}

func (s *secretWatch) remember(data map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range data {
		if len(v) >= 6 { // shorter test values ("x") would match by accident
			s.values[v] = true
		}
	}
}

// scan returns where a remembered value was found.
func (s *secretWatch) scan(ctx context.Context, c client.Client) ([]string, error) {
	var places []string
	haystacks := map[string]string{}
	s.mu.Lock()
	haystacks["controller logs"] = s.logs.String()
	values := make([]string, 0, len(s.values))
	for v := range s.values {
		values = append(values, v)
	}
	s.mu.Unlock()

	events := &eventsv1.EventList{}
	if err := c.List(ctx, events); err != nil {
		return nil, err
	}
	for _, e := range events.Items {
		haystacks[fmt.Sprintf("event %s/%s", e.Namespace, e.Name)] = e.Note + " " + e.Reason
	}
	for _, list := range []client.ObjectList{&v1alpha1.IntegrationList{}, &v1alpha1.ChannelList{}, &v1alpha1.FieldMappingList{}} {
		if err := c.List(ctx, list); err != nil {
			return nil, err
		}
		b, _ := json.Marshal(list)
		haystacks[fmt.Sprintf("%T statuses", list)] = string(b)
	}
	for where, text := range haystacks {
		for _, v := range values {
			if strings.Contains(text, v) {
				places = append(places, fmt.Sprintf("a credential value (%d characters) appears in %s", len(v), where))
			}
		}
	}
	return places, nil
}
