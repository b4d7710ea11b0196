// Package ebay reads an eBay seller's orders, inventory items (as SKUs and per-location stock) and inventory
// locations through eBay's Sell REST APIs for the sync engine, and ships a simulator of those APIs (Sandbox) to
// test against.
//
// The connector exchanges the seller's OAuth refresh token for two-hour access tokens at the identity token
// endpoint, refreshing ahead of expiry. Orders come from Sell Fulfillment getOrders, filtered by
// lastmodifieddate from the cursor (inside eBay's two-year window) and paged by offset, 200 at a time;
// inventory items and locations from the Sell Inventory API, read in full each run because it has no
// modification filter. eBay's only short-term throttle signal is HTTP 429, so the client paces itself with
// kit.AdaptivePacer to the rate the API admits.
package ebay
