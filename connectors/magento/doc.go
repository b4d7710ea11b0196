// Package magento reads a Magento 2 / Adobe Commerce store's orders, products, inventory sources and source
// items through the REST API (`/rest/<store>/V1`) for the sync engine, and ships an in-process simulator of
// that API (Sandbox) to test against.
//
// Orders and products are read incrementally by `updated_at` with keyset pagination over the searchCriteria
// API (sorted by updated_at then entity_id, always page 1 of a narrowing filter), so a record modified during
// a read cannot shift the pages and a resumed read continues exactly after its last page. MSI sources and
// source items have no modification time and are read whole, page by page, stopping on total_count because
// Magento answers a page past the end with the last page again. Requests carry the integration's access token
// as a bearer token, or are signed with OAuth 1.0a HMAC-SHA256 when the credentials hold a consumer key.
package magento
