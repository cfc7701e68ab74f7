package sfclient_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/chatsync/sfconnector/sfclient"
	"github.com/chatsync/sfconnector/sfclient/standin"
)

// A Composite request writes its collections in order, parents before the
// messages that refer to them, as ONE call toward the API limit, and
// answers per record and per collection.
func TestUpsertCompositeOrderAndResults(t *testing.T) {
	e := newEnv(t, standin.Options{}, nil, nil)
	e.sf.AddRejectRule(standin.RejectRule{Object: msgObject, Field: "Body__c", Contains: "#reject",
		StatusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Message: "rejected"})
	cols := []sfclient.Collection{
		{Object: convObject, ExternalIDField: convKey, Records: []sfclient.Record{conv("c1"), conv("c2")}},
		{Object: msgObject, ExternalIDField: msgKey, Records: []sfclient.Record{
			msg("m1", "c1", "hello"), msg("m2", "c2", "please #reject"), msg("m3", "c2", "again"),
		}},
		{Object: "No_Such_Object__c", ExternalIDField: "Key__c", Records: []sfclient.Record{{"Key__c": "k"}}},
		{Object: msgObject, ExternalIDField: msgKey}, // empty: not sent
		{Object: msgObject, ExternalIDField: msgKey, Records: []sfclient.Record{msg("m4", "c1", "after the failed subrequest")}},
	}
	before := e.sf.Stats().APICalls
	res, err := e.client.UpsertComposite(context.Background(), cols)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.sf.Stats().APICalls - before; got != 1 {
		t.Fatalf("API calls = %d, want 1", got)
	}
	if len(res) != len(cols) {
		t.Fatalf("%d results for %d collections", len(res), len(cols))
	}
	for i, r := range res[0].Results {
		if !r.Success || !r.Created {
			t.Errorf("conversation %d: %+v", i, r)
		}
	}
	want := []bool{true, false, true}
	for i, r := range res[1].Results {
		if r.Success != want[i] {
			t.Errorf("message %d: %+v, want success %v", i, r, want[i])
		}
	}
	if c := res[1].Results[1].Errors; len(c) != 1 || c[0].StatusCode != "FIELD_CUSTOM_VALIDATION_EXCEPTION" {
		t.Errorf("rejected message's errors = %+v", c)
	}
	var ae *sfclient.APIError
	if res[2].Err == nil || !errors.As(res[2].Err, &ae) || ae.HTTPStatus != http.StatusNotFound || ae.Code != "NOT_FOUND" {
		t.Errorf("unknown object's collection: %v", res[2].Err)
	}
	if sfclient.Classify(res[2].Err) != sfclient.Permanent {
		t.Errorf("unknown object's class = %v", sfclient.Classify(res[2].Err))
	}
	if res[3].Results != nil || res[3].Err != nil {
		t.Errorf("empty collection: %+v", res[3])
	}
	if len(res[4].Results) != 1 || !res[4].Results[0].Success {
		t.Errorf("collection after a failed one: %+v", res[4])
	}
	if n := len(e.sf.Records(msgObject)); n != 3 {
		t.Errorf("%d message records, want 3 (m1, m3, m4)", n)
	}
	if st := e.sf.Stats(); st.CompositeCalls != 1 {
		t.Errorf("composite calls = %d, want 1", st.CompositeCalls)
	}
}

func TestUpsertCompositeLimits(t *testing.T) {
	e := newEnv(t, standin.Options{}, nil, nil)
	six := make([]sfclient.Collection, 6)
	for i := range six {
		six[i] = sfclient.Collection{Object: convObject, ExternalIDField: convKey, Records: []sfclient.Record{conv("c")}}
	}
	if _, err := e.client.UpsertComposite(context.Background(), six); !errors.Is(err, sfclient.ErrTooManyCollections) {
		t.Errorf("6 collections: %v", err)
	}
	big := make([]sfclient.Record, sfclient.MaxCollectionRecords+1)
	for i := range big {
		big[i] = conv("c")
	}
	_, err := e.client.UpsertComposite(context.Background(), []sfclient.Collection{{Object: convObject, ExternalIDField: convKey, Records: big}})
	if !errors.Is(err, sfclient.ErrTooManyRecords) {
		t.Errorf("201 records: %v", err)
	}
	if n := e.sf.Stats().CompositeCalls; n != 0 {
		t.Errorf("%d composite calls were sent", n)
	}
	res, err := e.client.UpsertComposite(context.Background(), nil)
	if err != nil || len(res) != 0 {
		t.Errorf("no collections: %v %v", res, err)
	}
}

// A whole-call failure of a Composite request is the call's error, as for
// every other call.
func TestUpsertCompositeWholeCallFailure(t *testing.T) {
	e := newEnv(t, standin.Options{}, nil, nil)
	e.sf.FailAll(standin.Fault{Status: http.StatusServiceUnavailable})
	_, err := e.client.UpsertComposite(context.Background(), []sfclient.Collection{
		{Object: convObject, ExternalIDField: convKey, Records: []sfclient.Record{conv("c1")}},
	})
	if sfclient.Classify(err) != sfclient.Transient {
		t.Fatalf("err = %v, class %v", err, sfclient.Classify(err))
	}
	if n := len(e.sf.Records(convObject)); n != 0 {
		t.Errorf("%d records written", n)
	}
}
