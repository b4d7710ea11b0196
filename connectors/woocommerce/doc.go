// Package woocommerce is the WooCommerce connector: its client, default field mapping and sandbox.
package woocommerce
