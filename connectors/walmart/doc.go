// Package walmart reads a Walmart Marketplace (US) seller account's orders, items, ship nodes and inventory
// through the Marketplace REST API v3 for the sync engine, and ships an in-process simulator of that API
// (Sandbox) to test against.
//
// The connector authenticates with the client-credentials token endpoint (tokens live 15 minutes and are
// refreshed ahead of expiry, one refresh at a time), reads orders incrementally by lastModifiedStartDate for
// every ship node type (SellerFulfilled, WFSFulfilled, 3PLFulfilled), follows each nextCursor exactly as
// Walmart returns it, never asks for more than the 180 days of orders Walmart keeps, treats a 404 "content
// not found" as an empty list, and paces every endpoint by the x-current-token-count and
// x-next-replenish-time headers of Walmart's per-endpoint token buckets.
package walmart
