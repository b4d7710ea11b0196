// Package amazon is the Amazon (Selling Partner API) connector: its client, default field mapping and sandbox.
package amazon
