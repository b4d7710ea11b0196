// Package etsy reads an Etsy shop's receipts, listings, inventory and the shop itself through the Etsy Open
// API v3 for the sync engine, and ships an in-process simulator of that API (Sandbox) to test against.
//
// Receipts are read incrementally by updated_timestamp (min_last_modified, sorted by update time, paged by
// time and offset), and each run also re-polls the receipts created within a bounded window, because Etsy
// does not move updated_timestamp when a receipt is cancelled, refunded or shipped. Listings and their
// inventory are read in full each run: Etsy offers no modification filter for them. Etsy has no stock
// locations, so the shop is the one warehouse every inventory level belongs to.
//
// Every request carries the app's x-api-key (keystring:shared_secret) and an OAuth 2.0 access token taken from
// the integration's connectors.Tokens (the operator's Keeper, or one seeded from API credentials): the
// connector never refreshes on its own, it asks the Keeper to renew after a 401. Flow is Etsy's
// authorization-code flow with PKCE; Etsy rotates the refresh token on every refresh. Requests are paced by the per-second and per-day quota Etsy reports
// in its x-limit-* and x-remaining-* headers, and 429s are retried after their retry-after.
package etsy
