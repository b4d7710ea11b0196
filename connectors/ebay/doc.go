// Package ebay is the eBay connector: its client, default field mapping and sandbox.
package ebay
