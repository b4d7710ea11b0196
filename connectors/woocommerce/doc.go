// Package woocommerce reads a WooCommerce store's orders, products (one record per SKU: simple products and
// variations), stock levels and its single stock location through the WooCommerce REST API v3
// (/wp-json/wc/v3) for the sync engine, and ships a simulator of that API (Sandbox) to test against.
//
// Incremental reads filter on date_modified_gmt with modified_after and dates_are_gmt=true, sorted by the
// modification time (orderby=modified, order=asc). Instead of walking page numbers over a fixed query, which
// shift when records change during a run, each page moves the modified_after bound up to the last record
// read, so the resume token is a time, a page within that time's second and the IDs already emitted in it.
// Requests are signed with OAuth 1.0a (HMAC-SHA256) over plain HTTP and use HTTP Basic over HTTPS, as
// WooCommerce requires, and are paced by the host's 429s (kit.AdaptivePacer): unpaced until the first one, then
// at the rate the host admits.
package woocommerce
