package platformtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
)

// The helpers below are the checks every adapter's tests make the same
// way: building an adapter from a test configuration, refusing a bad
// configuration, refusing a malformed body, declaring its capabilities,
// keeping secrets out of printed values, verifying signatures, and seeding
// the Parse fuzzer.

// Build returns the adapter newAdapter builds from base changed by each of
// mutate in turn; it fails t when newAdapter refuses.
func Build[C, A any](t testing.TB, newAdapter func(C) (A, error), base C, mutate ...func(*C)) A {
	t.Helper()
	for _, m := range mutate {
		m(&base)
	}
	a, err := newAdapter(base)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// ConfigCase is one change of a valid configuration and what Validate
// must say of it.
type ConfigCase[C any] struct {
	Name   string
	Mutate func(*C)
	// Want is a substring of the error; "" for a configuration that is
	// still valid.
	Want string
}

// CheckValidate runs each case on base: a configuration whose case wants
// no error must validate; any other must fail Validate, and newAdapter,
// with an error wrapping errInvalid that contains Want and shows none of
// secrets.
func CheckValidate[C interface{ Validate() error }, A any](t *testing.T, base func() C, newAdapter func(C) (A, error), errInvalid error, cases []ConfigCase[C], secrets ...string) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			cfg := base()
			tt.Mutate(&cfg)
			err := cfg.Validate()
			if tt.Want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, errInvalid) || !strings.Contains(err.Error(), tt.Want) {
				t.Fatalf("Validate = %v, want %v containing %q", err, errInvalid, tt.Want)
			}
			for _, secret := range secrets {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("Validate's error shows a secret: %v", err)
				}
			}
			if _, err := newAdapter(cfg); !errors.Is(err, errInvalid) {
				t.Fatalf("New = %v, want %v", err, errInvalid)
			}
		})
	}
}

// CheckMalformed runs, as subtest name, a.Parse on body, which must fail
// with an error wrapping platform.ErrMalformed that contains want, and
// no events.
func CheckMalformed(t *testing.T, a platform.Adapter, name, body, want string) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		evs, err := a.Parse(nil, []byte(body))
		if !errors.Is(err, platform.ErrMalformed) || !strings.Contains(err.Error(), want) {
			t.Fatalf("Parse = %v, %v; want ErrMalformed containing %q", evs, err, want)
		}
		if evs != nil {
			t.Fatalf("Parse returned events with its error: %v", evs)
		}
	})
}

// CheckCapabilities fails t unless a has the capabilities want; why says
// what the platform lacks, for the failure's message.
func CheckCapabilities(t *testing.T, a platform.Adapter, want platform.Capabilities, why string) {
	t.Helper()
	if got := platform.CapabilitiesOf(a); got != want {
		t.Fatalf("CapabilitiesOf = %+v, want %+v (%s)", got, want, why)
	}
}

// CheckRedacted formats each value with each verb and fails t when the
// output shows one of secrets or lacks one of shown (the ids a printed
// configuration must keep).
func CheckRedacted(t *testing.T, verbs []string, values []any, secrets []string, shown ...string) {
	t.Helper()
	for _, verb := range verbs {
		for _, v := range values {
			out := fmt.Sprintf(verb, v)
			for _, secret := range secrets {
				if strings.Contains(out, secret) {
					t.Errorf("%s of %T shows a secret: %s", verb, v, out)
				}
			}
			for _, s := range shown {
				if !strings.Contains(out, s) {
					t.Errorf("%s of %T lacks %q: %s", verb, v, s, out)
				}
			}
		}
	}
}

// SignatureCase is one request for Verify: its header name/value pairs,
// its body, and what Verify must say.
type SignatureCase struct {
	Name   string
	Header []string
	Body   []byte
	// Want is a substring of the error; "" for a valid signature.
	Want string
}

// CheckVerify runs each case through a.Verify: a valid signature passes;
// any other fails with an error wrapping platform.ErrBadSignature that
// contains Want and shows none of secrets (the key, the signature
// expected).
func CheckVerify(t *testing.T, a platform.Adapter, cases []SignatureCase, secrets ...string) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			r := NewRequest("POST", "/webhooks/t/c", tt.Body, tt.Header...)
			err := a.Verify(r, tt.Body)
			if tt.Want == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, platform.ErrBadSignature) || !strings.Contains(err.Error(), tt.Want) {
				t.Fatalf("Verify = %v, want ErrBadSignature containing %q", err, tt.Want)
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error shows a secret or the expected signature: %s", err)
				}
			}
		})
	}
}

// FuzzSeeds adds to f's corpus every file of testdata matching pattern
// (at least one must) and then bodies.
func FuzzSeeds(f *testing.F, pattern string, bodies ...[]byte) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed payloads in testdata (%v)", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, b := range bodies {
		f.Add(b)
	}
}

// Bodies returns each of ss as a body, for FuzzSeeds.
func Bodies(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// ExpectedEvents maps a testdata file to the events Parse must return
// for it (Raw left out: CheckParse checks it).
type ExpectedEvents map[string][]platform.Event

// CheckTestdata parses each file of want with parse and compares the
// events with the expected ones; a file of testdata matching pattern with
// no expected events is an error.
func CheckTestdata(t *testing.T, pattern string, parse func(*testing.T, string) []platform.Event, want ExpectedEvents) {
	t.Helper()
	for file, events := range want {
		t.Run(file, func(t *testing.T) {
			got := parse(t, file)
			for i := range got {
				got[i].Raw = nil
			}
			if !reflect.DeepEqual(got, events) {
				t.Fatalf("events:\n got %+v\nwant %+v", got, events)
			}
		})
	}
	files, _ := filepath.Glob(filepath.Join("testdata", pattern))
	for _, f := range files {
		if _, ok := want[filepath.Base(f)]; !ok {
			t.Errorf("testdata file %s has no expected events", f)
		}
	}
}

// CheckDistinctIDs parses every file of testdata matching pattern with
// parse and fails t when two events other than ignored ones share an ID.
func CheckDistinctIDs(t *testing.T, pattern string, parse func(*testing.T, string) []platform.Event) {
	t.Helper()
	ids := map[string]string{}
	files, _ := filepath.Glob(filepath.Join("testdata", pattern))
	for _, f := range files {
		for _, ev := range parse(t, filepath.Base(f)) {
			if ev.Kind == platform.KindIgnored {
				continue
			}
			if other, dup := ids[ev.ID]; dup {
				t.Errorf("ID %q of %s also belongs to %s", ev.ID, f, other)
			}
			ids[ev.ID] = f
		}
	}
}

// ParseFile reads testdata/name and parses it with a through CheckParse
// (which also checks the adapter contract); Parse must accept it.
func ParseFile(t *testing.T, a platform.Adapter, name string) []platform.Event {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Parse(nil, body); err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return CheckParse(t, a, body)
}

// ClosedURL returns the URL of a server that listened and no longer does.
func ClosedURL(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	return srv.URL
}

// CheckSendFailures checks the failures every Sender handles the same
// way. live calls stub: a send to nobody (the recipient nobody, such as
// "" or " ") or of an empty text is refused before any request reaches
// stub, and a send with a cancelled context wraps context.Canceled and is
// not transient. unreachable is pointed at a server that no longer
// listens: its send is transient (isTransient). The errors show none of
// secrets.
func CheckSendFailures(t *testing.T, live platform.Sender, stub *APIStub, unreachable platform.Sender, nobody, to string, isTransient func(error) bool, secrets ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := live.Send(ctx, nobody, "hi"); err == nil {
		t.Error("Send to nobody succeeded")
	}
	if _, err := live.Send(ctx, to, ""); err == nil {
		t.Error("Send of an empty text succeeded")
	}
	if n := stub.Count(); n != 0 {
		t.Errorf("invalid arguments reached the API (%d requests): %+v", n, stub.Requests())
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err := live.Send(cancelled, to, "hi")
	if !errors.Is(err, context.Canceled) || isTransient(err) {
		t.Errorf("Send with a cancelled context = %v, want context.Canceled, not transient", err)
	}
	checkHidden(t, err, secrets)
	_, err = unreachable.Send(ctx, to, "hi")
	if !isTransient(err) {
		t.Errorf("Send to a closed server = %v, want a transient error", err)
	}
	checkHidden(t, err, secrets)
}

func checkHidden(t *testing.T, err error, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("error shows a secret: %v", err)
		}
	}
}

// Refusal is one refusal of a send by a platform's API and how the
// adapter must classify it.
type Refusal struct {
	Name   string
	Status int
	Body   string
	// Blocked: the recipient blocked the business (the adapter's
	// ErrUserBlocked); Transient: worth retrying, else a rejection
	// (platform.ErrSendRejected).
	Blocked, Transient bool
	// Code is the platform's own code the adapter's error carries.
	Code int
	// Contains is a substring of the error.
	Contains string
}

// CheckRefusals sends a text to to through the adapter start returns for
// a stand-in answering each case, and checks the error: the adapter's
// error type, whose code and HTTP status codes reads, with the case's
// values; classified as the case says (isTransient, blocked, or
// platform.ErrSendRejected); containing the case's text and none of
// secrets.
func CheckRefusals(t *testing.T, start func(*testing.T, *APIStub) platform.Sender, to string, codes func(error) (code, status int, ok bool),
	isTransient func(error) bool, blocked error, cases []Refusal, secrets ...string) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			a := start(t, &APIStub{Status: tt.Status, Body: tt.Body})
			id, err := a.Send(context.Background(), to, "hi")
			if err == nil || id != "" {
				t.Fatalf("Send = %q, %v; want an error", id, err)
			}
			code, status, ok := codes(err)
			if !ok || code != tt.Code || status != tt.Status {
				t.Fatalf("Send error %v is not the adapter's error with code %d and HTTP %d", err, tt.Code, tt.Status)
			}
			if errors.Is(err, blocked) != tt.Blocked {
				t.Errorf("errors.Is(ErrUserBlocked) = %v, want %v (%v)", !tt.Blocked, tt.Blocked, err)
			}
			if isTransient(err) != tt.Transient {
				t.Errorf("IsTransient = %v, want %v (%v)", !tt.Transient, tt.Transient, err)
			}
			if errors.Is(err, platform.ErrSendRejected) == tt.Transient {
				t.Errorf("errors.Is(ErrSendRejected) = %v, want %v", tt.Transient, !tt.Transient)
			}
			if !strings.Contains(err.Error(), tt.Contains) {
				t.Errorf("error %q does not contain %q", err, tt.Contains)
			}
			checkHidden(t, err, secrets)
		})
	}
}

// Serve serves stub and returns the change of a Config type C that points
// it at stub: its field urlField (such as "APIURL") set to the stub's URL
// followed by suffix (a path such as "/v23.0"), its HTTPClient to the
// stub's client.
func Serve[C any](t testing.TB, stub *APIStub, urlField, suffix string) func(*C) {
	t.Helper()
	srv := Start(t, stub)
	return func(c *C) {
		v := reflect.ValueOf(c).Elem()
		v.FieldByName(urlField).SetString(srv.URL + suffix)
		v.FieldByName("HTTPClient").Set(reflect.ValueOf(srv.Client()))
	}
}
