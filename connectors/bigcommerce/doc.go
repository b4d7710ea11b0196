// Package bigcommerce is the BigCommerce connector: its client, default field mapping and sandbox.
package bigcommerce
