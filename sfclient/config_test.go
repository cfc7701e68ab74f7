package sfclient_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/sfclient"
)

func TestConfigValidate(t *testing.T) {
	private, _ := rsaKeys(t)
	valid := func() sfclient.Config {
		return sfclient.Config{OrgID: orgID, Flow: sfclient.FlowClientCredentials, ClientID: clientID, ClientSecret: clientSecret}
	}
	if err := valid().Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	jwtValid := sfclient.Config{OrgID: orgID[:15], Flow: sfclient.FlowJWTBearer, ClientID: clientID, Username: username, PrivateKeyPEM: private,
		LoginURL: "https://test.salesforce.com/", APIVersion: "v61.0"}
	if err := jwtValid.Validate(); err != nil {
		t.Fatalf("valid jwt config: %v", err)
	}

	badKey := []byte("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n")
	cases := []struct {
		field string
		edit  func(*sfclient.Config)
	}{
		{"OrgID", func(c *sfclient.Config) { c.OrgID = "" }},
		{"OrgID", func(c *sfclient.Config) { c.OrgID = "001000000000001AAA" }},
		{"OrgID", func(c *sfclient.Config) { c.OrgID = "00D0000000001" }},
		{"LoginURL", func(c *sfclient.Config) { c.LoginURL = "login.salesforce.com" }},
		{"LoginURL", func(c *sfclient.Config) { c.LoginURL = "ftp://login.salesforce.com" }},
		{"APIVersion", func(c *sfclient.Config) { c.APIVersion = "62" }},
		{"Flow", func(c *sfclient.Config) { c.Flow = "" }},
		{"Flow", func(c *sfclient.Config) { c.Flow = "password" }},
		{"ClientID", func(c *sfclient.Config) { c.ClientID = "" }},
		{"ClientSecret", func(c *sfclient.Config) { c.ClientSecret = "" }},
		{"Username", func(c *sfclient.Config) { c.Flow = sfclient.FlowJWTBearer; c.PrivateKeyPEM = private }},
		{"PrivateKeyPEM", func(c *sfclient.Config) { c.Flow = sfclient.FlowJWTBearer; c.Username = username }},
		{"PrivateKeyPEM", func(c *sfclient.Config) {
			c.Flow = sfclient.FlowJWTBearer
			c.Username = username
			c.PrivateKeyPEM = badKey
		}},
		{"RequestTimeout", func(c *sfclient.Config) { c.RequestTimeout = -time.Second }},
		{"RetryWaitMin", func(c *sfclient.Config) { c.RetryWaitMin = time.Minute; c.RetryWaitMax = time.Second }},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprint(i, "-", tc.field), func(t *testing.T) {
			c := valid()
			tc.edit(&c)
			err := c.Validate()
			if !errors.Is(err, sfclient.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Validate() = %v, want ErrInvalidConfig naming %s", err, tc.field)
			}
			if strings.Contains(err.Error(), clientSecret) || strings.Contains(err.Error(), "c2VjcmV0") {
				t.Errorf("error %q quotes a secret", err)
			}
			if _, err := sfclient.New(c); !errors.Is(err, sfclient.ErrInvalidConfig) {
				t.Errorf("New accepted the config: %v", err)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	api := func(status int, code string) error {
		return fmt.Errorf("call: %w", &sfclient.APIError{HTTPStatus: status, Code: code, Message: "m"})
	}
	cases := []struct {
		err  error
		want sfclient.Class
	}{
		{api(503, "SERVER_UNAVAILABLE"), sfclient.Transient},
		{api(500, "UNKNOWN_EXCEPTION"), sfclient.Transient},
		{api(502, ""), sfclient.Transient},
		{api(429, ""), sfclient.Transient},
		{api(400, "UNABLE_TO_LOCK_ROW"), sfclient.Transient},
		{api(403, "REQUEST_LIMIT_EXCEEDED"), sfclient.RateLimited},
		{api(401, "INVALID_SESSION_ID"), sfclient.Auth},
		{api(400, "INVALID_FIELD"), sfclient.Permanent},
		{api(404, "NOT_FOUND"), sfclient.Permanent},
		{api(403, "INSUFFICIENT_ACCESS"), sfclient.Permanent},
		{fmt.Errorf("x: %w", sfclient.ErrAuth), sfclient.Auth},
		{fmt.Errorf("x: %w", sfclient.ErrWrongOrg), sfclient.Auth},
		{fmt.Errorf("x: %w", sfclient.ErrTransient), sfclient.Transient},
		{fmt.Errorf("x: %w", sfclient.ErrBadResponse), sfclient.Transient},
		{fmt.Errorf("x: %w", sfclient.ErrTooManyRecords), sfclient.Permanent},
		{errors.New("anything else"), sfclient.Permanent},
	}
	for _, tc := range cases {
		if got := sfclient.Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if s := (&sfclient.APIError{HTTPStatus: 403, Code: "REQUEST_LIMIT_EXCEEDED", Message: "TotalRequests Limit exceeded."}).Error(); !strings.Contains(s, "403") || !strings.Contains(s, "REQUEST_LIMIT_EXCEEDED") {
		t.Errorf("Error() = %q", s)
	}
}

func TestRecordErrorClass(t *testing.T) {
	cases := map[string]sfclient.Class{
		"UNABLE_TO_LOCK_ROW":                      sfclient.Transient,
		"SERVER_UNAVAILABLE":                      sfclient.Transient,
		"ALL_OR_NONE_OPERATION_ROLLED_BACK":       sfclient.Transient,
		"REQUEST_LIMIT_EXCEEDED":                  sfclient.RateLimited,
		"INVALID_FIELD":                           sfclient.Permanent,
		"REQUIRED_FIELD_MISSING":                  sfclient.Permanent,
		"STRING_TOO_LONG":                         sfclient.Permanent,
		"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": sfclient.Permanent,
		"FIELD_CUSTOM_VALIDATION_EXCEPTION":       sfclient.Permanent,
		"DUPLICATE_VALUE":                         sfclient.Permanent,
		"SOMETHING_NEW":                           sfclient.Permanent,
	}
	for code, want := range cases {
		if got := sfclient.RecordErrorClass(code); got != want {
			t.Errorf("RecordErrorClass(%s) = %v, want %v", code, got, want)
		}
	}
}
