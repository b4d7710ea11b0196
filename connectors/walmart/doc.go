// Package walmart is the Walmart Marketplace connector: its client, default field mapping and sandbox.
package walmart
