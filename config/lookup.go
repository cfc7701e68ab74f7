package config

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/chatsync/sfconnector/statemachine"
)

// OrgKey returns the comparable form of a Salesforce org id: its first 15
// characters (the 18-character form only adds a case-insensitive checksum).
// Compare org keys case-sensitively.
func OrgKey(orgID string) string {
	if len(orgID) > 15 {
		return orgID[:15]
	}
	return orgID
}

// Excluded returns the states whose messages are not pushed for the
// tenant's org. An absent list (nil) means the default, AUTO_BOT; an empty
// list excludes nothing.
func (t Tenant) Excluded() statemachine.Set {
	if t.Salesforce.ExcludedStates == nil {
		return statemachine.DefaultExcluded()
	}
	return statemachine.NewSet(t.Salesforce.ExcludedStates...)
}

// ExcludedConfigured reports whether the configuration gave the tenant's
// excluded_states (even as an empty list), rather than leaving the
// default: the API reports the source of an org's exclusions as "config"
// then, else "default".
func (t Tenant) ExcludedConfigured() bool {
	return t.Salesforce.ExcludedStates != nil && !t.Salesforce.excludedDefaulted
}

// Blocking is the default of the tenant's blocking switch:
// blocking_enabled, true when unset.
func (t Tenant) Blocking() bool {
	if t.BlockingEnabled == nil {
		return DefaultBlockingEnabled
	}
	return *t.BlockingEnabled
}

// Tenant returns the tenant with the given id.
func (c *Config) Tenant(id string) (*Tenant, bool) {
	for i := range c.Tenants {
		if c.Tenants[i].ID == id {
			return &c.Tenants[i], true
		}
	}
	return nil, false
}

// Channel returns the tenant's channel with the given id.
func (t *Tenant) Channel(id string) (*Channel, bool) {
	for i := range t.Channels {
		if t.Channels[i].ID == id {
			return &t.Channels[i], true
		}
	}
	return nil, false
}

// ErrPrivateKey is wrapped by ParsePrivateKey's errors.
var ErrPrivateKey = errors.New("not an RSA private key in PEM form (PKCS#1 or PKCS#8)")

// ParsePrivateKey reads an unencrypted RSA private key in PEM form: a PKCS#1
// "RSA PRIVATE KEY" block or a PKCS#8 "PRIVATE KEY" block. Its errors wrap
// ErrPrivateKey and never contain the key material.
func ParsePrivateKey(pemText string) (*rsa.PrivateKey, error) {
	key, err := parsePrivateKey(pemText)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPrivateKey, err)
	}
	return key, nil
}

// parsePrivateKey is ParsePrivateKey with errors that say only why.
func parsePrivateKey(pemText string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		if strings.Contains(pemText, `\n`) {
			return nil, errors.New(`no PEM block found; the value holds literal \n sequences where line breaks belong (use real line breaks, or {file: ...})`)
		}
		return nil, errors.New("no PEM block found")
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, errors.New("the key is encrypted; give it unencrypted")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		rsaKey, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("the PKCS#8 key is a %T, not an RSA key", key)
		}
		return rsaKey, nil
	}
	return nil, fmt.Errorf("the PEM block is a %q, not a private key", block.Type)
}
