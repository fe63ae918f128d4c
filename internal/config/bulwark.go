package config

// Bulwark-only directives (docs/extensions.md). They belong inside
// ".if feature(BULWARK)" blocks, which HAProxy skips, and carry a
// "bulwark-" prefix so that no future HAProxy keyword can collide with
// them. They are listed here so that the parser, the suggestions and the
// auditor know them like any other keyword.

// BulwarkGlobalKeywords are the Bulwark-only global directives.
const BulwarkGlobalKeywords = `
	bulwark-acme-directory bulwark-acme-email bulwark-acme-storage
	bulwark-acme-challenge bulwark-acme-ca-file bulwark-acme-renew-ratio
	bulwark-acme-renew-check
	bulwark-abuse bulwark-abuse-http-errors bulwark-abuse-proxy-errors
	bulwark-abuse-denied bulwark-abuse-tls-failures bulwark-abuse-bind-tls-failures
	bulwark-abuse-flaps
	bulwark-abuse-webhook bulwark-crt-watch bulwark-log-framing
	bulwark-ssl-rsa-signer`

// BulwarkBindKeywords are the Bulwark-only bind options taking one word.
const BulwarkBindKeywords = `bulwark-acme`

// BulwarkProxyKeywords are the Bulwark-only directives of defaults,
// frontend and listen sections.
const BulwarkProxyKeywords = `bulwark-log-json`
