// Package amazon reads an Amazon seller's orders, FBA inventory, the SKUs that inventory names and the FBA
// network of each marketplace through the Selling Partner API (SP-API) for the sync engine, and ships an
// in-process simulator of those APIs (Sandbox) to test against.
//
// The connector signs in with Login with Amazon (a refresh-token grant, refreshed ahead of expiry), reads
// orders incrementally by LastUpdateDate with the Orders API v0 (getOrders plus one getOrderItems per order)
// or, with connection.apiVersion "2026-01-01", with searchOrders, which returns the items inline. It reads FBA
// inventory summaries per marketplace, by startDateTime when the window allows. Every SP-API operation has its
// own token bucket, so each is paced by its own limiter at the documented rate, and a 429 QuotaExceeded, which
// carries no rate header, is backed off by at least one refill interval.
package amazon
