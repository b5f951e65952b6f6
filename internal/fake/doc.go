// Package fake is polarity-fake: an in-memory server that answers the Polarity v5 REST API as
// far as polarity-api.md documents it, and misbehaves on request.
//
// # Credentials
//
// By default the server accepts user "admin" with password "polarity-fake-password"
// (DefaultUsername, DefaultPassword) and the API key "polarity-fake-api-key"
// (DefaultAPIKey). A fixture's "username", "password" and "api-keys" replace them, and
// Config (the --user, --password and --api-key flags) replaces those.
//
// # Endpoints
//
//	POST  /api/users/login                     {"identification","password"} -> token
//	GET   /api/users/refresh                   new token for a live login token
//	POST  /api/users/logout                    invalidates the login token
//	GET   /api/integrations                    page[size], page[number], filter[integration.status],
//	                                           filter[integration.integration-errors]
//	GET   /api/integrations/<id>
//	GET   /api/integration-options/<id>-<key>
//	PATCH /api/integration-options             options of one integration, all or nothing
//
// Every response has Content-Type application/vnd.api+json. Errors are JSON:API errors
// arrays with status (a string), title, detail and, for PATCH items, source.pointer. The
// status codes chosen where the real server's are unknown:
//
//	400  malformed body or query; PATCH data not an array or empty; an entry without id or
//	     with a type other than integration-option(s); options of two integrations in one
//	     PATCH; refresh or logout with an API key; PATCH of a stopped integration, with
//	     title "Failed to update integration options" and detail "Integration is not running"
//	401  missing, invalid, logged-out or expired token; wrong login credentials
//	403  an API key scoped to other integrations
//	404  unknown route, integration or option (PATCH: one error per unknown entry)
//	405  wrong method (with Allow)
//	415  PATCH without Content-Type application/vnd.api+json
//	422  PATCH value that does not fit the option's kind, choices or bounds; a permission
//	     that is not a boolean; admin-only and user-can-edit both true (pointer
//	     /data/<i>/attributes/<attribute>, one error per problem)
//	429  rate limit (Retry-After); 5xx injected failures
//
// PATCH checks run in this order and stop at the first stage with problems: 415, 400 shape,
// 400 one integration, 404, 403, 400 not running, 422. Nothing is stored unless every entry
// passes. admin-only and user-can-edit left out keep their values, and so does a value left
// out; a null value clears the option.
//
// # Shapes and faults
//
// Config switches the response shapes polarity-api.md marks unknown (where options sit,
// the option resource type, the kind attribute's name, password values, the PATCH success
// status) and the faults (latency, rate limit, 5xx, dropped connections, hangs), which
// are deterministic for a seed. See Config and Faults.
//
// # Control
//
// Tests in the same process use Server's methods (Requests, State, SetOption, SetStatus,
// SetFaults, HoldPatches, MaxInFlight, ...). Other processes use the /_fake/ endpoints,
// listed at serveControl and in polarity-fake --help.
package fake
