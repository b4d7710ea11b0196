// Package all links every connector this build ships into the registry. The manager imports it; nothing else
// needs to know which platforms exist.
package all

import (
	// Each platform package registers itself in init.
	_ "github.com/tether/integration-operator/connectors/shopify"
)
