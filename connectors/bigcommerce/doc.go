// Package bigcommerce reads a BigCommerce store's orders, products, locations and inventory through its REST
// Management API (v2 orders, v3 catalog, locations and inventory) for the sync engine, and ships an in-process
// simulator of those endpoints (Sandbox) to test against.
//
// Orders and products are read incrementally by date_modified (min_date_modified in RFC 2822 on v2,
// date_modified:min in ISO 8601 on v3), sorted ascending and paged by a moving lower bound so records that
// change during a read never shift a page past unread ones. Locations and inventory have no modification
// filter and are read in full each run. Every request is paced from the X-Rate-Limit-* headers BigCommerce
// sends with each response, because the per-store quota is shared by every app installed on the store.
package bigcommerce
