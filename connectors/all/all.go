// Package all links every connector this build ships into the registry. The manager imports it; nothing else
// needs to know which platforms exist.
package all

import (
	// Each platform package registers itself in init.
	_ "github.com/tether/integration-operator/connectors/amazon"
	_ "github.com/tether/integration-operator/connectors/bigcommerce"
	_ "github.com/tether/integration-operator/connectors/ebay"
	_ "github.com/tether/integration-operator/connectors/etsy"
	_ "github.com/tether/integration-operator/connectors/magento"
	_ "github.com/tether/integration-operator/connectors/shopify"
	_ "github.com/tether/integration-operator/connectors/walmart"
	_ "github.com/tether/integration-operator/connectors/woocommerce"
)
