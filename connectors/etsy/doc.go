// Package etsy is the Etsy connector: its client, default field mapping and sandbox.
package etsy
