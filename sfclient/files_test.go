package sfclient_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/chatsync/sfconnector/sfclient"
	"github.com/chatsync/sfconnector/sfclient/standin"
)

// TestFiles creates Files as JSON with base64 and as multipart against the
// stand-in, finds them by their key, refuses a second File with the same
// key (DUPLICATE_VALUE), links a File to another record once, and writes
// the File's id on the message record by its id.
func TestFiles(t *testing.T) {
	e := newEnv(t, standin.Options{FileStorageLimit: 3000}, nil, nil)
	ctx := context.Background()
	e.upsertConversations(t, conv("t:wa:1", "State__c", "OPEN"))
	msg, err := e.client.Upsert(ctx, "Chat_Message__c", "Message_Key__c", "t:wa:m1",
		sfclient.Record{"Body__c": "photo", "Chat_Conversation__r": map[string]any{"Conversation_Key__c": "t:wa:1"}})
	if err != nil || msg.ID == "" {
		t.Fatalf("upsert the message: %+v, %v", msg, err)
	}

	small := []byte("\xff\xd8\xffsmall jpeg")
	large := bytes.Repeat([]byte{0, 1, 2, 0xff}, 500)
	if _, found, err := e.client.FindFile(ctx, "Connector_Media_Key__c", "t:wa:m1"); err != nil || found {
		t.Fatalf("FindFile before any = %v, %v", found, err)
	}
	id1, err := e.client.CreateFile(ctx, sfclient.NewFile{Title: "photo", PathOnClient: "photo.jpg", ContentType: "image/jpeg",
		FirstPublishLocationID: msg.ID, Fields: sfclient.Record{"Connector_Media_Key__c": "t:wa:m1"}, Data: small}, 1000)
	if err != nil {
		t.Fatalf("CreateFile (JSON): %v", err)
	}
	id2, err := e.client.CreateFile(ctx, sfclient.NewFile{Title: "voice", PathOnClient: "voice it's.ogg", ContentType: "audio/ogg",
		Fields: sfclient.Record{"Connector_Media_Key__c": "t:tg:it's"}, Data: large}, 1000)
	if err != nil {
		t.Fatalf("CreateFile (multipart): %v", err)
	}
	f1, found, err := e.client.FindFile(ctx, "Connector_Media_Key__c", "t:wa:m1")
	if err != nil || !found || f1.ContentVersionID != id1 || f1.ContentDocumentID == "" {
		t.Fatalf("FindFile = %+v, %v, %v; want version %s", f1, found, err, id1)
	}
	f2, found, err := e.client.FindFile(ctx, "Connector_Media_Key__c", "t:tg:it's")
	if err != nil || !found || f2.ContentVersionID != id2 {
		t.Fatalf("FindFile with a quote = %+v, %v, %v; want version %s", f2, found, err, id2)
	}
	files := e.sf.Files()
	if len(files) != 2 || !bytes.Equal(files[0].Data, small) || files[0].PathOnClient != "photo.jpg" ||
		len(files[0].LinkedEntities) != 1 || files[0].LinkedEntities[0] != msg.ID ||
		!bytes.Equal(files[1].Data, large) || files[1].ContentType != "audio/ogg" || len(files[1].LinkedEntities) != 0 {
		t.Fatalf("the stand-in's files: %+v", files)
	}

	// The key is unique: a second insert is refused, and nothing is added.
	_, err = e.client.CreateFile(ctx, sfclient.NewFile{PathOnClient: "photo.jpg", Data: small,
		Fields: sfclient.Record{"Connector_Media_Key__c": "t:wa:m1"}}, 0)
	var ae *sfclient.APIError
	if !errors.As(err, &ae) || ae.Code != "DUPLICATE_VALUE" || sfclient.Classify(err) != sfclient.Permanent {
		t.Fatalf("a second File with the same key: %v, want DUPLICATE_VALUE", err)
	}
	// The org's file storage is used up.
	_, err = e.client.CreateFile(ctx, sfclient.NewFile{PathOnClient: "big.bin", Data: large,
		Fields: sfclient.Record{"Connector_Media_Key__c": "t:wa:big"}}, 0)
	if !errors.As(err, &ae) || ae.Code != "STORAGE_LIMIT_EXCEEDED" {
		t.Fatalf("over the storage limit: %v, want STORAGE_LIMIT_EXCEEDED", err)
	}
	if n := len(e.sf.Files()); n != 2 {
		t.Fatalf("%d files after the refusals, want 2", n)
	}
	// A content type with a line break never becomes part of a header.
	if _, err := e.client.CreateFile(ctx, sfclient.NewFile{PathOnClient: "x.bin", ContentType: "image/png\r\nX-Injected: yes",
		Data: []byte("tiny"), Fields: sfclient.Record{"Connector_Media_Key__c": "t:wa:crlf"}}, 2); err != nil {
		t.Fatalf("CreateFile with a broken content type: %v", err)
	}
	if files := e.sf.Files(); len(files) != 3 || files[2].ContentType != "application/octet-stream" {
		t.Fatalf("the File with a broken content type: %+v", files[len(files)-1])
	}

	// Link the second File to the message; a second link is refused.
	if _, err := e.client.LinkFile(ctx, f2.ContentDocumentID, msg.ID); err != nil {
		t.Fatalf("LinkFile: %v", err)
	}
	if _, err := e.client.LinkFile(ctx, f2.ContentDocumentID, msg.ID); !errors.As(err, &ae) || ae.Code != "DUPLICATE_VALUE" {
		t.Fatalf("a second link: %v, want DUPLICATE_VALUE", err)
	}
	if got := e.sf.Files()[1].LinkedEntities; len(got) != 1 || got[0] != msg.ID {
		t.Fatalf("links of the second File: %v", got)
	}

	// The message record names its File.
	if err := e.client.Update(ctx, "Chat_Message__c", msg.ID, sfclient.Record{"Media_File_Id__c": f1.ContentDocumentID}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	recs := e.sf.Records("Chat_Message__c")
	if len(recs) != 1 || recs[0].Fields["Media_File_Id__c"] != f1.ContentDocumentID || recs[0].Fields["Body__c"] != "photo" {
		t.Fatalf("the message record: %+v", recs)
	}
	if err := e.client.Update(ctx, "Chat_Message__c", "a02000000000099AAA", sfclient.Record{"Media_File_Id__c": "x"}); !errors.As(err, &ae) || ae.HTTPStatus != 404 {
		t.Fatalf("Update of an unknown record: %v, want 404", err)
	}
	if err := e.client.Update(ctx, "Chat_Message__c", msg.ID, sfclient.Record{"No_Such__c": "x"}); !errors.As(err, &ae) || ae.Code != "INVALID_FIELD" {
		t.Fatalf("Update of an unknown field: %v, want INVALID_FIELD", err)
	}
}
