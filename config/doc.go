// Package config loads, completes and checks the connector's configuration.
//
// The configuration is a YAML file (see config.example.yaml at the root of
// the repository). Load (or Parse, its testable core) reads it in five
// steps:
//
//  1. the YAML is decoded; an unknown key is an error;
//  2. the environment variables below override a few keys;
//  3. the {env: NAME} and {file: PATH} secrets are read;
//  4. the defaults fill what is still unset (Config.ApplyDefaults);
//  5. everything is checked (Config.Validate).
//
// Every problem found in steps 2 to 5 is reported at once, each with its
// key path, such as tenants[0].channels[1].whatsapp.app_secret.
//
// # Environment overrides
//
// A variable that is set and not empty replaces the key's value from the
// file:
//
//	variable                    key
//	CONNECTOR_LISTEN            server.listen
//	CONNECTOR_PUBLIC_BASE_URL   server.public_base_url
//	CONNECTOR_SHUTDOWN_TIMEOUT  server.shutdown_timeout (a Go duration: 30s, 1m)
//	CONNECTOR_STORE_DRIVER      store.driver
//	CONNECTOR_STORE_DSN         store.dsn
//	CONNECTOR_LOG_LEVEL         log.level
//	CONNECTOR_LOG_FORMAT        log.format
//	CONNECTOR_OPERATOR_TOKEN    api.operator_token
//
// Per-tenant and per-channel secrets are not overridden this way: give them
// as {env: NAME} or {file: PATH} in the file (see Secret).
//
// # Secrets
//
// Every credential is a Secret. Its value is read once at load and is only
// returned by Secret.Value; printing, logging or encoding a Secret (or a
// Config holding it) shows "[redacted]".
//
// # Errors
//
// Errors about the configuration's content wrap ErrInvalid and, one per
// problem, *FieldError.
package config
