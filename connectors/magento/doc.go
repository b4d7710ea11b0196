// Package magento is the Magento (Adobe Commerce) connector: its client, default field mapping and sandbox.
package magento
